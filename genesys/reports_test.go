package genesys_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenATeamLead_ShouldListReportsAndHandThemToAnotherManager(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	lead, boss := f.seeded(t, 8), f.seeded(t, 0)

	u, err := c.GetUser(ctx, lead.ID)
	require.NoError(t, err)
	assert.Equal(t, boss.ID, u.ManagerID)
	reports, err := c.DirectReports(ctx, lead.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, f.access(t, lead.ID).DirectReports, reports)
	require.Len(t, reports, 7)

	for _, r := range reports {
		require.NoError(t, c.SetManager(ctx, r, boss.ID))
		require.NoError(t, c.SetManager(ctx, r, boss.ID), "setting the manager a user has is a no-op")
	}
	left, err := c.DirectReports(ctx, lead.ID)
	require.NoError(t, err)
	assert.Empty(t, left)
	moved, err := c.GetUser(ctx, reports[0])
	require.NoError(t, err)
	assert.Equal(t, boss.ID, moved.ManagerID)
	assert.Len(t, f.calls(http.MethodPatch, "/api/v2/users/"), 7, "one PATCH a report")

	require.NoError(t, c.SetManager(ctx, reports[0], ""))
	assert.Empty(t, f.access(t, reports[0]).ManagerID)
	requireKind(t, c.SetManager(ctx, reports[0], unknownUser), genesys.KindInvalid)
}

// interfering is a client whose first request matching method and path suffix is preceded by
// bump, which changes the user behind the client's back.
func interfering(t *testing.T, f *fixture, method, suffix string, bump func(ctx context.Context)) *genesys.SDKClient {
	t.Helper()
	var done atomic.Bool
	proxied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == method && strings.HasSuffix(r.URL.Path, suffix) && done.CompareAndSwap(false, true) {
			bump(r.Context())
		}
		f.emu.ServeHTTP(w, r)
	}))
	t.Cleanup(proxied.Close)
	cfg := f.config(emulator.DevClientID, emulator.DevClientSecret)
	cfg.APIURL = proxied.URL
	c, err := genesys.New(context.Background(), cfg)
	require.NoError(t, err)
	return c
}

func Test_GivenAVersionConflict_ShouldReReadAndRetryTheManagerAndTheState(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	other := f.dev(t)
	u, boss := f.seeded(t, 9), f.seeded(t, 0)
	c := interfering(t, f, http.MethodPatch, "/"+u.ID, func(ctx context.Context) {
		assert.NoError(t, other.SetManager(ctx, u.ID, f.seeded(t, 16).ID))
	})
	require.NoError(t, c.SetManager(context.Background(), u.ID, boss.ID))
	assert.Equal(t, boss.ID, f.access(t, u.ID).ManagerID)
	var statuses []int
	for _, call := range f.calls(http.MethodPatch, "/api/v2/users/"+u.ID) {
		statuses = append(statuses, call.Status)
	}
	assert.Equal(t, []int{200, 409, 200}, statuses, "the interfering patch, the stale one, the retry")

	c = interfering(t, f, http.MethodPut, "/"+u.ID+"/state", func(ctx context.Context) {
		assert.NoError(t, other.SetManager(ctx, u.ID, ""))
	})
	got, err := c.SetUserStateWithReason(context.Background(), u.ID, genesys.StateInactive, genesys.ReasonVoluntary)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateInactive, got.State)
	rec, _ := f.emu.User(u.ID)
	assert.Equal(t, rec.Version, got.Version)
	statuses = nil
	for _, call := range f.calls(http.MethodPut, "/api/v2/users/"+u.ID+"/state") {
		statuses = append(statuses, call.Status)
	}
	assert.Equal(t, []int{409, 200}, statuses)
}

func Test_GivenAReason_ShouldSetTheStateWithItOnce(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	u := f.userIn(t, "active", 0)

	got, err := c.SetUserStateWithReason(ctx, u.ID, genesys.StateInactive, genesys.ReasonLeave)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateInactive, got.State)
	rec, _ := f.emu.User(u.ID)
	assert.Equal(t, "inactive", rec.State)
	assert.Equal(t, rec.Version, got.Version)
	assert.Equal(t, genesys.ReasonLeave, f.access(t, u.ID).StateChangeReason)

	again, err := c.SetUserStateWithReason(ctx, u.ID, genesys.StateInactive, genesys.ReasonLeave)
	require.NoError(t, err)
	assert.Equal(t, got.Version, again.Version)
	assert.Len(t, f.calls(http.MethodPut, "/api/v2/users/"+u.ID+"/state"), 1, "the same state is not set again")

	_, err = c.SetUserStateWithReason(ctx, u.ID, genesys.StateActive, "Bored")
	requireKind(t, err, genesys.KindInvalid)
	_, err = c.SetUserStateWithReason(ctx, u.ID, genesys.StateActive, "")
	require.NoError(t, err, "no reason is no reason sent")
	assert.Empty(t, f.access(t, u.ID).StateChangeReason)
	for _, r := range genesys.StateChangeReasons() {
		_, err = c.SetUserStateWithReason(ctx, u.ID, genesys.StateInactive, r)
		require.NoError(t, err)
		_, err = c.SetUserStateWithReason(ctx, u.ID, genesys.StateActive, r)
		require.NoError(t, err, "Genesys accepts %s", r)
	}
	_, err = f.client(t, emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret).SetUserStateWithReason(ctx, u.ID, genesys.StateInactive, genesys.ReasonUnknown)
	ge := requireKind(t, err, genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermUserEdit}, ge.MissingPermissions)
}
