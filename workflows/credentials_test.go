package workflows_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

// ignoredReasons counts the ignored signals of a run by reason.
func ignoredReasons(ig *activities.IgnoredMessages) map[string]int {
	out := map[string]int{}
	if ig == nil {
		return out
	}
	for _, c := range ig.Counts {
		out[c.Reason] += c.Count
	}
	return out
}

// An attacker who can reach Temporal sends what the workflow used to trust: identities in the payload.
func Test_GivenApprovalsWithoutCredential_ShouldIgnoreSignalsAndRefuseUpdates(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("DeleteUser", "RestoreAccess")
	var forged *updateResult
	f.at(time.Hour, func() {
		f.env.SignalWorkflow(workflows.UpdateApprove, workflows.DecisionInput{Approver: "alice"})
		f.env.SignalWorkflow(workflows.UpdateApprove, workflows.DecisionInput{Approver: "bob"})
		forged = f.update(workflows.UpdateApprove, map[string]string{"approver": "carol"})
		f.env.SignalWorkflow(workflows.UpdateHold, workflows.ControlInput{By: "hr-workday"})
		f.env.SignalWorkflow(workflows.UpdateCancel, workflows.ControlInput{By: "hr-workday"})
		f.env.SignalWorkflow(workflows.UpdateExtendRetention, workflows.RetentionInput{Until: start.Add(8 * day), By: "hr-workday", Approver: "alice"})
	})

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeArchived, res.Outcome, "no approval counted, so the approval timed out and nothing was deleted")
	require.NotNil(t, forged)
	require.Error(t, forged.rejected)
	assert.Contains(t, forged.rejected.Error(), "needs a decision credential")
	audit := f.lastAudit()
	assert.Empty(t, audit.Decisions)
	require.NotNil(t, audit.Ignored)
	assert.Equal(t, 5, audit.Ignored.Total)
	assert.Equal(t, map[string]int{"no-credential": 5}, ignoredReasons(audit.Ignored))
	for _, c := range audit.Ignored.Counts {
		assert.Equal(t, "unverified", c.Sender, "a payload's claimed identity is never taken as the sender")
	}
	assert.Contains(t, res.Summary, "5 signals ignored")
}

func Test_GivenCredentialThatDoesNotFit_ShouldRefuseItWithItsReason(t *testing.T) {
	other, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)), "elsewhere")
	require.NoError(t, err)
	cases := []struct {
		name   string
		change func(f *fixture, c *credential.Claims) any
		reason string
	}{
		{"another offboarding", func(f *fixture, c *credential.Claims) any { c.RunID = "another-run"; return nil }, "wrong-run"},
		{"another user", func(f *fixture, c *credential.Claims) any {
			c.WorkflowID = workflows.WorkflowID("0c2dbd8d-8a3c-4a3f-9d2e-3b9b0b0f5d11")
			return nil
		}, "wrong-run"},
		{"another action", func(f *fixture, c *credential.Claims) any { c.Action = credential.ActionReject; return nil }, "wrong-action"},
		{"the hr role", func(f *fixture, c *credential.Claims) any { c.Role = credential.RoleHR; return nil }, "wrong-role"},
		{"expired", func(f *fixture, c *credential.Claims) any {
			c.IssuedAt = c.IssuedAt.Add(-time.Hour)
			c.ExpiresAt = c.IssuedAt.Add(time.Minute)
			return nil
		}, credential.ReasonExpired},
		{"an untrusted key", func(f *fixture, c *credential.Claims) any {
			c.Issuer = "elsewhere"
			tok, err := other.Issue(*c)
			require.NoError(t, err)
			return workflows.SignedDecision{Credential: tok}
		}, credential.ReasonUnknownKey},
		{"an extra field", func(f *fixture, c *credential.Claims) any {
			return map[string]string{"credential": f.signed(*c).Credential, "approver": "bob"}
		}, "malformed"},
		{"a field in another case", func(f *fixture, c *credential.Claims) any {
			return map[string]string{"Credential": f.signed(*c).Credential}
		}, "malformed"},
		{"a tampered token", func(f *fixture, c *credential.Claims) any {
			tok := f.signed(*c).Credential
			return workflows.SignedDecision{Credential: tok[:len(tok)-4] + "AAAA"}
		}, credential.ReasonBadSignature},
		{"not a JSON object", func(f *fixture, c *credential.Claims) any { return "approve please" }, "malformed"},
		{"an oversized payload", func(f *fixture, c *credential.Claims) any {
			return map[string]string{"credential": strings.Repeat("x", 9000)}
		}, "oversized"},
	}
	for _, tc := range cases {
		for _, via := range []string{"update", "signal"} {
			t.Run(tc.name+" via "+via, func(t *testing.T) {
				f := newFixture(t, testPolicy()).forbid("DeleteUser", "RestoreAccess")
				var res *updateResult
				f.at(time.Hour, func() {
					c := f.claims(workflows.UpdateApprove, decide("alice"))
					payload := tc.change(f, &c)
					if payload == nil {
						payload = f.signed(c)
					}
					if via == "update" {
						res = f.update(workflows.UpdateApprove, payload)
					} else {
						f.signal(workflows.UpdateApprove, payload)
					}
				})

				out, err := f.run(deleteRequest())

				require.NoError(t, err)
				assert.Equal(t, workflows.OutcomeArchived, out.Outcome)
				audit := f.lastAudit()
				assert.Empty(t, audit.Decisions)
				if via == "update" {
					require.NotNil(t, res)
					require.Error(t, res.rejected)
					assert.Nil(t, audit.Ignored, "a refused update leaves no trace in the run")
					return
				}
				require.NotNil(t, audit.Ignored)
				assert.Equal(t, map[string]int{tc.reason: 1}, ignoredReasons(audit.Ignored))
				assert.NotContains(t, audit.Ignored.Last[0].Detail, "eyJ", "the summary never holds a credential")
			})
		}
	}
}

func Test_GivenCredentialUsedTwice_ShouldCountItOnce(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("RestoreAccess")
	f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
	var hold workflows.SignedDecision
	var again *updateResult
	f.at(10*day, func() {
		hold = f.signed(f.claims(workflows.UpdateHold, workflows.ControlInput{By: "legal"}))
		f.update(workflows.UpdateHold, hold)
	})
	f.at(10*day+time.Minute, func() { f.update(workflows.UpdateRelease, workflows.ControlInput{By: "legal"}) })
	f.at(10*day+2*time.Minute, func() {
		again = f.update(workflows.UpdateHold, hold)
		f.signal(workflows.UpdateHold, hold)
	})

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeDeleted, res.Outcome, "the replayed hold did not stop deletion")
	require.Error(t, again.rejected)
	assert.Contains(t, again.rejected.Error(), "already used")
	assert.Equal(t, map[string]int{"reused": 1}, ignoredReasons(f.lastAudit().Ignored))
}

func Test_GivenSameApproverInAnotherCase_ShouldCountOneApprover(t *testing.T) {
	p := testPolicy()
	p.Approvers = nil
	p.ApprovalsRequired = 2
	f := newFixture(t, p).forbid("DeleteUser", "RestoreAccess")
	var second *updateResult
	f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
	f.at(2*time.Hour, func() { second = f.update(workflows.UpdateApprove, decide("ＡＬＩＣＥ")) })

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeArchived, res.Outcome)
	require.Error(t, second.rejected)
	assert.Contains(t, second.rejected.Error(), "already decided")
	_, err = testSigner.Issue(credential.Claims{Identity: "alice\u200b", Role: credential.RoleApprover, Action: credential.ActionApprove,
		WorkflowID: workflows.WorkflowID(userID), RunID: testRunID, IssuedAt: start, ExpiresAt: start.Add(time.Minute)})
	require.Error(t, err, "an identity with a zero-width space gets no credential at all")
}

func Test_GivenUnsignedDecisionsPolicy_ShouldCountThemAndSayUnsigned(t *testing.T) {
	p := testPolicy()
	p.UnsignedDecisions = true
	f := newFixture(t, p).forbid("RestoreAccess")
	f.at(time.Hour, func() {
		f.env.SignalWorkflow(workflows.UpdateApprove, workflows.DecisionInput{Approver: "bob", Comment: "ok"})
	})
	f.at(2*time.Hour, func() {
		s := f.status()
		assert.True(t, s.UnsignedDecisions)
		assert.Contains(t, s.Summary, "UNSIGNED DECISIONS ALLOWED")
	})

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeDeleted, res.Outcome)
	d := f.lastAudit().Decisions
	require.Len(t, d, 1)
	assert.True(t, d[0].Unsigned)
	assert.Equal(t, "signal, unsigned", d[0].Via)
}

// floodSignals is how many ignored signals the flood test sends, and a tenth more malformed ones.
const floodSignals = 10_000

// A flood of ignored and malformed signals leaves the carried state small and the run healthy.
func Test_GivenSignalFlood_ShouldStayBoundedAndFinish(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("RestoreAccess")
	// The test environment's callback queue holds about a thousand, so the flood comes in bursts.
	const burst = 500
	for b := range floodSignals / burst {
		f.at(time.Hour+time.Duration(b)*time.Second, func() {
			for i := range burst {
				f.env.SignalWorkflow(workflows.UpdateApprove, workflows.DecisionInput{Approver: "mallory-" + strings.Repeat("x", i%50)})
			}
			for range burst / 10 {
				f.env.SignalWorkflow(workflows.UpdateCancel, []byte{0xff, 0x00})
			}
		})
	}
	f.at(2*time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeDeleted, res.Outcome)
	ig := f.lastAudit().Ignored
	require.NotNil(t, ig)
	assert.Equal(t, floodSignals*11/10, ig.Total)
	assert.LessOrEqual(t, len(ig.Counts), 20)
	assert.LessOrEqual(t, len(ig.Last), 5)
	state, err := json.Marshal(f.status())
	require.NoError(t, err)
	assert.Less(t, len(state), 16<<10, "the status, and the state it reports, stay small")
	t.Logf("status after %d ignored signals: %d bytes", ig.Total, len(state))
}

// Keys rotate under runs that wait for months: a waiting run takes up the worker's new key.
func Test_GivenKeyRotatedWhileWaiting_ShouldAcceptTheNewKey(t *testing.T) {
	rotated, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize)), "test-hrapi")
	require.NoError(t, err)
	f := newFixture(t, testPolicy()).forbid("RestoreAccess")
	f.at(time.Hour, func() {
		f.workflows.Policy.DecisionKeys = []string{credential.EncodePublicKey(rotated.PublicKey())}
	})
	var approved *updateResult
	f.at(day+2*time.Hour, func() {
		tok, err := rotated.Issue(f.claims(workflows.UpdateApprove, decide("alice")))
		require.NoError(t, err)
		approved = f.update(workflows.UpdateApprove, workflows.SignedDecision{Credential: tok})
	})

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	require.NoError(t, approved.rejected)
	assert.Equal(t, workflows.OutcomeDeleted, res.Outcome)
	var taken bool
	for _, tr := range f.lastAudit().Transitions {
		taken = taken || strings.Contains(tr.Detail, "decision keys now 1: taken up from the worker")
	}
	assert.True(t, taken, "the history says when the run took up the new keys")
}
