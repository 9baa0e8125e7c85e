package genesys_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// seeded returns the seeded user with index i (seed order).
func (f *fixture) seeded(t testing.TB, i int) emulator.UserSummary {
	t.Helper()
	all := f.emu.SeedUsers()
	require.Greater(t, len(all), i)
	return all[i]
}

// access reads the emulator's model of what the user holds.
func (f *fixture) access(t testing.TB, userID string) emulator.AccessRecord {
	t.Helper()
	a, ok := f.emu.Access(userID)
	require.True(t, ok, "no user %s", userID)
	return a
}

func queryOf(t testing.TB, c emulator.Call) url.Values {
	t.Helper()
	v, err := url.ParseQuery(c.Query)
	require.NoError(t, err)
	return v
}

func grantPairs(gs []genesys.Grant) [][2]string {
	out := [][2]string{}
	for _, g := range gs {
		out = append(out, [2]string{g.RoleID, g.DivisionID})
	}
	return out
}

func Test_GivenAUserWithGrants_ShouldReadRemoveAndAddThemBack(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	u := f.seeded(t, 3) // one of the users granted a supervisor role in two divisions

	grants, err := c.UserGrants(ctx, u.ID)
	require.NoError(t, err)
	want := [][2]string{}
	for _, g := range f.access(t, u.ID).Grants {
		want = append(want, [2]string{g.RoleID, g.DivisionID})
	}
	require.Len(t, grants, 3)
	assert.Equal(t, want, grantPairs(grants))
	for _, g := range grants {
		assert.NotEmpty(t, g.RoleName)
		assert.NotEmpty(t, g.DivisionName)
	}

	require.NoError(t, c.RemoveGrants(ctx, u.ID, grants))
	assert.Empty(t, f.access(t, u.ID).Grants)
	left, err := c.UserGrants(ctx, u.ID)
	require.NoError(t, err)
	assert.Empty(t, left)
	require.NoError(t, c.RemoveGrants(ctx, u.ID, grants), "removing what is gone succeeds")

	require.NoError(t, c.AddGrants(ctx, u.ID, grants))
	require.NoError(t, c.AddGrants(ctx, u.ID, grants), "adding what is there succeeds")
	back, err := c.UserGrants(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, want, grantPairs(back))
	assert.Equal(t, "PC_USER", queryOf(t, f.calls(http.MethodPost, "/api/v2/authorization/subjects/"+u.ID+"/bulkadd")[0]).Get("subjectType"))

	require.NoError(t, c.RemoveGrants(ctx, u.ID, nil))
	assert.Len(t, f.calls(http.MethodPost, "/api/v2/authorization/subjects/"), 4, "no grants, no call")
}

func Test_GivenAReadOnlyClient_ShouldBeDeniedGrantAndTokenChangesNamingThePermission(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	ro, ctx := f.client(t, emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret), context.Background()
	u := f.seeded(t, 3)
	grants, err := ro.UserGrants(ctx, u.ID)
	require.NoError(t, err, "the read-only client may read grants")

	ge := requireKind(t, ro.RemoveGrants(ctx, u.ID, grants), genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermGrantDelete}, ge.MissingPermissions)
	ge = requireKind(t, ro.AddGrants(ctx, u.ID, grants), genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermGrantAdd}, ge.MissingPermissions)
	ge = requireKind(t, ro.RevokeTokens(ctx, u.ID), genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermTokenDelete}, ge.MissingPermissions)
	assert.Len(t, f.access(t, u.ID).Grants, 3)

	_, err = ro.UserGrants(ctx, unknownUser)
	requireKind(t, err, genesys.KindNotFound)
	requireKind(t, ro.RemoveGrants(ctx, "", grants), genesys.KindInvalid)
}

// meWith calls GET /api/v2/users/me with a user's token and returns the status and user ID.
func meWith(t *testing.T, f *fixture, token string) (int, string) {
	t.Helper()
	cfg := &platformclientv2.Configuration{BasePath: f.srv.URL, AccessToken: token,
		LoggingConfiguration: &platformclientv2.LoggingConfiguration{LogLevel: platformclientv2.LNone}, DefaultHeader: map[string]string{}}
	cfg.APIClient = platformclientv2.NewAPIClient(cfg)
	me, resp, _ := platformclientv2.NewUsersApiWithConfig(cfg).GetUsersMe(nil, "")
	require.NotNil(t, resp)
	if me == nil || me.Id == nil {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, *me.Id
}

func Test_GivenAUsersToken_ShouldStopWorkingWhenRevokedOrTheUserIsInactive(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	u := f.userIn(t, "active", 0)

	tok, err := f.emu.IssueUserToken(u.ID)
	require.NoError(t, err)
	status, id := meWith(t, f, tok)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, u.ID, id)
	assert.Equal(t, 1, f.access(t, u.ID).Tokens)

	require.NoError(t, c.RevokeTokens(ctx, u.ID))
	status, _ = meWith(t, f, tok)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Zero(t, f.access(t, u.ID).Tokens)
	require.NoError(t, c.RevokeTokens(ctx, u.ID), "revoking again succeeds")

	tok, err = f.emu.IssueUserToken(u.ID)
	require.NoError(t, err)
	_, err = c.SetUserState(ctx, u.ID, genesys.StateInactive)
	require.NoError(t, err)
	status, _ = meWith(t, f, tok)
	assert.Equal(t, http.StatusUnauthorized, status, "an inactive user's token does not work")
	_, err = f.emu.IssueUserToken(u.ID)
	assert.Error(t, err, "an inactive user cannot log in")

	requireKind(t, c.RevokeTokens(ctx, unknownUser), genesys.KindNotFound)
}

func Test_GivenOAuthClients_ShouldListThoseTheUserCreated(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	creator := f.seeded(t, 1)

	owned, err := c.OAuthClientsCreatedBy(ctx, creator.ID)
	require.NoError(t, err)
	require.Len(t, owned, 1)
	assert.Equal(t, f.access(t, creator.ID).OAuthClients, []string{owned[0].ID})
	assert.Equal(t, "Team Wallboard", owned[0].Name)

	none, err := c.OAuthClientsCreatedBy(ctx, f.seeded(t, 0).ID)
	require.NoError(t, err)
	assert.Empty(t, none)

	f.emu.AddClient("blind", "blind-secret", emulator.PermUserView)
	_, err = f.client(t, "blind", "blind-secret").OAuthClientsCreatedBy(ctx, creator.ID)
	ge := requireKind(t, err, genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermOAuthClientView}, ge.MissingPermissions)
}
