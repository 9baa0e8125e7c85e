package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
)

// Where recordHistory writes: the history of the current path, encrypted with the test-only
// keyring replayKeys, both in the workflow package's testdata.
const (
	encryptedHistory = "offboarding-encrypted-history.json"
	replayKeys       = "payload-keys.test-only"
)

// recordHistory writes the run's history, as the server holds it (payloads encrypted), where the
// workflow package's replay test reads it as the history of the current path. The histories
// recorded before the revoking stage (offboarding-delete-history.json), before decision
// credentials (offboarding-revoking-history.json) and before encryption
// (offboarding-credentials-history.json) are never rewritten: no current code can record them again.
func recordHistory(t *testing.T, workflowID string) {
	t.Helper()
	iter := stk.Client.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	out, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&h)
	require.NoError(t, err)
	path := filepath.Join("..", "workflows", "testdata", encryptedHistory)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, append(out, '\n'), 0o644))
	t.Logf("recorded %d events to %s", len(h.Events), path)
}
