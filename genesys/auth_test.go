package genesys_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenABadSecret_ShouldFailLoginUnauthenticatedNamingTheVariable(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	_, err := genesys.New(context.Background(), f.config(emulator.DevClientID, "wrong-secret-value"))
	ge := requireKind(t, err, genesys.KindUnauthenticated)
	assert.Equal(t, http.StatusUnauthorized, ge.Status)
	assert.NotContains(t, err.Error(), "wrong-secret-value")
	assert.Contains(t, err.Error(), genesys.EnvClientSecret)
}

func Test_GivenATokenNearExpiry_ShouldRenewItBeforeA401(t *testing.T) {
	f := newFixture(t, emulator.Options{TokenTTL: time.Second})
	c := f.dev(t)
	u := f.userIn(t, "active", 0)
	_, err := c.GetUser(context.Background(), u.ID)
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond)
	_, err = c.GetUser(context.Background(), u.ID)
	require.NoError(t, err)
	assert.Len(t, f.calls(http.MethodPost, "/oauth/token"), 2)
	for _, call := range f.emu.Calls() {
		assert.NotEqual(t, http.StatusUnauthorized, call.Status, "token should be renewed before it expires: %+v", call)
	}
}

func Test_GivenAnExpiredToken_ShouldReauthorizeOnceAndRetry(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	u := f.userIn(t, "active", 0)
	f.emu.SetFaults(emulator.Faults{ExpireTokens: true})
	got, err := c.GetUser(context.Background(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	var statuses []int
	for _, call := range f.emu.Calls() {
		statuses = append(statuses, call.Status)
	}
	assert.Equal(t, []int{200, 401, 200, 200}, statuses, "login, 401, re-login, retried call")
}

func Test_GivenConcurrentCallsAfterExpiry_ShouldShareOneLogin(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	users := f.emu.SeedUsers()
	f.emu.SetFaults(emulator.Faults{ExpireTokens: true})
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			_, err := c.GetUser(context.Background(), users[i%len(users)].ID)
			errs <- err
		}()
	}
	for range 16 {
		require.NoError(t, <-errs)
	}
	// One initial login, then at most a few re-logins however many calls saw the 401.
	assert.LessOrEqual(t, len(f.calls(http.MethodPost, "/oauth/token")), 3)
}

func Test_GivenClientsWithRoles_ShouldListTheirGrantsWithWildcards(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	ctx := context.Background()
	dev, err := f.dev(t).Grants(ctx)
	require.NoError(t, err)
	assert.Equal(t, emulator.DevClientID, dev.ClientID)
	assert.Empty(t, dev.Missing(genesys.PermUserEdit, genesys.PermUserDelete, genesys.PermConversationDetail))

	// A second client in the same process keeps its own token and grants.
	ro, err := f.client(t, emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret).Grants(ctx)
	require.NoError(t, err)
	assert.Equal(t, emulator.ReadOnlyClientID, ro.ClientID)
	assert.Equal(t, []string{genesys.PermUserEdit, genesys.PermUserDelete},
		ro.Missing(genesys.PermUserEdit, genesys.PermUserDelete, genesys.PermConversationDetail))

	f.emu.AddClient("wild", "wild-secret", "directory:*:*", "oauth:client:view", "authorization:role:view")
	w, err := f.client(t, "wild", "wild-secret").Grants(ctx)
	require.NoError(t, err)
	assert.True(t, w.Has(genesys.PermUserDelete))
	assert.Contains(t, w.Permissions, "directory:*:*", "wildcards are kept")
	assert.False(t, w.Has(genesys.PermConversationDetail))
}

func Test_GivenNoRoleViewPermission_ShouldDenyGrants(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.emu.AddClient("blind", "blind-secret", emulator.PermUserView, emulator.PermUserEdit)
	_, err := f.client(t, "blind", "blind-secret").Grants(context.Background())
	ge := requireKind(t, err, genesys.KindPermissionDenied)
	assert.Contains(t, ge.MissingPermissions, emulator.PermOAuthClientView)
}
