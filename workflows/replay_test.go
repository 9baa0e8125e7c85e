package workflows_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/workflows"
)

// Recorded histories of delete runs, from a real server.
//
// deleteHistory is a four-eyes delete recorded by the e2e tests before the revoking stage
// existed: it must keep replaying on the legacy archiving path, so it is never re-recorded.
//
// revokingHistory is a delete on the revoking path from before decision credentials, recorded
// from the devstack demo's run (real activities against the emulator, one approval by update
// naming its approver): it must keep replaying its messages as they were, so it is never
// re-recorded either.
//
// credentialsHistory is the current path: the e2e four-eyes run, with a start credential, an
// approval by update, a forged signal ignored and an approval by signal with a credential.
// Re-record it with
//
//	go test ./e2e -run FourEyes -args -update-history
const (
	deleteHistory      = "testdata/offboarding-delete-history.json"
	revokingHistory    = "testdata/offboarding-revoking-history.json"
	credentialsHistory = "testdata/offboarding-credentials-history.json"
)

// A change that would break runs already in flight fails here. The test fails, never skips,
// when the recorded history is missing.
func Test_GivenRecordedDeleteHistory_ShouldReplayDeterministically(t *testing.T) {
	f, err := os.Open(deleteHistory)
	require.NoError(t, err, "the recorded history is missing: restore it from git, it cannot be re-recorded")
	defer f.Close()
	history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	assert.False(t, hasVersionMarker(history, "revoking-stage"), "the history predates the revoking-stage version")
	assert.Contains(t, activityTypes(history), "DeactivateUser", "the legacy path deactivates in archiving")
	assert.NotContains(t, activityTypes(history), "RevokeAccess")

	replay(t, history)
}

// Runs on the revoking path must replay too. The test fails, never skips, when the history is missing.
func Test_GivenRecordedRevokingHistory_ShouldReplayDeterministically(t *testing.T) {
	f, err := os.Open(revokingHistory)
	require.NoError(t, err, "the recorded history is missing: record it as the comment above says")
	defer f.Close()
	history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	assert.True(t, hasVersionMarker(history, "revoking-stage"), "the history is on the revoking path")
	assert.Contains(t, activityTypes(history), "RevokeAccess")
	assert.NotContains(t, activityTypes(history), "DeactivateUser")
	assert.False(t, hasVersionMarker(history, "decision-credentials"), "the history predates credentials")

	replay(t, history)
}

// Runs with decision credentials must replay too. The test fails, never skips, when the history is missing.
func Test_GivenRecordedCredentialsHistory_ShouldReplayDeterministically(t *testing.T) {
	f, err := os.Open(credentialsHistory)
	require.NoError(t, err, "the recorded history is missing: record it as the comment above says")
	defer f.Close()
	history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	assert.True(t, hasVersionMarker(history, "decision-credentials"))
	assert.True(t, hasVersionMarker(history, "revoking-stage"))
	signals := 0
	for _, ev := range history.GetEvents() {
		if ev.GetEventType() == enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			signals++
		}
	}
	assert.Equal(t, 2, signals, "a forged approval and a credentialed one")

	replay(t, history)
}

// replay replays history under its original workflow ID, which the workflow checks.
func replay(t *testing.T, history *historypb.History) {
	t.Helper()
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

// hasVersionMarker reports whether history records the version of changeID.
func hasVersionMarker(history *historypb.History, changeID string) bool {
	for _, ev := range history.GetEvents() {
		m := ev.GetMarkerRecordedEventAttributes()
		if m.GetMarkerName() != "Version" {
			continue
		}
		var id string
		if p := m.GetDetails()["change-id"]; p != nil && converter.GetDefaultDataConverter().FromPayloads(p, &id) == nil && id == changeID {
			return true
		}
	}
	return false
}

func activityTypes(history *historypb.History) []string {
	var out []string
	for _, ev := range history.GetEvents() {
		if ev.GetEventType() == enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
			out = append(out, ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName())
		}
	}
	return out
}
