package workflows_test

import (
	"slices"
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

// lacking makes CheckAccess fail, as the activity does, whenever it is asked for one of perms.
func lacking(perms ...string) func(activities.CheckAccessInput) (activities.AccessReport, error) {
	return func(in activities.CheckAccessInput) (activities.AccessReport, error) {
		var missing []string
		for _, p := range in.Permissions {
			if slices.Contains(perms, p) {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			return activities.AccessReport{}, temporal.NewNonRetryableApplicationError(
				"OAuth client client-1 lacks Genesys Cloud permission(s) "+strings.Join(missing, ", "),
				activities.ErrMissingPermissions, nil, missing)
		}
		return activities.AccessReport{ClientID: "client-1", Checked: in.Permissions}, nil
	}
}

func revokedSteps(f *fixture) []activities.AccessStep {
	var out []activities.AccessStep
	for _, c := range f.callsOf("RevokeAccess") {
		out = append(out, c.in.(activities.AccessStepInput).Step)
	}
	return out
}

func resultSteps(rs []activities.StepResult) []activities.AccessStep {
	var out []activities.AccessStep
	for _, r := range rs {
		out = append(out, r.Step)
	}
	return out
}

func without(steps []activities.AccessStep, drop ...activities.AccessStep) []activities.AccessStep {
	return slices.DeleteFunc(slices.Clone(steps), func(s activities.AccessStep) bool { return slices.Contains(drop, s) })
}

func Test_GivenOptionalStepWithoutPermission_ShouldWarnAndSkipIt(t *testing.T) {
	p := testPolicy()
	p.OptionalAccessSteps = []string{string(activities.StepForwarding), string(activities.StepTokens)}
	f := newFixture(t, p).forbid("DeleteUser", "RestoreAccess")
	f.checkAccess = lacking(genesys.PermCallForwardingEdit)

	res, err := f.run(archiveRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeArchived, res.Outcome)
	checks := f.callsOf("CheckAccess")
	require.Len(t, checks, 2, "the required permissions, then those only optional steps need")
	assert.NotContains(t, checks[0].in.(activities.CheckAccessInput).Permissions, genesys.PermCallForwardingEdit)
	assert.Equal(t, []string{genesys.PermCallForwardingEdit, genesys.PermTokenDelete}, checks[1].in.(activities.CheckAccessInput).Permissions)
	assert.Equal(t, []activities.AccessStep{activities.StepForwarding}, f.callsOf("SnapshotAccess")[0].in.(activities.SnapshotAccessInput).Skip)
	assert.Equal(t, without(activities.RevokeSteps(), activities.StepForwarding), revokedSteps(f))
	s := f.status()
	assert.Equal(t, []activities.AccessStep{activities.StepForwarding}, s.SkippedSteps)
	warning := "warning: step forwarding skipped (optional by policy): the OAuth client lacks conversation:callForwarding:edit"
	assert.Contains(t, s.Notes, warning)
	assert.Contains(t, f.lastAudit().Notes, warning)
	assert.Equal(t, without(activities.RevokeSteps(), activities.StepForwarding), resultSteps(f.lastAudit().Access))
}

func Test_GivenRequiredStepWithoutPermission_ShouldFailInCheckingBeforeAnyChange(t *testing.T) {
	p := testPolicy()
	p.OptionalAccessSteps = []string{string(activities.StepTokens)}
	f := newFixture(t, p).forbidChanges().forbid("SnapshotUser", "SnapshotAccess", "ExportInteractions")
	f.checkAccess = lacking(genesys.PermGrantDelete, genesys.PermTokenDelete)

	_, err := f.run(deleteRequest())

	appErr := requireAppError(t, err, activities.ErrMissingPermissions)
	assert.True(t, appErr.NonRetryable())
	assert.Contains(t, err.Error(), genesys.PermGrantDelete, "the error names the missing permission")
	assert.NotContains(t, err.Error(), genesys.PermTokenDelete, "an optional step's permission is not what fails the run")
	assert.Equal(t, []string{"checking", "failed"}, f.stages)
	assert.Contains(t, f.lastAudit().Error, genesys.PermGrantDelete)
	assert.Empty(t, f.lastAudit().Access)
}

func Test_GivenPermissionDeniedWhileRevoking_ShouldSkipOnlyAnOptionalStep(t *testing.T) {
	denied := func(f *fixture, step activities.AccessStep) {
		ok := f.revokeAccess
		f.revokeAccess = func(in activities.AccessStepInput) (activities.StepResult, error) {
			if in.Step == step {
				return activities.StepResult{}, temporal.NewNonRetryableApplicationError(
					"the OAuth client lacks Genesys Cloud permission(s) telephony:station:disassociate",
					string(genesys.KindPermissionDenied), nil, []string{genesys.PermStationDisassociate})
			}
			return ok(in)
		}
		// The client could not read its own roles, so the preflight could not tell.
		f.checkAccess = func(in activities.CheckAccessInput) (activities.AccessReport, error) {
			return activities.AccessReport{Checked: in.Permissions, Note: "permissions not verified"}, nil
		}
	}
	t.Run("optional", func(t *testing.T) {
		p := testPolicy()
		p.OptionalAccessSteps = []string{string(activities.StepStation)}
		f := newFixture(t, p).forbid("DeleteUser", "RestoreAccess")
		denied(f, activities.StepStation)

		res, err := f.run(archiveRequest())

		require.NoError(t, err)
		assert.Equal(t, workflows.OutcomeArchived, res.Outcome)
		assert.Equal(t, []activities.AccessStep{activities.StepStation}, res.SkippedSteps)
		assert.Equal(t, without(activities.RevokeSteps(), activities.StepStation), resultSteps(res.Access))
		assert.Contains(t, strings.Join(f.lastAudit().Notes, "\n"), "warning: step station skipped (optional by policy)")
	})
	t.Run("required", func(t *testing.T) {
		f := newFixture(t, testPolicy()).forbid("DeleteUser", "RestoreAccess", "ExportInteractions")
		denied(f, activities.StepStation)

		_, err := f.run(archiveRequest())

		requireAppError(t, err, string(genesys.KindPermissionDenied))
		assert.Equal(t, []activities.AccessStep{activities.StepOffQueue, activities.StepQueues, activities.StepForwarding, activities.StepStation}, revokedSteps(f))
		assert.Equal(t, []activities.AccessStep{activities.StepOffQueue, activities.StepQueues, activities.StepForwarding}, resultSteps(f.lastAudit().Access))
	})
}

func Test_GivenStepThatFails_ShouldFailTheRunAndNeverReportItDone(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		wantType string
	}{
		{"non-retryable", temporal.NewNonRetryableApplicationError("user is already deleted", activities.ErrUnexpectedState, nil), activities.ErrUnexpectedState},
		{"never verified", temporal.NewApplicationError("grants still read back after removal", activities.ErrNotYetConsistent), activities.ErrNotYetConsistent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testPolicy()).forbid("DeleteUser", "RestoreAccess", "ExportInteractions")
			ok := f.revokeAccess
			f.revokeAccess = func(in activities.AccessStepInput) (activities.StepResult, error) {
				if in.Step == activities.StepGrants {
					return activities.StepResult{}, tc.err
				}
				return ok(in)
			}

			res, err := f.run(deleteRequest())

			requireAppError(t, err, tc.wantType)
			done := []activities.AccessStep{activities.StepOffQueue, activities.StepQueues, activities.StepForwarding, activities.StepStation}
			assert.Equal(t, done, resultSteps(f.lastAudit().Access), "the failed step is not reported done")
			assert.Equal(t, done, resultSteps(f.status().Access))
			assert.NotContains(t, revokedSteps(f), activities.StepState, "no step runs after the failed one")
			assert.Equal(t, "failed", f.lastAudit().Outcome)
			assert.True(t, f.lastAudit().AccessEndedAt.IsZero(), "access has not ended")
			assert.Contains(t, strings.Join(f.lastAudit().Notes, "\n"), "step grants failed and is not done")
			assert.Equal(t, []string{"checking", "revoking", "failed"}, f.stages)
			assert.NotContains(t, res.Summary, "access ended")
			if tc.name == "never verified" {
				assert.Greater(t, len(slices.DeleteFunc(revokedSteps(f), func(s activities.AccessStep) bool { return s != activities.StepGrants })), 3,
					"a step not yet consistent is retried")
			}
		})
	}
}

func Test_GivenRequestReasonAndHandOverPolicy_ShouldPassThemToEachStep(t *testing.T) {
	for reason, want := range map[string]string{" voluntary ": genesys.ReasonVoluntary, "Conduct": genesys.ReasonConduct, "left the company": genesys.ReasonUnknown, "": genesys.ReasonUnknown} {
		t.Run(reason, func(t *testing.T) {
			p := testPolicy()
			p.HandOverReports = true
			f := newFixture(t, p).forbid("DeleteUser", "RestoreAccess")
			req := archiveRequest()
			req.Reason = reason

			_, err := f.run(req)

			require.NoError(t, err)
			for _, c := range f.callsOf("RevokeAccess") {
				in := c.in.(activities.AccessStepInput)
				assert.Equal(t, want, in.Reason)
				assert.True(t, in.HandOverReports)
			}
			assert.Equal(t, reason, f.lastAudit().Reason, "the audit record keeps the request's own words")
		})
	}
}

func Test_GivenTemporalCancellationWhileRevoking_ShouldRestoreWhatWasBegun(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("DeleteUser", "ExportInteractions")
	f.revokeDelay = time.Minute
	f.at(3*time.Minute+30*time.Second, func() { f.env.CancelWorkflow() })

	_, err := f.run(deleteRequest())

	require.Error(t, err)
	assert.True(t, temporal.IsCanceledError(err), "got %v", err)
	var restored []activities.AccessStep
	for _, c := range f.callsOf("RestoreAccess") {
		restored = append(restored, c.in.(activities.AccessStepInput).Step)
	}
	assert.Equal(t, []activities.AccessStep{activities.StepStation, activities.StepForwarding, activities.StepQueues, activities.StepOffQueue}, restored,
		"the steps done and the one interrupted, in reverse order")
	assert.Equal(t, "cancelled", f.lastAudit().Outcome)
}

func Test_GivenDryRun_ShouldListEveryStepWithTheStateBeforeIt(t *testing.T) {
	f := newFixture(t, testPolicy()).forbidChanges().forbid("ExportInteractions", "VerifyOutcome")
	req := archiveRequest()
	req.DryRun = true

	res, err := f.run(req)

	require.NoError(t, err)
	require.Len(t, f.callsOf("SnapshotAccess"), 1)
	plan := strings.Join(res.WouldHappen, "\n")
	for _, want := range []string{
		"off-queue: set routing status from IDLE to OFF_QUEUE",
		"queues: leave 1 queue(s): Sales; 1 membership(s) through a group stay",
		"forwarding: turn call forwarding off (it is on)",
		"station: disassociate station Desk 1 and clear default station Desk 1",
		"grants: remove 1 grant(s): Agent in Home",
		"state: set the user from active to inactive, reason Unknown",
		"tokens: revoke every token of the user",
		"reports: record 1 direct report(s); the policy does not hand them over",
		"report the 1 OAuth client(s) the user created (Ada's integration); they are left working",
	} {
		assert.Contains(t, plan, want)
	}
	steps := 0
	for _, line := range res.WouldHappen {
		for _, s := range activities.RevokeSteps() {
			if strings.HasPrefix(line, string(s)+": ") {
				steps++
			}
		}
	}
	assert.Equal(t, len(activities.RevokeSteps()), steps, "one line per step")
	assert.Empty(t, res.Access, "nothing was revoked")
	assert.True(t, res.AccessEndedAt.IsZero())
}

func Test_GivenRestoreStepThatFails_ShouldTryTheOthersAndFailTheCancel(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("DeleteUser")
	ok := f.restoreAccess
	f.restoreAccess = func(in activities.AccessStepInput) (activities.StepResult, error) {
		if in.Step == activities.StepGrants {
			return activities.StepResult{}, temporal.NewNonRetryableApplicationError("the OAuth client lacks authorization:grant:add",
				string(genesys.KindPermissionDenied), nil)
		}
		return ok(in)
	}
	f.at(time.Hour, func() { f.update(workflows.UpdateCancel, workflows.ControlInput{By: "hr-ops", Reason: "rehired"}) })

	_, err := f.run(deleteRequest())

	requireAppError(t, err, string(genesys.KindPermissionDenied))
	assert.Len(t, f.callsOf("RestoreAccess"), len(activities.RestoreSteps()), "every step is tried")
	assert.Equal(t, without(activities.RestoreSteps(), activities.StepGrants), resultSteps(f.lastAudit().Restored))
	s := f.status()
	assert.Contains(t, s.NotRestored, "grants: the OAuth client lacks authorization:grant:add")
	assert.Equal(t, "failed", f.lastAudit().Outcome)
	assert.Contains(t, s.Summary, "restored to active (2 not restored)", "the state step was restored, so the summary says so")
	assert.Contains(t, f.lastAudit().Transitions[len(f.lastAudit().Transitions)-1].Detail, "; grants: the OAuth client lacks authorization:grant:add")
	assert.NotContains(t, f.lastAudit().Transitions[len(f.lastAudit().Transitions)-1].Detail, "add: the OAuth", "the cause is named once")
}

// A cancel accepted while the run verifies wins over an outcome that left the user inactive, and
// once the user is restored nothing the run shows still says they are inactive.
func Test_GivenCancelWhileVerifying_ShouldRestoreAndNeverShowTheUserInactive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		legacy bool
		reject bool
	}{{"archived", false, false}, {"archived legacy", true, false}, {"rejected", false, true}, {"rejected legacy", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testPolicy())
			f.verifyDelay = time.Hour
			if tc.legacy {
				f.legacy()
			}
			req := archiveRequest()
			if tc.reject {
				req = deleteRequest()
				f.at(time.Minute, func() { f.update(workflows.UpdateReject, decide("alice")) })
			}
			var cancel *updateResult
			f.at(30*time.Minute, func() {
				cancel = f.update(workflows.UpdateCancel, workflows.ControlInput{By: "hr-ops", Reason: "rehired"})
			})

			res, err := f.run(req)

			require.NoError(t, err)
			require.NoError(t, cancel.rejected, "the cancel is accepted while verifying")
			st := f.status()
			assert.Equal(t, workflows.OutcomeCancelled, res.Outcome)
			assert.Contains(t, res.Summary, "restored to active")
			assert.NotContains(t, res.Summary, "inactive")
			assert.NotContains(t, st.History[len(st.History)-1].Detail, "inactive")
			assert.Nil(t, st.Verification, "the verification of the inactive user no longer holds")
			assert.Nil(t, f.lastAudit().Verification)
			assert.Contains(t, strings.Join(f.lastAudit().Notes, "\n"), "verified inactive with 1,234 conversations at 2026-11-02")
		})
	}
}
