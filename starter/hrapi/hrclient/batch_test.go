package hrclient_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

// testStore is an export store in a fresh directory.
func testStore(t *testing.T) *bundle.Store {
	t.Helper()
	s, err := bundle.Open(context.Background(), "file://"+filepath.ToSlash(t.TempDir()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// startBatch is a batch run as the fake holds it: every item pending.
func startBatch(id string, in workflows.BatchInput) *fakeRun {
	return &fakeRun{id: id, runID: "run-1", batch: &workflows.BatchStatus{BatchID: in.BatchID, RequestedBy: in.RequestedBy, RequestedAt: in.RequestedAt,
		State: workflows.BatchRunning, Total: in.Items.Count, MaxInFlight: in.MaxInFlight, Items: map[workflows.ItemOutcome]int{workflows.ItemPending: in.Items.Count}}}
}

// batchAnswer answers a batch's queries: its status, or a page of its pending items.
func batchAnswer(r *fakeRun, query string, args []any) any {
	if query != workflows.QueryBatchItems {
		return *r.batch
	}
	q := args[0].(workflows.BatchItemsQuery)
	page := workflows.BatchItemsPage{Total: r.batch.Total, Items: []workflows.BatchItemStatus{}}
	for i := q.From; i < r.batch.Total && len(page.Items) < q.Limit; i++ {
		page.Items = append(page.Items, workflows.BatchItemStatus{Line: i + 1, Outcome: workflows.ItemPending})
	}
	if q.From+q.Limit < r.batch.Total {
		page.Next = q.From + q.Limit
	}
	return page
}

// controlBatch applies a batch control as the batch would, refusing a resume of a batch that
// is not paused.
func controlBatch(st *workflows.BatchStatus, update string, c credential.Claims) updateDone {
	switch {
	case update == workflows.UpdatePauseBatch && c.Action == credential.ActionHold:
		st.State = workflows.BatchPaused
	case update == workflows.UpdateResumeBatch && c.Action == credential.ActionRelease && st.State == workflows.BatchPaused:
		st.State = workflows.BatchRunning
	case update == workflows.UpdateCancelBatch && c.Action == credential.ActionCancel:
		st.State = workflows.BatchCancelled
	default:
		return updateDone{err: temporal.NewApplicationError("the batch is "+string(st.State), "Rejected")}
	}
	return updateDone{}
}

// exerciseBatches calls every batch method of the client.
func exerciseBatches(t *testing.T, hr *hrclient.Client) {
	ctx := context.Background()
	item := hrapi.OffboardingRequest{UserID: missing, Disposition: "archive", Reason: "resigned", HREventID: "b-1"}
	res, err := hr.CreateBatch(ctx, hrapi.BatchRequest{Items: []hrapi.OffboardingRequest{item}}, "json-batch")
	require.NoError(t, err)
	assert.Equal(t, hrapi.BatchResult{BatchID: "json-batch", WorkflowID: "batch-json-batch", RunID: "run-1", Total: 1, Links: res.Links}, res)
	csv := []byte("email,disposition,reason,hrEventId\nada@example.com,archive,resigned,c-1\nbob@example.com,delete,resigned,c-2\nbob@example.com,delete,resigned,c-3\n")
	_, err = hr.CreateBatchCSV(ctx, csv, hrclient.BatchOptions{IdempotencyKey: "csv-batch"})
	p := requireProblem(t, err, http.StatusUnprocessableEntity)
	assert.Equal(t, []hrapi.ItemError{{Line: 4, Field: "email", Message: "names the same person as line 3: name each person once"}}, p.Items)
	assert.Contains(t, p.Error(), "line 4: email: names the same person as line 3")
	res, err = hr.CreateBatchCSV(ctx, csv[:len(csv)-len("bob@example.com,delete,resigned,c-3\n")], hrclient.BatchOptions{IdempotencyKey: "csv-batch", MaxInFlight: 2})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Total)
	res, err = hr.CreateBatchJSON(ctx, []byte(`{"items":[{"employeeId":"E1","disposition":"archive","reason":"r","hrEventId":"j-1"}]}`), hrclient.BatchOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Total)

	view, err := hr.Batch(ctx, "csv-batch", hrapi.BatchQuery{PageSize: 1})
	require.NoError(t, err)
	assert.Equal(t, 2, view.Status.Total)
	assert.Equal(t, 2, view.Status.MaxInFlight)
	require.Len(t, view.Items, 1)
	next, err := hr.Batch(ctx, "csv-batch", hrapi.BatchQuery{PageSize: 1, PageToken: view.NextPageToken, Problems: true})
	require.NoError(t, err)
	assert.Equal(t, 2, next.Items[0].Line)
	assert.Empty(t, next.NextPageToken)

	st, err := hr.PauseBatch(ctx, "csv-batch", "payroll check")
	require.NoError(t, err)
	assert.Equal(t, workflows.BatchPaused, st.State)
	st, err = hr.ResumeBatch(ctx, "csv-batch", "")
	require.NoError(t, err)
	assert.Equal(t, workflows.BatchRunning, st.State)
	_, err = hr.ResumeBatch(ctx, "csv-batch", "")
	requireProblem(t, err, http.StatusConflict)
	st, err = hr.CancelBatch(ctx, "csv-batch", "wrong list")
	require.NoError(t, err)
	assert.Equal(t, workflows.BatchCancelled, st.State)
}
