package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/workflows"
)

func Test_GivenApproval_ShouldAcceptUpdateOrSignal(t *testing.T) {
	for _, via := range []string{"update", "signal"} {
		t.Run(via, func(t *testing.T) {
			f := newFixture(t, testPolicy()).forbid("RestoreAccess")
			f.at(time.Hour, func() {
				if via == "update" {
					f.update(workflows.UpdateApprove, decide("bob"))
				} else {
					f.signal(workflows.UpdateApprove, decide("bob"))
				}
			})

			res, err := f.run(deleteRequest())

			require.NoError(t, err)
			assert.Equal(t, workflows.OutcomeDeleted, res.Outcome)
			d := f.lastAudit().Decisions
			require.Len(t, d, 1)
			assert.NotEmpty(t, d[0].CredentialID, "the decision names the credential that proved it")
			d[0].CredentialID = ""
			assert.Equal(t, activities.Decision{Approver: "bob", Approve: true, Comment: "ok", At: start.Add(time.Hour), Via: via}, d[0])
		})
	}
}

func Test_GivenInvalidDecision_ShouldRejectUpdateAndIgnoreSignal(t *testing.T) {
	cases := []struct {
		name   string
		policy func(*workflows.Policy)
		first  string // an approver who decides validly first, if any
		who    string
		at     time.Duration
		want   string
	}{
		{name: "requester self-approval", who: requester, want: "may not decide"},
		{name: "requester self-approval in other case", who: strings.ToUpper(requester), want: "may not decide"},
		{name: "duplicate approver", policy: func(p *workflows.Policy) { p.ApprovalsRequired = 2 }, first: "alice", who: "alice", want: "already decided"},
		{name: "approver off the allow-list", who: "mallory", want: "allow-list"},
		{name: "wrong stage", who: "alice", at: 30 * time.Minute, want: "no decision is taken at stage \"exporting\""},
	}
	for _, tc := range cases {
		for _, via := range []string{"update", "signal"} {
			t.Run(tc.name+" via "+via, func(t *testing.T) {
				p := testPolicy()
				p.Approvers = append(p.Approvers, strings.ToUpper(requester))
				if tc.policy != nil {
					tc.policy(&p)
				}
				f := newFixture(t, p).forbid("DeleteUser", "RestoreAccess")
				f.exportDelay = time.Hour
				at := tc.at
				if at == 0 {
					at = 2 * time.Hour
				}
				if tc.first != "" {
					f.at(at-time.Minute, func() { f.update(workflows.UpdateApprove, decide(tc.first)) })
				}
				var res *updateResult
				f.at(at, func() {
					if via == "update" {
						res = f.update(workflows.UpdateApprove, decide(tc.who))
					} else {
						f.signal(workflows.UpdateApprove, decide(tc.who))
					}
				})

				out, err := f.run(deleteRequest())

				require.NoError(t, err)
				assert.Equal(t, workflows.OutcomeArchived, out.Outcome, "without a valid approval the approval times out")
				audit := f.lastAudit()
				if tc.first != "" {
					require.Len(t, audit.Decisions, 1)
				} else {
					assert.Empty(t, audit.Decisions)
				}
				if via == "update" {
					require.NotNil(t, res)
					require.Error(t, res.rejected)
					assert.Contains(t, res.rejected.Error(), tc.want)
					assert.False(t, res.accepted)
				} else {
					ig := audit.Ignored
					require.NotNil(t, ig)
					assert.Equal(t, 1, ig.Total)
					require.Len(t, ig.Last, 1)
					assert.Equal(t, "approve", ig.Last[0].Message)
					assert.Equal(t, "refused", ig.Last[0].Reason)
					assert.Contains(t, ig.Last[0].Detail, tc.want)
					assert.Equal(t, ig, f.status().Ignored)
				}
			})
		}
	}
}

func Test_GivenTwoApproverPolicy_ShouldDeleteOnlyAfterBothApprove(t *testing.T) {
	p := testPolicy()
	p.ApprovalsRequired = 2
	f := newFixture(t, p).forbid("RestoreAccess")
	f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
	f.at(2*time.Hour, func() {
		s := f.status()
		assert.Equal(t, workflows.StageAwaitingApproval, s.Stage)
		assert.Equal(t, 2, s.ApprovalsRequired)
		assert.Contains(t, s.Summary, "waiting for 1 more approval")
	})
	f.at(40*day, func() { f.signal(workflows.UpdateApprove, decide("carol")) })

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeArchived, res.Outcome, "the second approval came after the 4-day timeout")
	assert.Empty(t, f.callsOf("DeleteUser"))
}

func Test_GivenTwoApproverPolicy_ShouldProceedWhenBothApproveInTime(t *testing.T) {
	p := testPolicy()
	p.ApprovalsRequired = 2
	f := newFixture(t, p).forbid("RestoreAccess")
	f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
	f.at(2*day, func() { f.signal(workflows.UpdateApprove, decide("carol")) })

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeDeleted, res.Outcome)
	assert.Len(t, f.lastAudit().Decisions, 2)
}

func Test_GivenRejection_ShouldEndRejectedWithUserInactiveAndLinked(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("DeleteUser", "RestoreAccess")
	f.at(time.Hour, func() {
		f.update(workflows.UpdateReject, workflows.DecisionInput{Approver: "carol", Comment: "pending litigation"})
	})

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeRejected, res.Outcome)
	ver := f.callsOf("VerifyOutcome")[0].in.(activities.VerifyInput)
	assert.Equal(t, genesys.StateInactive, ver.ExpectedState)
	assert.Equal(t, "rejected", f.lastAudit().Outcome)
	assert.False(t, f.lastAudit().Decisions[0].Approve)
	assert.Equal(t, "rejected", f.stages[len(f.stages)-1])
}

func Test_GivenApprovalTimesOut_ShouldEscalateThenArchiveWithoutDeleting(t *testing.T) {
	for _, notifyFails := range []bool{false, true} {
		name := "notifications delivered"
		if notifyFails {
			name = "notifications failing"
		}
		t.Run(name, func(t *testing.T) {
			p := testPolicy()
			p.ApprovalsRequired = 2
			f := newFixture(t, p).forbid("DeleteUser", "RestoreAccess")
			if notifyFails {
				f.notify = func(activities.Notification) error {
					return temporal.NewNonRetryableApplicationError("webhook down", "WebhookFailed", nil)
				}
			}
			f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) }) // one of the two needed

			res, err := f.run(deleteRequest())

			require.NoError(t, err)
			assert.Equal(t, workflows.OutcomeArchived, res.Outcome)
			byEvent := map[string]activities.Notification{}
			for _, n := range f.notifications {
				byEvent[n.Event] = n
			}
			entered := byEvent["approval.requested"].At
			assert.Equal(t, start, entered)
			assert.Equal(t, entered.Add(2*day), byEvent["approval.reminder"].At, "reminder at half the 4-day timeout")
			assert.Equal(t, []string{"bob", "carol"}, byEvent["approval.reminder"].Recipients, "only approvers who have not decided")
			assert.Equal(t, []string{"hr-lead"}, byEvent["approval.escalated"].Recipients)
			assert.Equal(t, entered.Add(2*day), byEvent["approval.escalated"].At)
			assert.Equal(t, entered.Add(4*day), f.callsOf("VerifyOutcome")[0].at, "archived at the deadline")
			audit := f.lastAudit()
			if notifyFails {
				assert.Len(t, audit.Notes, 3, "requested, reminder and escalated failures are noted")
				assert.Contains(t, audit.Notes[0], "WebhookFailed")
			} else {
				assert.Empty(t, audit.Notes)
			}
		})
	}
}
