package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/devstack/stack"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

// startBatch stores the items and starts a batch of them as the HR API would: the items written
// once, the start credential signed with the stack's key over the batch's digest.
func startBatch(t *testing.T, batchID string, reqs []workflows.Request, maxInFlight int) client.WorkflowRun {
	t.Helper()
	ctx := context.Background()
	raw := make([]json.RawMessage, len(reqs))
	for i, r := range reqs {
		b, err := json.Marshal(workflows.BatchItem{Line: i + 2, Request: r})
		require.NoError(t, err)
		raw[i] = b
	}
	store, err := bundle.Open(ctx, stk.ExportURL)
	require.NoError(t, err)
	defer store.Close()
	ref, err := store.WriteBatchItems(ctx, batchID, raw)
	require.NoError(t, err)
	now := time.Now().UTC()
	in := workflows.BatchInput{BatchID: batchID, RequestedBy: "hr-system", RequestedAt: now, Items: ref, MaxInFlight: maxInFlight}
	in.Credential, err = stk.Signer.Issue(credential.Claims{Identity: in.RequestedBy, Role: credential.RoleHR, Action: credential.ActionStart,
		WorkflowID: workflows.BatchWorkflowID(batchID), Request: workflows.BatchDigest(in), IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute)})
	require.NoError(t, err)
	run, err := stk.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.BatchWorkflowID(batchID), TaskQueue: workflows.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.KeyBatchID.ValueSet(batchID)),
		StaticSummary:         fmt.Sprintf("batch %s of %d offboardings", batchID, len(reqs)),
	}, workflows.BatchWorkflowType, in)
	require.NoError(t, err)
	return run
}

func Test_GivenABatchOfSix_ShouldArchiveEachThroughTheWorkersAndTagEveryRunWithTheBatchID(t *testing.T) {
	t.Parallel()
	batchID := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	var reqs []workflows.Request
	for range 6 {
		u := users.take(t)
		reqs = append(reqs, workflows.Request{UserID: u.ID, Disposition: workflows.DispositionArchive, Reason: "e2e batch"})
	}
	run := startBatch(t, batchID, reqs, 3)

	ctx, cancel := context.WithTimeout(context.Background(), 3*runWait)
	defer cancel()
	var res workflows.BatchStatus
	require.NoError(t, run.Get(ctx, &res))

	assert.Equal(t, workflows.BatchCompleted, res.State)
	assert.Equal(t, 3, res.MaxInFlight)
	assert.Equal(t, map[workflows.ItemOutcome]int{"archived": 6}, res.Items, "problems: %d", res.Problems)
	assert.Equal(t, 6, res.AccessEnded)
	v, err := stk.Client.QueryWorkflow(ctx, run.GetID(), "", workflows.QueryBatchItems, workflows.BatchItemsQuery{Limit: 10})
	require.NoError(t, err)
	var page workflows.BatchItemsPage
	require.NoError(t, v.Get(&page))
	require.Len(t, page.Items, 6)
	var done []time.Duration
	for i, it := range page.Items {
		assert.Equal(t, i+2, it.Line)
		assert.Equal(t, workflows.WorkflowID(reqs[i].UserID), it.WorkflowID)
		require.False(t, it.AccessEndedAt.IsZero(), "line %d", it.Line)
		require.False(t, it.FinishedAt.IsZero(), "line %d", it.Line)
		done = append(done, it.FinishedAt.Sub(res.RequestedAt))
	}
	slices.Sort(done)
	t.Logf("batch of 6, 3 in flight: wall %s, outcome p50 %s, p95 %s, last access ended %s after the start",
		res.FinishedAt.Sub(res.RequestedAt).Round(time.Millisecond), done[2].Round(time.Millisecond), done[5].Round(time.Millisecond),
		res.LastAccessEndedAt.Sub(res.RequestedAt).Round(time.Millisecond))
	for _, r := range reqs {
		st := waitStage(t, r.UserID, workflows.OutcomeArchived)
		assert.Equal(t, "hr-system", st.RequestedBy)
		assert.Equal(t, "inactive", userState(t, r.UserID))
	}
	q := fmt.Sprintf("%s = %q AND WorkflowType = %q", workflows.SABatchID, batchID, workflows.WorkflowType)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := stk.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: q})
		require.NoError(c, err)
		var ids []string
		for _, e := range resp.Executions {
			ids = append(ids, e.Execution.WorkflowId)
		}
		var want []string
		for _, r := range reqs {
			want = append(want, workflows.WorkflowID(r.UserID))
		}
		assert.ElementsMatch(c, want, ids, "every child carries the batch ID")
	}, 10*time.Second, 200*time.Millisecond)
}

// waitBatch reads GET /v1/batches/{id} until the batch has ended, and returns its every item.
func waitBatch(t *testing.T, batchID string) hrapi.BatchView {
	t.Helper()
	auditor := as(stack.TokenAuditor)
	deadline := time.Now().Add(3 * runWait)
	for {
		v, err := auditor.Batch(context.Background(), batchID, hrapi.BatchQuery{PageSize: workflows.MaxBatchItemsPage})
		if err == nil && (v.Status.State == workflows.BatchCompleted || v.Status.State == workflows.BatchCancelled) && v.Status.FinishedAt.After(time.Time{}) {
			return v
		}
		require.True(t, time.Now().Before(deadline), "batch %s did not end: %+v, %v", batchID, v.Status, err)
		time.Sleep(500 * time.Millisecond)
	}
}

// outcomes maps each item's line to its outcome.
func outcomes(v hrapi.BatchView) map[int]workflows.ItemOutcome {
	out := map[int]workflows.ItemOutcome{}
	for _, it := range v.Items {
		out[it.Line] = it.Outcome
	}
	return out
}

// Through the HR API, as HR uses it: a CSV with bad rows is refused line by line and starts
// nothing; a good one reports the person whose offboarding is already in flight and the email no
// Genesys user has, and archives the others; a JSON batch cancelled after its first start leaves
// the rest unstarted while the started run finishes.
func Test_GivenBatchesThroughTheHRAPI_ShouldRefuseBadRowsReportInFlightAndUnknownPeopleAndStopOnCancel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hr := as(stack.TokenHR)
	busy, b, c := users.take(t), users.take(t), users.take(t)
	startOffboarding(t, hrapi.OffboardingRequest{UserID: busy.ID, Disposition: "delete", Reason: "left", HREventID: "e2e-busy-" + busy.ID})
	waitStage(t, busy.ID, workflows.StageAwaitingApproval)

	key := fmt.Sprintf("e2e-bad-%d", time.Now().UnixNano())
	_, err := hr.CreateBatchCSV(ctx, []byte("userId,disposition,reason,hrEventId\n"+b.ID+",archive,left,e1\nnot-a-uuid,archive,left,e2\n"+c.ID+",erase,left,e3\n"),
		hrclient.BatchOptions{IdempotencyKey: key})
	var p *hrapi.Problem
	require.ErrorAs(t, err, &p)
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	lines := map[int]string{}
	for _, it := range p.Items {
		lines[it.Line] = it.Field
	}
	assert.Equal(t, map[int]string{3: "userId", 4: "disposition"}, lines, "each bad row, by its line and field")
	_, err = stk.Client.DescribeWorkflowExecution(ctx, workflows.BatchWorkflowID(key), "")
	require.Error(t, err, "a refused batch starts nothing")

	csv := "userId,email,disposition,reason,hrEventId\n" + busy.ID + ",,archive,left,e4\n" + b.ID + ",,archive,left,e5\n" +
		",nobody-" + key + "@example.com,archive,left,e6\n" + c.ID + ",,archive,left,e7\n"
	res, err := hr.CreateBatchCSV(ctx, []byte(csv), hrclient.BatchOptions{})
	require.NoError(t, err)
	v := waitBatch(t, res.BatchID)
	assert.Equal(t, workflows.BatchCompleted, v.Status.State)
	assert.Equal(t, map[int]workflows.ItemOutcome{2: workflows.ItemInFlight, 3: "archived", 4: workflows.ItemUnresolved, 5: "archived"}, outcomes(v))
	assert.Equal(t, 2, v.Status.Problems)
	for _, id := range []string{b.ID, c.ID} {
		assert.Equal(t, "inactive", userState(t, id))
	}

	d, e, f := users.take(t), users.take(t), users.take(t)
	body, err := json.Marshal(hrapi.BatchRequest{MaxInFlight: 1, Items: []hrapi.OffboardingRequest{
		{UserID: d.ID, Disposition: "archive", Reason: "left", HREventID: "e8"},
		{UserID: e.ID, Disposition: "archive", Reason: "left", HREventID: "e9"},
		{UserID: f.ID, Disposition: "archive", Reason: "left", HREventID: "e10"}}})
	require.NoError(t, err)
	res, err = hr.CreateBatchJSON(ctx, body, hrclient.BatchOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		v, err := hr.Batch(ctx, res.BatchID, hrapi.BatchQuery{PageSize: 1})
		return err == nil && v.Status.Started >= 1
	}, runWait, 100*time.Millisecond)
	_, err = hr.CancelBatch(ctx, res.BatchID, "wrong list")
	require.NoError(t, err)
	v = waitBatch(t, res.BatchID)
	assert.Equal(t, workflows.BatchCancelled, v.Status.State)
	got := outcomes(v)
	// A JSON item's line is its index plus one.
	assert.Equal(t, workflows.ItemOutcome("archived"), got[1], "the started run finishes")
	assert.Equal(t, workflows.ItemNotStarted, got[3], "the last item is never started")
	assert.Equal(t, "active", userState(t, f.ID))
}
