package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

// Test_GivenAFreshDataDir_ShouldRunTheDemoToADeletionWithHistoryLinked runs the whole stack on
// free ports and the demo with a one-second retention, then checks what the demo reports.
func Test_GivenAFreshDataDir_ShouldRunTheDemoToADeletionWithHistoryLinked(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := Options{DataDir: t.TempDir(), Host: DefaultHost, Seed: 7, Users: 5, Conversations: 200, NoUI: true,
		Env: config.MapEnv{workflows.EnvApprovalTimeout: "P2D", workflows.EnvEscalateTo: "carol"}}
	s, err := Start(ctx, o)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Stop()) }()

	var out bytes.Buffer
	PrintBanner(&out, s)
	for _, want := range []string{s.APIURL, s.EmulatorURL, s.Temporal.Address, TokenHR, TokenAlice, TokenBob, TokenAuditor, DevEventSecret, s.CodecURL, s.PayloadKeysPath} {
		require.Contains(t, out.String(), want)
	}
	assert.Equal(t, 48*time.Hour, s.Policy.ApprovalTimeout, "the operator's variable wins over the dev default")
	assert.Equal(t, time.Minute, s.Policy.DefaultRetention, "the dev default applies where nothing is set")
	assert.Regexp(t, `approvalTimeout\s+P2D\s+\(OFFBOARD_APPROVAL_TIMEOUT\)`, out.String(), "the banner prints the policy in force")
	assert.Regexp(t, `escalateTo\s+carol`, out.String())
	assert.Contains(t, out.String(), "need a credential signed by key "+s.Signer.KeyID())
	assert.Contains(t, out.String(), DevWebhookSecret, "the banner prints the dev notification secret")

	out.Reset()
	res, err := RunDemo(ctx, s, DemoOptions{Out: &out, Retention: "PT1S"})
	require.NoError(t, err, out.String())
	require.Equal(t, workflows.OutcomeDeleted, res.Status.Stage)
	require.True(t, res.Report.OK())
	require.Equal(t, res.Status.Export.Conversations, res.Status.Verification.Count)
	require.Equal(t, res.Status.Verification.ManifestCount, res.Status.Verification.Count)
	require.DirExists(t, res.BundleDir)
	require.NotNil(t, res.Access)
	require.Equal(t, http.StatusOK, res.Access.TokenBefore, "the user's token worked before the run")
	require.Equal(t, http.StatusUnauthorized, res.Access.TokenAfter, "and is refused once access ended")
	require.NotEmpty(t, res.Access.Before.Grants, "the demo user held roles")
	require.Empty(t, res.Access.After.Grants)
	require.Empty(t, accessLeft(res.Access.After))
	require.Contains(t, out.String(), "After revoking: roles []")
	require.Contains(t, out.String(), "POST /v1/events "+hrapi.EventTypeTerminated+" naming", "the demo starts as HR systems do, by a signed event")
	require.Contains(t, out.String(), "redelivered (same webhook-id, fresh signature) -> 200, the same run")
	audit, err := os.ReadFile(filepath.Join(res.BundleDir, "audit.json"))
	require.NoError(t, err)
	var record activities.AuditRecord
	require.NoError(t, json.Unmarshal(audit, &record))
	require.NotNil(t, record.IdentifiedBy, "the audit record says how the person was found")
	require.Equal(t, workflows.IdentifyByEmail, record.IdentifiedBy.By)
	for _, stage := range []workflows.Stage{workflows.StageRevoking, workflows.StageExporting, workflows.StageAwaitingApproval, workflows.StageRetention, workflows.OutcomeDeleted} {
		require.Contains(t, out.String(), string(stage))
	}
	require.Contains(t, out.String(), "re-count")
	require.Contains(t, out.String(), "without a credential -> ignored (no-credential)", "the demo shows a forged approval ignored")
	require.Contains(t, out.String(), "approve link -> 200", "the demo approves through the link of the approval.requested notification")
	require.Contains(t, out.String(), "again -> 409", "and shows the link refused the second time")
	require.NotNil(t, s.Receiver)
	for _, a := range s.Receiver.Arrivals() {
		require.True(t, a.Verified, "every notification verifies with the dev secret: %s", a.Problem)
	}

	// A second demo picks another user.
	next, err := pickUser(ctx, hrclient.New(s.APIURL, TokenAuditor, nil), s.Emulator.SeedUsers())
	require.NoError(t, err)
	require.NotEqual(t, res.UserID, next.ID)
	require.Positive(t, next.Conversations)

	// Once every candidate has an offboarding, the demo says so instead of failing obscurely:
	// the user just offboarded, even if the emulator were reset to active, is not picked again.
	_, err = pickUser(ctx, hrclient.New(s.APIURL, TokenAuditor, nil), []emulator.UserSummary{{ID: res.UserID, State: "active", Conversations: 1}})
	require.ErrorIs(t, err, ErrNoDemoUser)
}

func Test_GivenTheAPIPortInUse_ShouldNameTheFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	o := Options{DataDir: t.TempDir(), Host: DefaultHost, APIPort: ln.Addr().(*net.TCPAddr).Port, NoUI: true}
	_, err = Start(context.Background(), o)
	var inUse *PortInUseError
	require.True(t, errors.As(err, &inUse), "got %v", err)
	require.Contains(t, err.Error(), "--api-port")
}
