package genesys_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// memberships renders the emulator's queue records as the client's memberships.
func memberships(a emulator.AccessRecord) []genesys.QueueMembership {
	out := []genesys.QueueMembership{}
	for _, q := range a.Queues {
		out = append(out, genesys.QueueMembership{QueueID: q.QueueID, QueueName: q.Name, Joined: q.Joined, ViaGroup: q.MemberBy == "group"})
	}
	return out
}

func Test_GivenQueuesOfManyMembers_ShouldListEveryMembershipAcrossPages(t *testing.T) {
	f := newFixture(t, emulator.Options{Users: 260, Conversations: 100}) // queues of more than 100 members
	c, ctx := f.dev(t), context.Background()
	u := f.seeded(t, 258) // a member of the last queue through a group (258 % 6 == 0)

	got, err := c.UserQueues(ctx, u.ID)
	require.NoError(t, err)
	want := memberships(f.access(t, u.ID))
	assert.ElementsMatch(t, want, got)
	var viaGroup []string
	for _, q := range got {
		if q.ViaGroup {
			viaGroup = append(viaGroup, q.QueueName)
		}
	}
	assert.Equal(t, []string{"Retention"}, viaGroup)

	var pages int
	for _, call := range f.calls(http.MethodGet, "/api/v2/routing/queues/") {
		if queryOf(t, call).Get("pageNumber") == "2" {
			pages++
		}
	}
	assert.Positive(t, pages, "the member listings span pages and the client reads past the first")
	for _, call := range f.calls(http.MethodGet, "/api/v2/users/"+u.ID+"/queues") {
		assert.Contains(t, []string{"true", "false"}, queryOf(t, call).Get("joined"))
	}
}

func Test_GivenQueueMemberships_ShouldLeaveTheDirectOnesAndPutThemBack(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	u := f.seeded(t, 6)
	before, err := c.UserQueues(ctx, u.ID)
	require.NoError(t, err)
	require.NotEmpty(t, before)

	joined := map[string]bool{}
	for _, q := range before {
		if !q.ViaGroup {
			require.NoError(t, c.RemoveQueueMembers(ctx, q.QueueID, []string{u.ID}))
			require.NoError(t, c.RemoveQueueMembers(ctx, q.QueueID, []string{u.ID}), "removing a non-member succeeds")
		}
		joined[q.QueueID] = q.Joined
	}
	after, err := c.UserQueues(ctx, u.ID)
	require.NoError(t, err)
	for _, q := range after {
		assert.True(t, q.ViaGroup, "only the group membership is left: %+v", q)
	}
	assert.Len(t, after, 1, "user 6 is in the group's queue")

	for _, q := range before {
		if !q.ViaGroup {
			require.NoError(t, c.AddQueueMembers(ctx, q.QueueID, []string{u.ID}))
		}
	}
	require.NoError(t, c.SetQueuesJoined(ctx, u.ID, joined))
	restored, err := c.UserQueues(ctx, u.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, before, restored)

	requireKind(t, c.SetQueuesJoined(ctx, u.ID, map[string]bool{unknownUser: true}), genesys.KindInvalid)
}

func Test_GivenMoreThanAHundredUsers_ShouldRemoveThemFromAQueueInBatches(t *testing.T) {
	f := newFixture(t, emulator.Options{Users: 260, Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	queue := f.access(t, f.seeded(t, 0).ID).Queues[0].QueueID
	var ids []string
	for _, u := range f.emu.SeedUsers() {
		if u.State != "deleted" {
			ids = append(ids, u.ID)
		}
	}
	require.Greater(t, len(ids), 200)

	require.NoError(t, c.RemoveQueueMembers(ctx, queue, ids))
	posts := f.calls(http.MethodPost, "/api/v2/routing/queues/"+queue+"/members")
	assert.Len(t, posts, (len(ids)+99)/100)
	for _, p := range posts {
		assert.Equal(t, "true", queryOf(t, p).Get("delete"))
	}
	for _, id := range ids {
		for _, q := range f.access(t, id).Queues {
			if q.QueueID == queue {
				assert.Equal(t, "group", q.MemberBy, "only group memberships stay")
			}
		}
	}
}

func Test_GivenARoutingProfile_ShouldReadSkillsLanguagesAndStatus(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	u := f.seeded(t, 1) // on queue (IDLE), with a second language
	a := f.access(t, u.ID)

	skills, err := c.UserSkills(ctx, u.ID)
	require.NoError(t, err)
	langs, err := c.UserLanguages(ctx, u.ID)
	require.NoError(t, err)
	asProficiencies := func(rs []emulator.ProficiencyRecord) []genesys.Proficiency {
		out := []genesys.Proficiency{}
		for _, r := range rs {
			out = append(out, genesys.Proficiency{ID: r.ID, Name: r.Name, Proficiency: r.Proficiency, State: "active"})
		}
		return out
	}
	assert.ElementsMatch(t, asProficiencies(a.Skills), skills)
	assert.ElementsMatch(t, asProficiencies(a.Languages), langs)
	assert.Len(t, langs, 2)

	status, err := c.RoutingStatus(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "IDLE", status)
	require.NoError(t, c.SetRoutingStatus(ctx, u.ID, genesys.RoutingOffQueue))
	require.NoError(t, c.SetRoutingStatus(ctx, u.ID, genesys.RoutingOffQueue), "setting it again succeeds")
	status, err = c.RoutingStatus(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, genesys.RoutingOffQueue, status)
	assert.Equal(t, genesys.RoutingOffQueue, f.access(t, u.ID).RoutingStatus)

	requireKind(t, c.SetRoutingStatus(ctx, u.ID, "INTERACTING"), genesys.KindInvalid)
	_, err = c.UserSkills(ctx, unknownUser)
	requireKind(t, err, genesys.KindNotFound)
}

func Test_GivenNoQueuePermissions_ShouldBeDeniedNamingThem(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	ro, ctx := f.client(t, emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret), context.Background()
	u := f.seeded(t, 6)
	queues, err := ro.UserQueues(ctx, u.ID)
	require.NoError(t, err, "the read-only client may read queues")

	ge := requireKind(t, ro.RemoveQueueMembers(ctx, queues[0].QueueID, []string{u.ID}), genesys.KindPermissionDenied)
	assert.Contains(t, ge.MissingPermissions, genesys.PermQueueMemberManage)
	f.emu.AddClient("blind", "blind-secret", emulator.PermUserView)
	_, err = f.client(t, "blind", "blind-secret").UserQueues(ctx, u.ID)
	ge = requireKind(t, err, genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermQueueView}, ge.MissingPermissions)
	assert.Equal(t, memberships(f.access(t, u.ID)), queues)
}
