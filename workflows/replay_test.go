package workflows_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/internal/config"
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
// credentialsHistory is the e2e four-eyes run from before payload encryption, with a start
// credential, an approval by update, a forged signal ignored and an approval by signal with a
// credential. Its payloads are in clear: it must keep replaying through the codec converter,
// which passes them through, so it is never re-recorded.
//
// encryptedHistory is the current path: the same e2e run with every payload encrypted under the
// test-only keyring replayKeys. Re-record it with
//
//	go test ./e2e -run FourEyes -args -update-history
const (
	deleteHistory      = "testdata/offboarding-delete-history.json"
	revokingHistory    = "testdata/offboarding-revoking-history.json"
	credentialsHistory = "testdata/offboarding-credentials-history.json"
	encryptedHistory   = "testdata/offboarding-encrypted-history.json"
	// replayKeys is the test-only keyring encryptedHistory was recorded with.
	replayKeys = "testdata/payload-keys.test-only"
)

// dataConverter is the workers' data converter over the test-only keyring: every replay
// goes through it, as every worker's does.
func dataConverter(t *testing.T) converter.DataConverter {
	t.Helper()
	pc, err := config.Source{Env: config.MapEnv{config.EnvPayloadKeysFile: replayKeys}}.PayloadCodec()
	require.NoError(t, err)
	return config.DataConverter(pc)
}

// A change that would break runs already in flight fails here. The test fails, never skips,
// when the recorded history is missing.
func Test_GivenRecordedDeleteHistory_ShouldReplayDeterministically(t *testing.T) {
	f, err := os.Open(deleteHistory)
	require.NoError(t, err, "the recorded history is missing: restore it from git, it cannot be re-recorded")
	defer f.Close()
	history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	assert.False(t, hasVersionMarker(t, history, "revoking-stage"), "the history predates the revoking-stage version")
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
	assert.True(t, hasVersionMarker(t, history, "revoking-stage"), "the history is on the revoking path")
	assert.Contains(t, activityTypes(history), "RevokeAccess")
	assert.NotContains(t, activityTypes(history), "DeactivateUser")
	assert.False(t, hasVersionMarker(t, history, "decision-credentials"), "the history predates credentials")

	replay(t, history)
}

// Runs with decision credentials must replay too. The test fails, never skips, when the history is missing.
func Test_GivenRecordedCredentialsHistory_ShouldReplayDeterministically(t *testing.T) {
	f, err := os.Open(credentialsHistory)
	require.NoError(t, err, "the recorded history is missing: restore it from git, it cannot be re-recorded")
	defer f.Close()
	history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	assert.Zero(t, encryptedPayloads(t, history), "the history predates encryption")
	assertFourEyesRun(t, history)

	replay(t, history)
}

// Runs with encrypted payloads must replay too. The test fails, never skips, when the history is missing.
func Test_GivenRecordedEncryptedHistory_ShouldReplayDeterministically(t *testing.T) {
	f, err := os.Open(encryptedHistory)
	require.NoError(t, err, "the recorded history is missing: record it as the comment above says")
	defer f.Close()
	history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	assert.Equal(t, len(payloadsOf(t, history)), encryptedPayloads(t, history), "every payload is encrypted")
	var req workflows.Request
	started := history.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	require.Error(t, converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &req), "without the keys the input does not decode")
	assertFourEyesRun(t, history)

	replay(t, history)
}

// assertFourEyesRun checks that history is the e2e four-eyes run on the credentials path.
func assertFourEyesRun(t *testing.T, history *historypb.History) {
	t.Helper()
	assert.True(t, hasVersionMarker(t, history, "decision-credentials"))
	assert.True(t, hasVersionMarker(t, history, "revoking-stage"))
	signals := 0
	for _, ev := range history.GetEvents() {
		if ev.GetEventType() == enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			signals++
		}
	}
	assert.Equal(t, 2, signals, "a forged approval and a credentialed one")
}

// payloadsOf lists every payload of history but its search attributes, which stay clear.
func payloadsOf(t *testing.T, history *historypb.History) []*commonpb.Payload {
	t.Helper()
	var out []*commonpb.Payload
	require.NoError(t, proxy.VisitPayloads(context.Background(), history, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			out = append(out, p...)
			return p, nil
		},
	}))
	return out
}

// encryptedPayloads counts the payloads of history that the codec encrypted.
func encryptedPayloads(t *testing.T, history *historypb.History) int {
	t.Helper()
	n := 0
	for _, p := range payloadsOf(t, history) {
		if string(p.GetMetadata()[converter.MetadataEncoding]) == codec.EncodingEncrypted {
			n++
		}
	}
	return n
}

// replay replays history under its original workflow ID, which the workflow checks, through the
// workers' data converter.
func replay(t *testing.T, history *historypb.History) {
	t.Helper()
	dc := dataConverter(t)
	started := history.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	var req workflows.Request
	require.NoError(t, dc.FromPayloads(started.GetInput(), &req))
	require.Equal(t, "delete", string(req.Disposition), "the recorded run must be a delete, the longest path")

	replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc})
	require.NoError(t, err)
	// Replay must not depend on the worker's policy: the run recorded its own.
	(&workflows.Workflows{Policy: workflows.DefaultPolicy()}).Register(replayer)
	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	require.NoError(t, replayer.ReplayWorkflowHistoryWithOptions(logger, history, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: workflows.WorkflowID(req.UserID), RunID: started.GetOriginalExecutionRunId()},
	}))
}

// hasVersionMarker reports whether history records the version of changeID.
func hasVersionMarker(t *testing.T, history *historypb.History, changeID string) bool {
	dc := dataConverter(t)
	for _, ev := range history.GetEvents() {
		m := ev.GetMarkerRecordedEventAttributes()
		if m.GetMarkerName() != "Version" {
			continue
		}
		var id string
		if p := m.GetDetails()["change-id"]; p != nil && dc.FromPayloads(p, &id) == nil && id == changeID {
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

// Every recorded history in testdata replays, so that one recorded for a new GetVersion is
// covered by CI as soon as it is committed, even before a test of its own names it.
func Test_GivenEveryRecordedHistoryInTestdata_ShouldReplayDeterministically(t *testing.T) {
	files, err := filepath.Glob("testdata/*-history.json")
	require.NoError(t, err)
	require.Subset(t, files, []string{deleteHistory, revokingHistory, credentialsHistory, encryptedHistory}, "a recorded history is missing: restore it from git")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			require.NoError(t, err)
			replay(t, history)
		})
	}
}
