package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/devstack/stack"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// access is what Genesys shows of a user's access, read through the official SDK (the client in
// package genesys) as an administrator would check it.
type access struct {
	Grants     []genesys.Grant
	Direct     []genesys.QueueMembership // memberships the user holds directly
	Stations   genesys.Stations
	Forwarding genesys.CallForwarding
	Routing    string
}

func readAccess(t *testing.T, userID string) access {
	t.Helper()
	ctx := context.Background()
	// The workers' OAuth client: this reader shares their budget, as another integration would.
	g, err := genesys.New(ctx, genesys.Config{ClientID: emulator.DevClientID, ClientSecret: emulator.DevClientSecret, APIURL: stk.EmulatorURL,
		RequestsPerMinute: requestsPerMinute, FleetRequestsPerMinute: requestsPerMinute})
	require.NoError(t, err)
	var a access
	a.Grants, err = g.UserGrants(ctx, userID)
	require.NoError(t, err)
	queues, err := g.UserQueues(ctx, userID)
	require.NoError(t, err)
	for _, q := range queues {
		if !q.ViaGroup {
			a.Direct = append(a.Direct, q)
		}
	}
	a.Stations, err = g.UserStations(ctx, userID)
	require.NoError(t, err)
	a.Forwarding, err = g.CallForwarding(ctx, userID)
	require.NoError(t, err)
	a.Routing, err = g.RoutingStatus(ctx, userID)
	require.NoError(t, err)
	return a
}

// usersMe is the status of GET /api/v2/users/me through the SDK with a token issued to the user.
func usersMe(t *testing.T, token string) int {
	t.Helper()
	cfg := platformclientv2.NewConfigurationWithConfigFile(filepath.Join(t.TempDir(), "absent.ini"), false)
	cfg.BasePath, cfg.AccessToken = stk.EmulatorURL, token
	cfg.LoggingConfiguration.LogLevel = platformclientv2.LNone
	_, resp, _ := platformclientv2.NewUsersApiWithConfig(cfg).GetUsersMe(nil, "")
	require.NotNil(t, resp, "GET /api/v2/users/me got no response")
	return resp.StatusCode
}

// takeWithAccess takes a seeded user who holds every kind of access the revoking stage ends: a
// grant, a direct queue membership, a station and call forwarding turned on.
func takeWithAccess(t *testing.T) (emulator.UserSummary, access) {
	t.Helper()
	u := users.takeWhere(t, func(u emulator.UserSummary) bool {
		rec, ok := stk.Emulator.Access(u.ID)
		if !ok || len(rec.Grants) == 0 || rec.StationID == "" || rec.DefaultStationID == "" || !rec.Forwarding.Enabled {
			return false
		}
		for _, q := range rec.Queues {
			if q.MemberBy == "user" {
				return true
			}
		}
		return false
	})
	before := readAccess(t, u.ID)
	require.NotEmpty(t, before.Direct)
	require.True(t, before.Forwarding.Enabled)
	return u, before
}

// requireAccessEnded checks, through the SDK, that nothing of the user's access is left.
func requireAccessEnded(t *testing.T, userID, token string) {
	t.Helper()
	after := readAccess(t, userID)
	assert.Empty(t, after.Grants, "grants left")
	assert.Empty(t, after.Direct, "direct queue memberships left")
	assert.Empty(t, after.Stations.AssociatedID, "a station is still associated")
	assert.Empty(t, after.Stations.DefaultID, "a default station is still set")
	assert.False(t, after.Forwarding.Enabled, "call forwarding is still on")
	assert.Equal(t, genesys.RoutingOffQueue, after.Routing)
	assert.Equal(t, 401, usersMe(t, token), "a token issued before the run must be refused after it")
	assert.Equal(t, "inactive", userState(t, userID))
}

func Test_GivenArchive_ShouldEndEveryAccessAndRefuseTheUsersToken(t *testing.T) {
	t.Parallel()
	u, _ := takeWithAccess(t)
	token, err := stk.Emulator.IssueUserToken(u.ID)
	require.NoError(t, err)
	require.Equal(t, 200, usersMe(t, token), "the user's token must work before the run")

	startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "archive", Reason: "Voluntary", HREventID: "e2e-access-archive"})
	st := waitStage(t, u.ID, workflows.OutcomeArchived)

	requireAccessEnded(t, u.ID, token)
	assert.False(t, st.AccessEndedAt.IsZero(), "the status must say when access ended")
	var steps []string
	for _, r := range st.Access {
		steps = append(steps, string(r.Step))
		assert.False(t, r.VerifiedAt.IsZero(), "step %s reported without a read-back", r.Step)
	}
	assert.Equal(t, []string{"off-queue", "queues", "forwarding", "station", "grants", "state", "tokens", "reports"}, steps)
	rec, ok := stk.Emulator.Access(u.ID)
	require.True(t, ok)
	assert.Equal(t, "Voluntary", rec.StateChangeReason)
}

func Test_GivenCancelAfterRevoking_ShouldGiveBackEveryAccessAsItWas(t *testing.T) {
	t.Parallel()
	u, before := takeWithAccess(t)
	token, err := stk.Emulator.IssueUserToken(u.ID)
	require.NoError(t, err)

	startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "delete", Reason: "left", HREventID: "e2e-access-cancel"})
	waitStage(t, u.ID, workflows.StageAwaitingApproval)
	requireAccessEnded(t, u.ID, token)

	_, err = as(stack.TokenHR).Cancel(context.Background(), u.ID, "rehired")
	require.NoError(t, err)
	st := waitStage(t, u.ID, workflows.OutcomeCancelled)

	after := readAccess(t, u.ID)
	assert.ElementsMatch(t, before.Grants, after.Grants, "grants")
	assert.ElementsMatch(t, before.Direct, after.Direct, "direct queue memberships, joined as they were")
	assert.Equal(t, before.Stations.AssociatedID, after.Stations.AssociatedID, "associated station")
	assert.Equal(t, before.Stations.DefaultID, after.Stations.DefaultID, "default station")
	assert.Equal(t, before.Forwarding, after.Forwarding, "call forwarding")
	wantRouting := before.Routing
	if wantRouting != genesys.RoutingOffQueue {
		wantRouting = "IDLE" // the only on-queue status a client may set; the status says so
	}
	assert.Equal(t, wantRouting, after.Routing)
	assert.Equal(t, "active", userState(t, u.ID))
	assert.Contains(t, st.Summary, "restored to active")
	assert.NotEmpty(t, st.Restored, "the status must list what was restored")
}
