package activities_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// accessHarness is the emulator harness with quick read-backs.
func accessHarness(t *testing.T) *harness {
	t.Helper()
	h := dev(t)
	h.a.Access = activities.AccessOptions{ReadBacks: 4, ReadBackDelay: time.Millisecond}
	return h
}

func (h *harness) snapshot(t *testing.T, userID string, skip ...activities.AccessStep) activities.AccessSnapshot {
	t.Helper()
	var s activities.AccessSnapshot
	require.NoError(t, run(t, h, &s, h.a.SnapshotAccess, activities.SnapshotAccessInput{UserID: userID, Skip: skip}))
	return s
}

// rich finds a seeded active user whose access snapshot satisfies want.
func (h *harness) rich(t *testing.T, want func(activities.AccessSnapshot) bool) activities.AccessSnapshot {
	t.Helper()
	for _, u := range h.emu.SeedUsers() {
		if u.State != "active" {
			continue
		}
		if s := h.snapshot(t, u.ID); want(s) {
			return s
		}
	}
	t.Fatal("no seeded active user has the access this test needs")
	return activities.AccessSnapshot{}
}

// holdsEverything is a user with something for every revoke step to end.
func holdsEverything(s activities.AccessSnapshot) bool {
	direct := slices.ContainsFunc(s.Queues, func(m genesys.QueueMembership) bool { return !m.ViaGroup })
	return len(s.Grants) > 0 && direct && s.Forwarding.Enabled && s.Stations.AssociatedID != "" &&
		s.Stations.DefaultID != "" && s.RoutingStatus != genesys.RoutingOffQueue
}

func (h *harness) step(t *testing.T, fn any, in activities.AccessStepInput) (activities.StepResult, error) {
	t.Helper()
	var r activities.StepResult
	err := run(t, h, &r, fn, in)
	return r, err
}

func revokeAll(t *testing.T, h *harness, s activities.AccessSnapshot, handOver bool) []activities.StepResult {
	t.Helper()
	var out []activities.StepResult
	for _, st := range activities.RevokeSteps() {
		r, err := h.step(t, h.a.RevokeAccess, activities.AccessStepInput{UserID: s.UserID, Step: st, Snapshot: s, HandOverReports: handOver, Reason: genesys.ReasonVoluntary})
		require.NoError(t, err, "step %s", st)
		require.Equal(t, st, r.Step)
		out = append(out, r)
	}
	return out
}

// userToken issues a token for the user and reports whether GET /api/v2/users/me accepts it,
// through the SDK.
func (h *harness) tokenWorks(t *testing.T, token string) bool {
	t.Helper()
	cfg := &platformclientv2.Configuration{BasePath: h.srv.URL, AccessToken: token,
		LoggingConfiguration: &platformclientv2.LoggingConfiguration{LogLevel: platformclientv2.LNone}}
	cfg.APIClient = platformclientv2.NewAPIClient(cfg)
	_, resp, err := platformclientv2.NewUsersApiWithConfig(cfg).GetUsersMe(nil, "")
	require.NotNil(t, resp, "GET /users/me: %v", err)
	if resp.StatusCode != http.StatusOK {
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		return false
	}
	return true
}

func Test_GivenAUserWithAccess_ShouldSnapshotEveryPartAsGenesysReadsIt(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, holdsEverything)
	ctx := context.Background()
	g := h.a.Genesys
	grants, err := g.UserGrants(ctx, s.UserID)
	require.NoError(t, err)
	queues, err := g.UserQueues(ctx, s.UserID)
	require.NoError(t, err)
	st, err := g.UserStations(ctx, s.UserID)
	require.NoError(t, err)
	u, err := g.GetUser(ctx, s.UserID)
	require.NoError(t, err)
	assert.Equal(t, grants, s.Grants)
	assert.Equal(t, queues, s.Queues)
	assert.Equal(t, st, s.Stations)
	assert.Equal(t, u.ManagerID, s.ManagerID)
	assert.Equal(t, genesys.StateActive, s.State)
	assert.NotEmpty(t, s.Skills)
	assert.NotEmpty(t, s.Languages)
	assert.Empty(t, s.Unread)
	assert.Equal(t, clock, s.TakenAt)

	skipped := h.snapshot(t, s.UserID, activities.StepStation, activities.StepReports)
	assert.Empty(t, skipped.Stations)
	assert.Empty(t, skipped.DirectReports)
	assert.Equal(t, []string{"directReports", "oauthClients", "stations"}, sortedKeys(skipped.Unread))
	assert.Equal(t, s.Grants, skipped.Grants)
}

func Test_GivenAClientThatMayNotReadAPart_ShouldFailTheSnapshotUnlessItsStepIsSkipped(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, holdsEverything)
	h.emu.AddClient("noqueues", "secret", without(allAccessPerms(), emulator.PermQueueView)...)
	h.a.Genesys = h.client(t, "noqueues", "secret")
	err := run(t, h, nil, h.a.SnapshotAccess, activities.SnapshotAccessInput{UserID: s.UserID})
	ae := appError(t, err, string(genesys.KindPermissionDenied), false)
	assert.Contains(t, ae.Error(), emulator.PermQueueView)

	skipped := h.snapshot(t, s.UserID, activities.StepQueues)
	assert.Equal(t, []string{"languages", "queues", "skills"}, sortedKeys(skipped.Unread))
	assert.Equal(t, s.Stations, skipped.Stations)
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func Test_GivenEveryRevokeStep_ShouldReadBackItsGoalAndChangeNothingTheSecondTime(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, holdsEverything)
	token, err := h.emu.IssueUserToken(s.UserID)
	require.NoError(t, err)
	require.True(t, h.tokenWorks(t, token), "the token works before the revocation")

	first := revokeAll(t, h, s, false)
	for _, r := range first {
		assert.False(t, r.VerifiedAt.IsZero(), "step %s", r.Step)
		assert.NotEmpty(t, r.Verification, "step %s", r.Step)
		if r.Step != activities.StepReports {
			assert.True(t, r.Changed, "step %s had something to end", r.Step)
		}
	}
	ctx := context.Background()
	g := h.a.Genesys
	status, err := g.RoutingStatus(ctx, s.UserID)
	require.NoError(t, err)
	assert.Equal(t, genesys.RoutingOffQueue, status)
	queues, err := g.UserQueues(ctx, s.UserID)
	require.NoError(t, err)
	for _, m := range queues {
		assert.True(t, m.ViaGroup, "queue %s: only group memberships are left", m.QueueID)
	}
	f, err := g.CallForwarding(ctx, s.UserID)
	require.NoError(t, err)
	assert.False(t, f.Enabled)
	assert.Equal(t, s.Forwarding.PhoneNumber, f.PhoneNumber, "the targets stay for restore")
	st, err := g.UserStations(ctx, s.UserID)
	require.NoError(t, err)
	assert.Empty(t, st)
	grants, err := g.UserGrants(ctx, s.UserID)
	require.NoError(t, err)
	assert.Empty(t, grants)
	u, err := g.GetUser(ctx, s.UserID)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateInactive, u.State)
	assert.False(t, h.tokenWorks(t, token), "the token is refused after the revocation")
	assert.JSONEq(t, `{"state":"inactive","reason":"Voluntary"}`, string(first[5].After))
	rec, ok := h.emu.Access(s.UserID)
	require.True(t, ok)
	assert.Equal(t, genesys.ReasonVoluntary, rec.StateChangeReason)
	assert.Zero(t, rec.Tokens)

	for _, r := range revokeAll(t, h, s, false) {
		if r.Step == activities.StepTokens {
			assert.Contains(t, r.Verification, "no way to read")
			assert.True(t, r.NoReadBack, "the tokens step must not claim a read-back")
			continue
		}
		assert.False(t, r.NoReadBack, "step %s was read back", r.Step)
		assert.False(t, r.Changed, "step %s: a second run changes nothing", r.Step)
		assert.Equal(t, string(r.Before), string(r.After), "step %s", r.Step)
	}
}

func Test_GivenAGroupMembership_ShouldLeaveItAndNameItInTheWarnings(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, func(s activities.AccessSnapshot) bool {
		return slices.ContainsFunc(s.Queues, func(m genesys.QueueMembership) bool { return m.ViaGroup })
	})
	r, err := h.step(t, h.a.RevokeAccess, activities.AccessStepInput{UserID: s.UserID, Step: activities.StepQueues, Snapshot: s})
	require.NoError(t, err)
	require.NotEmpty(t, r.Warnings)
	assert.Contains(t, r.Warnings[0], "only the group can remove it")
	var after []genesys.QueueMembership
	require.NoError(t, json.Unmarshal(r.After, &after))
	assert.NotEmpty(t, after)
}

func Test_GivenDirectReports_ShouldHandThemToTheManagerOnlyWhenThePolicySays(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, func(s activities.AccessSnapshot) bool { return len(s.DirectReports) > 0 && s.ManagerID != "" })
	in := activities.AccessStepInput{UserID: s.UserID, Step: activities.StepReports, Snapshot: s}

	r, err := h.step(t, h.a.RevokeAccess, in)
	require.NoError(t, err)
	assert.False(t, r.Changed, "without the policy the reports are only recorded")
	require.Len(t, r.Warnings, 1)
	assert.Contains(t, r.Warnings[0], "the policy does not hand them over")

	in.HandOverReports = true
	r, err = h.step(t, h.a.RevokeAccess, in)
	require.NoError(t, err)
	assert.True(t, r.Changed)
	left, err := h.a.Genesys.DirectReports(context.Background(), s.UserID)
	require.NoError(t, err)
	assert.Empty(t, left)
	theirs, err := h.a.Genesys.DirectReports(context.Background(), s.ManagerID)
	require.NoError(t, err)
	for _, rep := range s.DirectReports {
		assert.Contains(t, theirs, rep)
	}
	again, err := h.step(t, h.a.RevokeAccess, in)
	require.NoError(t, err)
	assert.False(t, again.Changed)
}

func Test_GivenAMissingPermission_ShouldFailTheStepFinallyNamingIt(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, holdsEverything)
	for _, c := range []struct {
		step activities.AccessStep
		lack string
	}{
		{activities.StepStation, emulator.PermStationDisassociate},
		{activities.StepGrants, emulator.PermGrantDelete},
		{activities.StepTokens, emulator.PermTokenDelete},
		{activities.StepForwarding, emulator.PermCallForwardingEdit},
	} {
		t.Run(string(c.step), func(t *testing.T) {
			id := "lacks-" + string(c.step)
			h.emu.AddClient(id, "secret", without(allAccessPerms(), c.lack)...)
			h.a.Genesys = h.client(t, id, "secret")
			_, err := h.step(t, h.a.RevokeAccess, activities.AccessStepInput{UserID: s.UserID, Step: c.step, Snapshot: s})
			ae := appError(t, err, string(genesys.KindPermissionDenied), false)
			assert.Contains(t, ae.Error(), c.lack)
		})
	}
}

// allAccessPerms is every permission the dev client holds for access.
func allAccessPerms() []string {
	perms := []string{emulator.PermUserView, emulator.PermUserEdit, emulator.PermOAuthClientView, emulator.PermRoleView, emulator.PermUserStateView}
	for _, st := range activities.RevokeSteps() {
		perms = append(perms, activities.StepPermissions(st)...)
		perms = append(perms, activities.RestorePermissions(st)...)
	}
	return perms
}

func without(perms []string, drop string) []string {
	return slices.DeleteFunc(slices.Clone(perms), func(p string) bool { return p == drop })
}

func Test_GivenBadStepInput_ShouldFailNonRetryably(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, holdsEverything)
	for name, in := range map[string]activities.AccessStepInput{
		"unknown step":   {UserID: s.UserID, Step: "everything"},
		"empty user":     {Step: activities.StepGrants},
		"other snapshot": {UserID: s.UserID, Step: activities.StepGrants, Snapshot: activities.AccessSnapshot{UserID: unknownUser}},
		"bad reason":     {UserID: s.UserID, Step: activities.StepState, Reason: "Bored"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.step(t, h.a.RevokeAccess, in)
			appError(t, err, activities.ErrInvalidInput, false)
		})
	}
}

func Test_GivenADeletedUser_ShouldRefuseToDeactivateIt(t *testing.T) {
	h := accessHarness(t)
	u := h.userIn(t, "deleted", 0)
	_, err := h.step(t, h.a.RevokeAccess, activities.AccessStepInput{UserID: u.ID, Step: activities.StepState})
	appError(t, err, activities.ErrUnexpectedState, false)
	assert.Equal(t, "deleted", h.state(t, u.ID))
}
