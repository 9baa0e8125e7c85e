package workflows_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/offboard/offboard/workflows"
)

// deleteHistory is a delete run recorded from a real server. Record it with
//
//	temporal workflow show --workflow-id offboarding-<userId> --output json > workflows/testdata/offboarding-delete-history.json
const deleteHistory = "testdata/offboarding-delete-history.json"

// A change that would break runs already in flight fails here. The test fails, never skips,
// when the recorded history is missing.
func Test_GivenRecordedDeleteHistory_ShouldReplayDeterministically(t *testing.T) {
	if _, err := os.Stat(deleteHistory); err != nil {
		t.Fatalf("the recorded history %s is missing (%v): record a delete run from a real server as the comment above says", deleteHistory, err)
	}
	replayer := worker.NewWorkflowReplayer()
	// Replay must not depend on the worker's policy: the run recorded its own.
	(&workflows.Workflows{Policy: workflows.DefaultPolicy()}).Register(replayer)
	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(logger, deleteHistory))
}
