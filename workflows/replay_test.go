package workflows_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/workflows"
)

// deleteHistory is a four-eyes delete run recorded from a real server by the e2e tests:
//
//	go test ./e2e -run FourEyes -args -update-history
const deleteHistory = "testdata/offboarding-delete-history.json"

// A change that would break runs already in flight fails here. The test fails, never skips,
// when the recorded history is missing.
func Test_GivenRecordedDeleteHistory_ShouldReplayDeterministically(t *testing.T) {
	f, err := os.Open(deleteHistory)
	require.NoError(t, err, "the recorded history is missing: record it as the comment above says")
	defer f.Close()
	history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)

	// The workflow checks that its ID is offboarding-<userId>, so replay under the original ID.
	started := history.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	var req workflows.Request
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &req))
	require.Equal(t, "delete", string(req.Disposition), "the recorded run must be a delete, the longest path")

	replayer := worker.NewWorkflowReplayer()
	// Replay must not depend on the worker's policy: the run recorded its own.
	(&workflows.Workflows{Policy: workflows.DefaultPolicy()}).Register(replayer)
	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	require.NoError(t, replayer.ReplayWorkflowHistoryWithOptions(logger, history, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: workflows.WorkflowID(req.UserID), RunID: started.GetOriginalExecutionRunId()},
	}))
}
