package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/credential"
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
