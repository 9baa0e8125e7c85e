package activities_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
)

func restoreAll(t *testing.T, h *harness, s activities.AccessSnapshot, handOver bool) map[activities.AccessStep]activities.StepResult {
	t.Helper()
	out := map[activities.AccessStep]activities.StepResult{}
	for _, st := range activities.RestoreSteps() {
		r, err := h.step(t, h.a.RestoreAccess, activities.AccessStepInput{UserID: s.UserID, Step: st, Snapshot: s, HandOverReports: handOver})
		require.NoError(t, err, "step %s", st)
		out[st] = r
	}
	return out
}

// requireAsSnapshot checks that every part of the user's access reads back as in want.
func requireAsSnapshot(t *testing.T, want, got activities.AccessSnapshot) {
	t.Helper()
	assert.Equal(t, want.State, got.State)
	assert.ElementsMatch(t, want.Grants, got.Grants)
	assert.ElementsMatch(t, want.Queues, got.Queues)
	assert.ElementsMatch(t, want.Skills, got.Skills)
	assert.ElementsMatch(t, want.Languages, got.Languages)
	assert.Equal(t, onQueue(want.RoutingStatus), got.RoutingStatus)
	assert.Equal(t, want.Stations, got.Stations)
	assert.Equal(t, want.Forwarding, got.Forwarding)
	assert.Equal(t, want.ManagerID, got.ManagerID)
	assert.ElementsMatch(t, want.DirectReports, got.DirectReports)
	assert.ElementsMatch(t, want.OAuthClients, got.OAuthClients)
}

// onQueue is the routing status restore gives back: one a client may set.
func onQueue(status string) string {
	if status == genesys.RoutingOffQueue {
		return status
	}
	return "IDLE"
}

func Test_GivenARevokedUser_ShouldRestoreEveryPartAsTheSnapshotRecordedIt(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, func(s activities.AccessSnapshot) bool { return holdsEverything(s) })
	revokeAll(t, h, s, true)

	restored := restoreAll(t, h, s, true)
	requireAsSnapshot(t, s, h.snapshot(t, s.UserID))
	for st, r := range restored {
		switch st {
		case activities.StepTokens:
			require.Len(t, r.Warnings, 1)
			assert.Contains(t, r.Warnings[0], "cannot be given back")
		case activities.StepOffQueue:
			assert.True(t, r.Changed)
			if s.RoutingStatus == "IDLE" {
				assert.Empty(t, r.Warnings)
			} else {
				require.Len(t, r.Warnings, 1, "a status only interactions set is restored as IDLE, with a warning")
				assert.Contains(t, r.Warnings[0], s.RoutingStatus)
			}
		case activities.StepQueues, activities.StepReports:
		default:
			assert.Empty(t, r.Warnings, "step %s", st)
			assert.True(t, r.Changed, "step %s", st)
		}
	}

	for st, r := range restoreAll(t, h, s, true) {
		assert.False(t, r.Changed, "step %s: restoring again changes nothing", st)
	}
	requireAsSnapshot(t, s, h.snapshot(t, s.UserID))
}

func Test_GivenHandedOverReports_ShouldGiveThemBack(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, func(s activities.AccessSnapshot) bool { return len(s.DirectReports) > 0 && s.ManagerID != "" })
	in := activities.AccessStepInput{UserID: s.UserID, Step: activities.StepReports, Snapshot: s, HandOverReports: true}
	_, err := h.step(t, h.a.RevokeAccess, in)
	require.NoError(t, err)

	r, err := h.step(t, h.a.RestoreAccess, in)
	require.NoError(t, err)
	assert.True(t, r.Changed)
	assert.Empty(t, r.Warnings)
	back, err := h.a.Genesys.DirectReports(context.Background(), s.UserID)
	require.NoError(t, err)
	assert.ElementsMatch(t, s.DirectReports, back)
}

func Test_GivenAStationTakenSinceTheRevocation_ShouldWarnNamingWhoHoldsIt(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, holdsEverything)
	in := activities.AccessStepInput{UserID: s.UserID, Step: activities.StepStation, Snapshot: s}
	_, err := h.step(t, h.a.RevokeAccess, in)
	require.NoError(t, err)
	other := h.rich(t, func(o activities.AccessSnapshot) bool { return o.UserID != s.UserID })
	ctx := context.Background()
	require.NoError(t, h.a.Genesys.AssociateStation(ctx, other.UserID, s.Stations.AssociatedID))
	holder, err := h.a.Genesys.StationHolder(ctx, s.Stations.AssociatedID)
	require.NoError(t, err)
	require.Equal(t, other.UserID, holder)

	r, err := h.step(t, h.a.RestoreAccess, in)
	require.NoError(t, err)
	require.Len(t, r.Warnings, 1)
	assert.Contains(t, r.Warnings[0], other.UserID)
	assert.Contains(t, r.Warnings[0], s.Stations.AssociatedID)
	st, err := h.a.Genesys.UserStations(ctx, s.UserID)
	require.NoError(t, err)
	assert.Empty(t, st.AssociatedID, "the station stays with the user who holds it")
	holder, err = h.a.Genesys.StationHolder(ctx, s.Stations.AssociatedID)
	require.NoError(t, err)
	assert.Equal(t, other.UserID, holder)
}

func Test_GivenAPartTheSnapshotCouldNotRead_ShouldLeaveItAndSaySo(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, holdsEverything)
	skipped := h.snapshot(t, s.UserID, activities.StepStation)
	_, err := h.step(t, h.a.RevokeAccess, activities.AccessStepInput{UserID: s.UserID, Step: activities.StepGrants, Snapshot: skipped})
	require.NoError(t, err)

	r, err := h.step(t, h.a.RestoreAccess, activities.AccessStepInput{UserID: s.UserID, Step: activities.StepStation, Snapshot: skipped})
	require.NoError(t, err)
	assert.False(t, r.Changed)
	require.Len(t, r.Warnings, 1)
	assert.Contains(t, r.Warnings[0], "stations")
	st, err := h.a.Genesys.UserStations(context.Background(), s.UserID)
	require.NoError(t, err)
	assert.Equal(t, s.Stations, st, "an unread part is never touched")
}

func Test_GivenAnInactiveUserBeforeTheRun_ShouldRestoreItInactive(t *testing.T) {
	h := accessHarness(t)
	u := h.userIn(t, "inactive", 0)
	s := h.snapshot(t, u.ID)
	require.Equal(t, genesys.StateInactive, s.State)
	r, err := h.step(t, h.a.RestoreAccess, activities.AccessStepInput{UserID: u.ID, Step: activities.StepState, Snapshot: s})
	require.NoError(t, err)
	assert.False(t, r.Changed)
	assert.Equal(t, "inactive", h.state(t, u.ID))
}

func Test_GivenARoleAndAQueueGoneSinceTheSnapshot_ShouldRestoreTheRestAndNameThem(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, holdsEverything)
	revokeAll(t, h, s, false)
	const gone = "00000000-0000-4000-8000-00000000900e"
	withGone := s
	withGone.Grants = append(slices.Clone(s.Grants), genesys.Grant{RoleID: gone, RoleName: "Retired role", DivisionID: s.Grants[0].DivisionID})
	withGone.Queues = append(slices.Clone(s.Queues), genesys.QueueMembership{QueueID: gone, QueueName: "Closed queue", Joined: true})

	for _, st := range []activities.AccessStep{activities.StepGrants, activities.StepQueues} {
		r, err := h.step(t, h.a.RestoreAccess, activities.AccessStepInput{UserID: s.UserID, Step: st, Snapshot: withGone})
		require.NoError(t, err, "step %s", st)
		assert.True(t, r.Changed, "step %s", st)
		require.Len(t, r.Warnings, 1, "step %s: %v", st, r.Warnings)
		assert.Contains(t, r.Warnings[0], gone)
	}
	got := h.snapshot(t, s.UserID)
	assert.ElementsMatch(t, s.Grants, got.Grants)
	assert.ElementsMatch(t, s.Queues, got.Queues)
}

func Test_GivenAReportMovedElsewhereSinceTheHandOver_ShouldLeaveItThereWithAWarning(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, func(s activities.AccessSnapshot) bool { return len(s.DirectReports) > 1 && s.ManagerID != "" })
	in := activities.AccessStepInput{UserID: s.UserID, Step: activities.StepReports, Snapshot: s, HandOverReports: true}
	_, err := h.step(t, h.a.RevokeAccess, in)
	require.NoError(t, err)
	moved, elsewhere := s.DirectReports[0], s.DirectReports[1]
	ctx := context.Background()
	require.NoError(t, h.a.Genesys.SetManager(ctx, moved, elsewhere))

	r, err := h.step(t, h.a.RestoreAccess, in)
	require.NoError(t, err)
	require.Len(t, r.Warnings, 1)
	assert.Contains(t, r.Warnings[0], moved)
	assert.Contains(t, r.Warnings[0], elsewhere)
	back, err := h.a.Genesys.DirectReports(ctx, s.UserID)
	require.NoError(t, err)
	assert.ElementsMatch(t, s.DirectReports[1:], back)
}
