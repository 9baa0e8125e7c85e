package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/workflows"
)

func Test_GivenCancelBeforeArchiving_ShouldChangeNothing(t *testing.T) {
	for _, via := range []string{"update", "signal"} {
		t.Run(via, func(t *testing.T) {
			f := newFixture(t, testPolicy()).forbidChanges().forbid("ExportInteractions")
			req := deleteRequest()
			req.EffectiveAt = start.Add(7 * day)
			in := workflows.ControlInput{By: "hr-workday", Reason: "rehired"}
			f.at(day, func() {
				if via == "update" {
					f.update(workflows.UpdateCancel, in)
				} else {
					f.signal(workflows.UpdateCancel, in)
				}
			})

			res, err := f.run(req)

			require.NoError(t, err)
			assert.Equal(t, workflows.OutcomeCancelled, res.Outcome)
			assert.Equal(t, []string{"checking", "scheduled", "cancelled"}, f.stages)
			audit := f.lastAudit()
			assert.Equal(t, "cancelled", audit.Outcome)
			assert.Contains(t, audit.Transitions[len(audit.Transitions)-1].Detail, "cancelled by hr-workday: rehired; nothing was changed")
		})
	}
}

func Test_GivenCancelDuringRetention_ShouldRestoreEveryStepInReverseOrder(t *testing.T) {
	for _, via := range []string{"update", "signal"} {
		t.Run(via, func(t *testing.T) {
			f := newFixture(t, testPolicy()).forbid("DeleteUser")
			f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
			in := workflows.ControlInput{By: "hr-workday", Reason: "rehired"}
			f.at(5*day, func() {
				if via == "update" {
					f.update(workflows.UpdateCancel, in)
				} else {
					f.signal(workflows.UpdateCancel, in)
				}
			})

			res, err := f.run(deleteRequest())

			require.NoError(t, err)
			assert.Equal(t, workflows.OutcomeCancelled, res.Outcome)
			restores := f.callsOf("RestoreAccess")
			require.Len(t, restores, len(activities.RestoreSteps()))
			for i, step := range activities.RestoreSteps() {
				in := restores[i].in.(activities.AccessStepInput)
				assert.Equal(t, step, in.Step, "restore %d runs in reverse order", i)
				assert.Equal(t, testAccess(userID), in.Snapshot)
				assert.Equal(t, start.Add(5*day), restores[i].at)
			}
			audit := f.lastAudit()
			assert.Equal(t, "cancelled", audit.Outcome)
			assert.Len(t, audit.Restored, len(activities.RestoreSteps()))
			last := audit.Transitions[len(audit.Transitions)-1].Detail
			assert.Contains(t, last, "cancelled by hr-workday: rehired; restored to active (reports, tokens, state, grants, station, forwarding, queues, off-queue)")
			assert.Contains(t, last, "not restored: tokens: revoked tokens cannot be given back")
			s := f.status()
			assert.False(t, s.Deactivated)
			assert.Equal(t, []string{"tokens: revoked tokens cannot be given back; the user signs in again"}, s.NotRestored)
			assert.Equal(t, "cancelled: restored to active (1 not restored); export 1,234 conversations verified", res.Summary, "the summary says the restored state, not inactive")
		})
	}
}

func Test_GivenLegacyRunCancelledDuringRetention_ShouldRestoreUserToSnapshotState(t *testing.T) {
	f := newFixture(t, testPolicy()).legacy().forbid("DeleteUser")
	f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
	f.at(5*day, func() { f.update(workflows.UpdateCancel, workflows.ControlInput{By: "hr-workday", Reason: "rehired"}) })

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeCancelled, res.Outcome)
	restores := f.callsOf("RestoreUser")
	require.Len(t, restores, 1)
	assert.Equal(t, activities.RestoreInput{UserID: userID, State: genesys.StateActive}, restores[0].in)
	assert.Equal(t, start.Add(5*day), restores[0].at)
	assert.Equal(t, "cancelled", f.lastAudit().Outcome)
	assert.False(t, f.status().Deactivated)
	assert.Equal(t, "cancelled: restored to active; export 1,234 conversations verified", res.Summary)
}

func Test_GivenCancelDuringExport_ShouldStopExportAndRestore(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("DeleteUser", "VerifyOutcome")
	f.exportDelay = 5 * time.Hour
	f.at(time.Hour, func() { f.update(workflows.UpdateCancel, workflows.ControlInput{By: "hr-ops"}) })

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeCancelled, res.Outcome)
	require.Len(t, f.callsOf("RestoreAccess"), len(activities.RestoreSteps()))
	assert.Equal(t, start.Add(time.Hour), f.callsOf("RestoreAccess")[0].at, "the export is cancelled, not awaited")
	assert.Nil(t, res.Export)
}

func Test_GivenCancelAfterDeletingStarted_ShouldRejectCancel(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("RestoreAccess")
	f.deleteDelay = 10 * time.Minute
	f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
	var cancel *updateResult
	f.at(30*day+5*time.Minute, func() {
		cancel = f.update(workflows.UpdateCancel, workflows.ControlInput{By: "hr-ops"})
		f.signal(workflows.UpdateCancel, workflows.ControlInput{By: "hr-ops"})
	})

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeDeleted, res.Outcome)
	require.NotNil(t, cancel)
	require.Error(t, cancel.rejected)
	assert.Contains(t, cancel.rejected.Error(), "deletion has started")
	ig := f.lastAudit().Ignored
	require.NotNil(t, ig)
	require.Len(t, ig.Last, 1)
	assert.Equal(t, "cancel", ig.Last[0].Message)
	assert.Contains(t, ig.Last[0].Detail, "deletion has started")
}

func Test_GivenLegalHold_ShouldPauseDeletionUntilRelease(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("RestoreAccess")
	f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
	f.at(10*day, func() { f.update(workflows.UpdateHold, workflows.ControlInput{By: "legal", Reason: "case 42"}) })
	f.at(45*day, func() {
		s := f.status()
		assert.True(t, s.OnHold)
		assert.Equal(t, workflows.StageRetention, s.Stage)
		assert.Contains(t, s.Summary, "on legal hold")
		assert.Empty(t, f.callsOf("DeleteUser"), "nothing is deleted while on hold")
	})
	var second *updateResult
	f.at(46*day, func() { second = f.update(workflows.UpdateHold, workflows.ControlInput{By: "legal"}) })
	f.at(50*day, func() { f.signal(workflows.UpdateRelease, workflows.ControlInput{By: "legal"}) })

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeDeleted, res.Outcome)
	assert.Equal(t, start.Add(70*day), f.callsOf("DeleteUser")[0].at, "20 days remained at the hold and resume at release")
	assert.Equal(t, []time.Time{start.Add(30 * day), start.Add(70 * day)}, f.retentionSA)
	require.Error(t, second.rejected)
	assert.Contains(t, second.rejected.Error(), "already on legal hold")
}

func Test_GivenRetentionChange_ShouldMoveDeletionWithinPolicy(t *testing.T) {
	cases := []struct {
		name       string
		in         workflows.RetentionInput
		wantDelete time.Duration
		wantReject string
	}{
		{name: "extend", in: workflows.RetentionInput{Until: start.Add(45 * day), By: "legal"}, wantDelete: 45 * day},
		{name: "shorten with approver", in: workflows.RetentionInput{Until: start.Add(10 * day), By: "hr-ops", Approver: "bob"}, wantDelete: 10 * day},
		{name: "shorten without approver", in: workflows.RetentionInput{Until: start.Add(10 * day), By: "hr-ops"}, wantDelete: 30 * day, wantReject: "needs an approver"},
		{name: "shorten approved by requester", in: workflows.RetentionInput{Until: start.Add(10 * day), By: "hr-ops", Approver: requester}, wantDelete: 30 * day, wantReject: "may not decide"},
		{name: "shorten below minimum", in: workflows.RetentionInput{Until: start.Add(3 * day), By: "hr-ops", Approver: "bob"}, wantDelete: 30 * day, wantReject: "outside the policy's range"},
		{name: "extend beyond maximum", in: workflows.RetentionInput{Until: start.Add(500 * day), By: "legal"}, wantDelete: 30 * day, wantReject: "outside the policy's range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testPolicy()).forbid("RestoreAccess")
			f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
			var res *updateResult
			f.at(2*day, func() { res = f.update(workflows.UpdateExtendRetention, tc.in) })

			out, err := f.run(deleteRequest())

			require.NoError(t, err)
			assert.Equal(t, workflows.OutcomeDeleted, out.Outcome)
			assert.Equal(t, start.Add(tc.wantDelete), f.callsOf("DeleteUser")[0].at)
			if tc.wantReject != "" {
				require.Error(t, res.rejected)
				assert.Contains(t, res.rejected.Error(), tc.wantReject)
				assert.Equal(t, []time.Time{start.Add(30 * day)}, f.retentionSA)
			} else {
				require.NoError(t, res.rejected)
				assert.Equal(t, []time.Time{start.Add(30 * day), start.Add(tc.wantDelete)}, f.retentionSA)
			}
		})
	}
}
