package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

// registerStubBatch registers, in the tests' worker, a stand-in for the batch workflow (which
// workflows/batch* brings): it verifies its start credential over the digest of its input and
// the items it reads back from the store, answers QueryStatus and QueryBatchItems, and takes
// pause, resume and cancel with a credential it verifies as the batch does (role hr, its
// workflow, its first run, the action). A batch with maxInFlight set completes a second after
// it starts, every item archived; any other runs until cancelled. It replaces a real batch
// workflow registered under the same name, so these tests keep testing the API's side.
func registerStubBatch(w worker.Worker, policy workflows.Policy, store *bundle.Store) {
	w.RegisterWorkflowWithOptions(stubBatch(policy), workflow.RegisterOptions{Name: workflows.BatchWorkflowType, DisableAlreadyRegisteredCheck: true})
	w.RegisterActivityWithOptions(func(ctx context.Context, ref bundle.BatchItems) (int, error) {
		raw, err := store.ReadBatchItems(ctx, ref, 0, workflows.MaxBatchItems)
		return len(raw), err
	}, activity.RegisterOptions{Name: "StubReadBatchItems", DisableAlreadyRegisteredCheck: true})
}

func stubBatch(policy workflows.Policy) func(workflow.Context, workflows.BatchInput) (workflows.BatchStatus, error) {
	return func(ctx workflow.Context, in workflows.BatchInput) (workflows.BatchStatus, error) {
		keys, err := credential.ParseKeySet(policy.DecisionKeys)
		if err != nil {
			return workflows.BatchStatus{}, err
		}
		info := workflow.GetInfo(ctx)
		c, err := keys.Verify(in.Credential, in.RequestedAt)
		if err != nil || c.Request != workflows.BatchDigest(in) || c.WorkflowID != info.WorkflowExecution.ID || c.Action != credential.ActionStart || c.Role != credential.RoleHR {
			return workflows.BatchStatus{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("start credential refused: %v", err), "Refused", nil)
		}
		st := workflows.BatchStatus{BatchID: in.BatchID, RequestedBy: in.RequestedBy, RequestedAt: in.RequestedAt, State: workflows.BatchRunning,
			Total: in.Items.Count, MaxInFlight: in.MaxInFlight, Items: map[workflows.ItemOutcome]int{workflows.ItemPending: in.Items.Count}}
		outcome := workflows.ItemPending
		_ = workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (workflows.BatchStatus, error) { return st, nil })
		_ = workflow.SetQueryHandler(ctx, workflows.QueryBatchItems, func(q workflows.BatchItemsQuery) (workflows.BatchItemsPage, error) {
			page := workflows.BatchItemsPage{Total: st.Total, Items: []workflows.BatchItemStatus{}}
			for i := q.From; i < st.Total && len(page.Items) < q.Limit && !q.Problems; i++ {
				page.Items = append(page.Items, workflows.BatchItemStatus{Line: i + 2, Outcome: outcome})
			}
			if next := q.From + q.Limit; next < st.Total && !q.Problems {
				page.Next = next
			}
			return page, nil
		})
		control := func(update string, action credential.Action, from, to workflows.BatchState) {
			_ = workflow.SetUpdateHandlerWithOptions(ctx, update, func(workflow.Context, workflows.SignedDecision) error {
				st.State = to
				return nil
			}, workflow.UpdateHandlerOptions{Validator: func(vctx workflow.Context, d workflows.SignedDecision) error {
				c, err := keys.Verify(d.Credential, workflow.Now(vctx))
				switch {
				case err != nil:
					return err
				case c.Action != action || c.Role != credential.RoleHR || c.WorkflowID != info.WorkflowExecution.ID || c.RunID != info.FirstRunID:
					return errors.New("the credential is for another batch, run or action")
				case from != "" && st.State != from:
					return fmt.Errorf("the batch is %s, not %s", st.State, from)
				}
				return nil
			}})
		}
		control(workflows.UpdatePauseBatch, credential.ActionHold, workflows.BatchRunning, workflows.BatchPaused)
		control(workflows.UpdateResumeBatch, credential.ActionRelease, workflows.BatchPaused, workflows.BatchRunning)
		control(workflows.UpdateCancelBatch, credential.ActionCancel, "", workflows.BatchCancelled)
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
		var stored int
		if err := workflow.ExecuteActivity(actx, "StubReadBatchItems", in.Items).Get(ctx, &stored); err != nil || stored != in.Items.Count {
			return workflows.BatchStatus{}, fmt.Errorf("read %d of %d stored items: %w", stored, in.Items.Count, err)
		}
		if in.MaxInFlight > 0 {
			_ = workflow.Sleep(ctx, time.Second)
			outcome = workflows.ItemOutcome(workflows.OutcomeArchived)
			st.State, st.Started, st.Items = workflows.BatchCompleted, st.Total, map[workflows.ItemOutcome]int{outcome: st.Total}
			return st, nil
		}
		err = workflow.Await(ctx, func() bool { return st.State == workflows.BatchCancelled })
		return st, err
	}
}

// hrClient is an HR API client of the tests' server as the HR token's holder.
func hrClient() *hrclient.Client { return hrclient.New(env.apiURL, hrToken, nil) }

// leaversCSV is a CSV of n people named by Genesys user ID.
func leaversCSV(n int, event string) []byte {
	var b strings.Builder
	b.WriteString("userId,disposition,reason,hrEventId\n")
	for i := range n {
		fmt.Fprintf(&b, "3f2504e0-4f89-41d3-9a0c-%012d,archive,resigned,%s-%d\n", i, event, i)
	}
	return []byte(b.String())
}

func Test_GivenACSVBatch_ShouldStartTheBatchWorkflowAndAnswerItsProgressPaged(t *testing.T) {
	ctx := context.Background()
	api := hrClient()
	res, err := api.CreateBatchCSV(ctx, leaversCSV(5, "paged"), hrclient.BatchOptions{IdempotencyKey: "paged"})
	require.NoError(t, err)
	assert.Equal(t, hrapi.BatchResult{BatchID: "paged", WorkflowID: "batch-paged", RunID: res.RunID, Total: 5, Links: res.Links}, res)
	t.Cleanup(func() { _, _ = api.CancelBatch(ctx, "paged", "test done") })

	var view hrapi.BatchView
	eventually(t, 30*time.Second, func() error {
		view, err = api.Batch(ctx, "paged", hrapi.BatchQuery{PageSize: 2})
		return err
	})
	assert.Equal(t, workflows.BatchRunning, view.Status.State, "the stub verified the start credential and read the stored items")
	assert.Equal(t, 5, view.Status.Total)
	assert.Equal(t, hrIdentity, view.Status.RequestedBy)
	require.Len(t, view.Items, 2)
	assert.Equal(t, []int{2, 3}, []int{view.Items[0].Line, view.Items[1].Line})
	lines := []int{}
	for tok := view.NextPageToken; tok != ""; {
		page, err := api.Batch(ctx, "paged", hrapi.BatchQuery{PageSize: 2, PageToken: tok})
		require.NoError(t, err)
		for _, it := range page.Items {
			lines = append(lines, it.Line)
		}
		tok = page.NextPageToken
	}
	assert.Equal(t, []int{4, 5, 6}, lines, "the pages that follow hold every other item once")

	desc, err := env.client.DescribeWorkflowExecution(ctx, "batch-paged", "")
	require.NoError(t, err)
	sa := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[workflows.SABatchID]
	require.NotNil(t, sa, "the batch carries %s", workflows.SABatchID)
	assert.Contains(t, string(sa.GetData()), "paged")
	assert.Equal(t, workflows.BatchWorkflowType, desc.GetWorkflowExecutionInfo().GetType().GetName())

	_, err = api.Batch(ctx, "no-such-batch", hrapi.BatchQuery{})
	var p *hrapi.Problem
	require.ErrorAs(t, err, &p)
	assert.Equal(t, http.StatusNotFound, p.Status)
}

func Test_GivenTheSameBatchAgainUnderItsKey_ShouldAnswerTheExistingBatchAndRefuseOtherItems(t *testing.T) {
	ctx := context.Background()
	api := hrClient()
	first, err := api.CreateBatchCSV(ctx, leaversCSV(3, "again"), hrclient.BatchOptions{IdempotencyKey: "again"})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = api.CancelBatch(ctx, "again", "test done") })
	time.Sleep(1100 * time.Millisecond) // the second submission is requested at another time
	second, err := api.CreateBatchCSV(ctx, leaversCSV(3, "again"), hrclient.BatchOptions{IdempotencyKey: "again"})
	require.NoError(t, err)
	assert.True(t, second.Existing)
	assert.Equal(t, first.RunID, second.RunID, "nothing new started")

	_, err = api.CreateBatchCSV(ctx, leaversCSV(4, "again"), hrclient.BatchOptions{IdempotencyKey: "again"})
	var p *hrapi.Problem
	require.ErrorAs(t, err, &p)
	assert.Equal(t, http.StatusConflict, p.Status)
}

func Test_GivenARunningBatch_ShouldPauseResumeAndCancelItWithCredentialsItVerifies(t *testing.T) {
	ctx := context.Background()
	api := hrClient()
	_, err := api.CreateBatch(ctx, hrapi.BatchRequest{Items: []hrapi.OffboardingRequest{
		{Email: "ada@example.com", Disposition: "archive", Reason: "resigned", HREventID: "ctl-1"},
	}}, "controls")
	require.NoError(t, err)
	eventually(t, 30*time.Second, func() error { _, err := api.Batch(ctx, "controls", hrapi.BatchQuery{}); return err })

	st, err := api.PauseBatch(ctx, "controls", "payroll check")
	require.NoError(t, err)
	assert.Equal(t, workflows.BatchPaused, st.State)
	_, err = api.PauseBatch(ctx, "controls", "")
	var p *hrapi.Problem
	require.ErrorAs(t, err, &p, "the batch's refusal")
	assert.Equal(t, http.StatusConflict, p.Status)
	assert.Equal(t, hrapi.TypeRejected, p.Type)
	assert.Contains(t, p.Detail, "not running")

	st, err = api.ResumeBatch(ctx, "controls", "")
	require.NoError(t, err)
	assert.Equal(t, workflows.BatchRunning, st.State)
	st, err = api.CancelBatch(ctx, "controls", "wrong list")
	require.NoError(t, err)
	assert.Equal(t, workflows.BatchCancelled, st.State)

	eventually(t, 30*time.Second, func() error {
		_, err := api.ResumeBatch(ctx, "controls", "")
		if errors.As(err, &p) && p.Status == http.StatusConflict && p.Type == hrapi.TypeConflict {
			return nil
		}
		return fmt.Errorf("resume of a finished batch: %v", err)
	})
	assert.Contains(t, p.Detail, "the batch has already finished")
}

func Test_GivenTheCLI_ShouldSubmitAFileFollowItAndReadAndControlTheBatch(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "leavers.csv")
	require.NoError(t, os.WriteFile(file, leaversCSV(3, "cli"), 0o600))
	batchPoll = 200 * time.Millisecond

	out, err := runCLI(t, hrIdentity, "batch", "--file", file, "--max-in-flight", "2", "--wait", "--idempotency-key", "cli-batch")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Started batch cli-batch of 3")
	assert.Contains(t, out, "Batch cli-batch completed: completed: 3/3 started", "plain progress lines off a terminal")

	out, err = runCLI(t, hrIdentity, "batch", "status", "cli-batch")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Batch cli-batch by "+hrIdentity)
	assert.Regexp(t, `(?m)^2\s+archived`, out)

	js := filepath.Join(dir, "leavers.json")
	require.NoError(t, os.WriteFile(js, []byte(`[{"email":"ada@example.com","disposition":"archive","reason":"resigned","hrEventId":"cli-j1"}]`), 0o600))
	out, err = runCLI(t, hrIdentity, "batch", "--file", js, "--idempotency-key", "cli-json")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Started batch cli-json of 1")
	out, err = runCLI(t, hrIdentity, "batch", "pause", "cli-json", "--reason", "check")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Batch cli-json paused")
	out, err = runCLI(t, hrIdentity, "batch", "cancel", "cli-json")
	require.NoError(t, err, out)
	assert.Contains(t, out, "cancelled")
}

func Test_GivenTheCLIAndAnInvalidFile_ShouldPrintEveryBadLineAndFail(t *testing.T) {
	file := filepath.Join(t.TempDir(), "leavers.csv")
	csv := "userId,disposition,reason,hrEventId\n" +
		"3f2504e0-4f89-41d3-9a0c-000000000001,archive,resigned,bad-1\n" +
		"3f2504e0-4f89-41d3-9a0c-000000000002,purge,resigned,bad-2\n" +
		"not-a-user,archive,resigned,bad-3\n" +
		"3F2504E0-4F89-41D3-9A0C-000000000001,delete,resigned,bad-4\n"
	require.NoError(t, os.WriteFile(file, []byte(csv), 0o600))
	out, err := runCLI(t, hrIdentity, "batch", "--file", file, "--idempotency-key", "cli-bad")
	require.Error(t, err, out)
	for _, want := range []string{"line 3: disposition", "line 4: userId", "line 5: userId: names the same person as line 2"} {
		assert.Contains(t, err.Error(), want)
	}
	_, derr := env.client.DescribeWorkflowExecution(context.Background(), "batch-cli-bad", "")
	assert.Error(t, derr, "nothing started")
	_, serr := os.Stat(filepath.Join(env.exportDir, "batches", "cli-bad"))
	assert.True(t, os.IsNotExist(serr), "nothing stored")
}
