package genesys_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenAReadOnlyClient_ShouldDenyWritesNamingThePermission(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	ro := f.client(t, emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret)
	u := f.userIn(t, "active", 0)
	_, err := ro.SetUserState(context.Background(), u.ID, genesys.StateInactive)
	ge := requireKind(t, err, genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermUserEdit}, ge.MissingPermissions)
	assert.Equal(t, http.StatusForbidden, ge.Status)
	assert.NotEmpty(t, ge.CorrelationID)
	assert.Contains(t, err.Error(), genesys.PermUserEdit)

	err = ro.DeleteUser(context.Background(), u.ID)
	ge = requireKind(t, err, genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermUserDelete}, ge.MissingPermissions)
	rec, _ := f.emu.User(u.ID)
	assert.Equal(t, "active", rec.State, "nothing changed")
}

func Test_GivenUsersInEveryState_ShouldGetEachAndNotFindAnUnknownOne(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	ctx := context.Background()

	active := f.userIn(t, "active", 0)
	got, err := c.GetUser(ctx, active.ID)
	require.NoError(t, err)
	rec, _ := f.emu.User(active.ID)
	assert.Equal(t, genesys.User{ID: rec.ID, Name: rec.Name, Email: rec.Email, DivisionID: rec.DivisionID, DivisionName: rec.DivisionName,
		State: genesys.StateActive, Version: rec.Version, Roles: got.Roles}, got)
	require.Len(t, got.Roles, len(rec.RoleIDs))
	for i, r := range got.Roles {
		assert.Equal(t, rec.RoleIDs[i], r.ID)
		assert.NotEmpty(t, r.Name)
	}

	inactive := f.userIn(t, "inactive", 0)
	got, err = c.GetUser(ctx, inactive.ID)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateInactive, got.State)

	deleted := f.userIn(t, "deleted", 0)
	got, err = c.GetUser(ctx, deleted.ID)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateDeleted, got.State)
	assert.Equal(t, deleted.ID, got.ID)

	_, err = c.GetUser(ctx, unknownUser)
	ge := requireKind(t, err, genesys.KindNotFound)
	assert.Equal(t, http.StatusNotFound, ge.Status)
}

func Test_GivenTheStateTheUserHas_ShouldNotPatchAgain(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	ctx := context.Background()
	u := f.userIn(t, "active", 0)
	before, _ := f.emu.User(u.ID)

	got, err := c.SetUserState(ctx, u.ID, genesys.StateInactive)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateInactive, got.State)
	assert.Equal(t, before.Version+1, got.Version)

	again, err := c.SetUserState(ctx, u.ID, genesys.StateInactive)
	require.NoError(t, err)
	assert.Equal(t, got.Version, again.Version)
	assert.Len(t, f.calls(http.MethodPatch, "/api/v2/users/"), 1, "the second call must not patch")
	rec, _ := f.emu.User(u.ID)
	assert.Equal(t, "inactive", rec.State)
}

func Test_GivenAVersionConflict_ShouldReReadAndRetry(t *testing.T) {
	emu := emulator.New(emulator.Options{RequestsPerMinute: -1, Conversations: 100})
	direct := httptest.NewServer(emu)
	t.Cleanup(direct.Close)
	f := &fixture{emu: emu, srv: direct}
	other := f.dev(t) // patches behind the first client's back
	u := f.userIn(t, "active", 0)

	var interfered atomic.Bool
	proxied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && interfered.CompareAndSwap(false, true) {
			// Between the client's read and its PATCH, someone else bumps the version twice.
			_, err := other.SetUserState(r.Context(), u.ID, genesys.StateInactive)
			assert.NoError(t, err)
			_, err = other.SetUserState(r.Context(), u.ID, genesys.StateActive)
			assert.NoError(t, err)
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(proxied.Close)
	cfg := f.config(emulator.DevClientID, emulator.DevClientSecret)
	cfg.APIURL = proxied.URL
	c, err := genesys.New(context.Background(), cfg)
	require.NoError(t, err)

	before, _ := emu.User(u.ID)
	got, err := c.SetUserState(context.Background(), u.ID, genesys.StateInactive)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateInactive, got.State)
	assert.Equal(t, before.Version+3, got.Version)
	var patches []int
	for _, call := range f.calls(http.MethodPatch, "/api/v2/users/") {
		patches = append(patches, call.Status)
	}
	assert.Equal(t, []int{200, 200, 409, 200}, patches, "two interfering patches, the client's stale one, its retry")
}

func Test_GivenAStateGenesysLacks_ShouldBeInvalid(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	u := f.userIn(t, "active", 0)
	_, err := f.dev(t).SetUserState(context.Background(), u.ID, "archived")
	ge := requireKind(t, err, genesys.KindInvalid)
	assert.Equal(t, http.StatusBadRequest, ge.Status)
	assert.False(t, ge.Kind.Retryable())
}

func Test_GivenADeletedUser_ShouldDeleteAgainAndRestore(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	ctx := context.Background()
	u := f.userIn(t, "active", 0)

	require.NoError(t, c.DeleteUser(ctx, u.ID))
	rec, _ := f.emu.User(u.ID)
	assert.Equal(t, "deleted", rec.State)
	require.NoError(t, c.DeleteUser(ctx, u.ID), "deleting a deleted user succeeds")

	requireKind(t, c.DeleteUser(ctx, unknownUser), genesys.KindNotFound)

	restored, err := c.SetUserState(ctx, u.ID, genesys.StateActive)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateActive, restored.State)
	rec, _ = f.emu.User(u.ID)
	assert.Equal(t, "active", rec.State)
}

// BenchmarkGetUser measures client calls per second against the emulator on loopback.
func BenchmarkGetUser(b *testing.B) {
	f := newFixture(b, emulator.Options{Conversations: 100})
	cfg := f.config(emulator.DevClientID, emulator.DevClientSecret)
	cfg.RequestsPerMinute = 1 << 30
	c, err := genesys.New(context.Background(), cfg)
	require.NoError(b, err)
	u := f.userIn(b, "active", 0)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.GetUser(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.GetUser(ctx, u.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
	})
}
