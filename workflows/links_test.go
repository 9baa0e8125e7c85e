package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

// linkDecision is the payload of the link of who's action among links: the credential in its path.
func linkDecision(t *testing.T, links []activities.ApprovalLink, who string, action credential.Action) workflows.SignedDecision {
	t.Helper()
	l, ok := activities.NotificationBody{Links: links}.Link(who, action)
	require.True(t, ok, "no %s link for %s", action, who)
	_, tok, ok := strings.Cut(l.URL, "/v1/decisions/")
	require.True(t, ok, l.URL)
	return workflows.SignedDecision{Credential: tok}
}

// The links a notification carries are what the run checks: each decides once, for its run
// and its approver, until it expires.
func Test_GivenApprovalLinksOfANotification_ShouldCountThemOnceAndRefuseExpiredTamperedAndMisdirectedOnes(t *testing.T) {
	p := testPolicy()
	p.ApprovalsRequired = 2
	p.Approvers = append(p.Approvers, requester)
	f := newFixture(t, p).forbid("RestoreAccess")
	issuer := activities.Links{Signer: testSigner, PublicAPIURL: "https://hr.example.com", TTL: 2 * time.Hour}
	var early []activities.ApprovalLink
	var first, reused *updateResult
	f.at(time.Hour, func() {
		require.Len(t, f.notifications, 1)
		n := f.notifications[0]
		require.Equal(t, activities.EventApprovalRequested, n.Event)
		assert.Equal(t, testRunID, n.FirstRunID, "links are bound to the offboarding's first run")
		assert.Equal(t, []string{"alice", "bob", "carol"}, n.LinksFor, "no link for the requester, who may not approve")
		var note string
		early, note = issuer.Issue(n, f.env.Now())
		require.Empty(t, note)
		tampered := linkDecision(t, early, "alice", credential.ActionApprove)
		tampered.Credential = tampered.Credential[:len(tampered.Credential)-4] + "AAAA"
		f.signal(workflows.UpdateApprove, tampered)
		other := n
		other.FirstRunID = "another-run"
		misdirected, _ := issuer.Issue(other, f.env.Now())
		f.signal(workflows.UpdateApprove, linkDecision(t, misdirected, "bob", credential.ActionApprove))
	})
	f.at(4*time.Hour, func() {
		f.signal(workflows.UpdateApprove, linkDecision(t, early, "carol", credential.ActionApprove))
	})
	f.at(5*time.Hour, func() {
		fresh, _ := issuer.Issue(f.notifications[0], f.env.Now())
		first = f.update(workflows.UpdateApprove, linkDecision(t, fresh, "alice", credential.ActionApprove))
		reused = f.update(workflows.UpdateApprove, linkDecision(t, fresh, "alice", credential.ActionApprove))
		f.signal(workflows.UpdateApprove, linkDecision(t, fresh, "alice", credential.ActionApprove))
		f.signal(workflows.UpdateApprove, linkDecision(t, fresh, "bob", credential.ActionApprove))
	})

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeDeleted, res.Outcome, "alice's and bob's links approved the delete")
	require.NotNil(t, first)
	assert.NoError(t, first.rejected)
	require.NotNil(t, reused)
	require.Error(t, reused.rejected)
	assert.Contains(t, reused.rejected.Error(), "already used")
	audit := f.lastAudit()
	require.Len(t, audit.Decisions, 2)
	assert.Equal(t, []string{"alice", "bob"}, []string{audit.Decisions[0].Approver, audit.Decisions[1].Approver})
	assert.Equal(t, map[string]int{credential.ReasonBadSignature: 1, "wrong-run": 1, credential.ReasonExpired: 1, "reused": 1},
		ignoredReasons(audit.Ignored))
}

func Test_GivenAReminder_ShouldAskForLinksOnlyForApproversWhoMayStillDecide(t *testing.T) {
	p := testPolicy()
	p.ApprovalsRequired = 2
	f := newFixture(t, p).forbid("DeleteUser", "RestoreAccess")
	f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })

	_, err := f.run(deleteRequest())

	require.NoError(t, err)
	byEvent := map[string]activities.Notification{}
	for _, n := range f.notifications {
		byEvent[n.Event] = n
	}
	assert.Equal(t, []string{"bob", "carol"}, byEvent[activities.EventApprovalReminder].LinksFor)
	assert.Empty(t, byEvent["approval.escalated"].LinksFor, "escalation goes to others than approvers: no links")
	assert.Empty(t, byEvent["offboarding.completed"].LinksFor)
	for _, n := range f.notifications {
		assert.Equal(t, testRunID, n.FirstRunID)
	}
}

func Test_GivenNoApproverAllowList_ShouldAskForNoLinks(t *testing.T) {
	p := testPolicy()
	p.Approvers = nil
	f := newFixture(t, p).forbid("RestoreAccess")
	f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })

	_, err := f.run(deleteRequest())

	require.NoError(t, err)
	require.NotEmpty(t, f.notifications)
	assert.Equal(t, activities.EventApprovalRequested, f.notifications[0].Event)
	assert.Empty(t, f.notifications[0].LinksFor, "without an allow-list there is no one to bind a link to")
}
