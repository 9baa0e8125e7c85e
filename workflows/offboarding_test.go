package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

func Test_GivenArchiveRequest_ShouldRevokeExportVerifyAndArchive(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("DeleteUser", "RestoreAccess", "CountInteractions")

	res, err := f.run(archiveRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeArchived, res.Outcome)
	assert.Equal(t, []string{"checking", "revoking", "exporting", "verifying", "archived"}, f.stages)
	perms := f.callsOf("CheckAccess")[0].in.(activities.CheckAccessInput).Permissions
	assert.ElementsMatch(t, allPermissions(genesys.PermUserEdit, genesys.PermConversationDetail), perms)
	assert.Contains(t, perms, genesys.PermGrantAdd, "a cancel or rehire gives the grants back, so the run needs that too")
	assert.Equal(t, activities.SnapshotAccessInput{UserID: userID}, f.callsOf("SnapshotAccess")[0].in)
	revokes := f.callsOf("RevokeAccess")
	require.Len(t, revokes, len(activities.RevokeSteps()))
	for i, step := range activities.RevokeSteps() {
		in := revokes[i].in.(activities.AccessStepInput)
		assert.Equal(t, step, in.Step, "step %d runs in order", i)
		assert.Equal(t, testAccess(userID), in.Snapshot)
		assert.Equal(t, genesys.ReasonUnknown, in.Reason, "a free-text reason is Unknown to Genesys")
		assert.False(t, in.HandOverReports, "the default policy does not hand reports over")
	}
	exp := f.callsOf("ExportInteractions")[0].in.(activities.ExportInput)
	assert.Equal(t, userID+"/"+testRunID, exp.Bundle)
	assert.Equal(t, start.Add(-workflows.DefaultPolicy().ExportLookback), exp.Window.Start)
	assert.Equal(t, start, exp.Window.End, "the window ends when access ended")
	assert.Equal(t, testPolicy().ExportWindow, exp.WindowSize)
	require.NotNil(t, exp.Access, "the access snapshot goes to the bundle")
	assert.Equal(t, testAccess(userID), *exp.Access)
	ver := f.callsOf("VerifyOutcome")[0].in.(activities.VerifyInput)
	assert.Equal(t, genesys.StateInactive, ver.ExpectedState)
	assert.Equal(t, 1234, ver.ManifestCount)
	audit := f.lastAudit()
	assert.Equal(t, "archived", audit.Outcome)
	assert.Equal(t, requester, audit.RequestedBy)
	assert.Len(t, audit.Transitions, 5+len(activities.RevokeSteps()), "a transition per stage and an event per step")
	require.Len(t, audit.Access, len(activities.RevokeSteps()), "the audit record lists each step")
	for i, r := range audit.Access {
		assert.Equal(t, activities.RevokeSteps()[i], r.Step)
		assert.JSONEq(t, `{"before":"`+string(r.Step)+`"}`, string(r.Before))
		assert.JSONEq(t, `{"after":"`+string(r.Step)+`"}`, string(r.After))
	}
	assert.Equal(t, start, audit.AccessEndedAt)
	assert.Equal(t, testAccess(userID).OAuthClients, audit.OAuthClients)
	require.NotEmpty(t, f.notifications)
	assert.Equal(t, testAccess(userID).OAuthClients, f.notifications[len(f.notifications)-1].OAuthClients)
	require.NotNil(t, res.Audit)
	assert.Equal(t, start, res.AccessEndedAt)
	assert.True(t, f.status().Deactivated)
	assert.Equal(t, "archived: access ended 2026-11-02 09:00 UTC; export 1,234 conversations verified", res.Summary)
	assert.Equal(t, map[string]string{workflows.SAGenesysUserID: userID, workflows.SADisposition: "archive", workflows.SARequestedBy: requester}, f.startSA)
}

// A run that reached checking before the revoking stage existed keeps the legacy archiving stage.
func Test_GivenRunBegunBeforeTheRevokingStage_ShouldDeactivateInTheArchivingStage(t *testing.T) {
	f := newFixture(t, testPolicy()).legacy().forbid("DeleteUser", "RestoreUser", "CountInteractions")

	res, err := f.run(archiveRequest())

	require.NoError(t, err)
	assert.Equal(t, []string{"checking", "archiving", "exporting", "verifying", "archived"}, f.stages)
	perms := f.callsOf("CheckAccess")[0].in.(activities.CheckAccessInput).Permissions
	assert.ElementsMatch(t, []string{genesys.PermUserEdit, genesys.PermConversationDetail}, perms)
	require.Len(t, f.callsOf("DeactivateUser"), 1)
	assert.Nil(t, f.callsOf("ExportInteractions")[0].in.(activities.ExportInput).Access)
	assert.Len(t, f.lastAudit().Transitions, 5)
	assert.Empty(t, f.lastAudit().Access)
	assert.Equal(t, "archived: deactivated; export 1,234 conversations verified", res.Summary)
}

func Test_GivenFutureEffectiveAt_ShouldDeactivateAtThatTimeNotAtPickup(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("DeleteUser", "RestoreAccess")
	req := archiveRequest()
	req.EffectiveAt = start.Add(3 * day)
	f.at(day, func() {
		s := f.status()
		assert.Equal(t, workflows.StageScheduled, s.Stage)
		assert.Contains(t, s.Summary, "access ends 2026-11-05 09:00 UTC")
	})

	res, err := f.run(req)

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeArchived, res.Outcome)
	assert.Equal(t, start.Add(3*day), f.callsOf("RevokeAccess")[0].at)
	assert.Equal(t, []string{"checking", "scheduled", "revoking", "exporting", "verifying", "archived"}, f.stages)
}

func Test_GivenDeleteWith30DayRetention_ShouldDeleteAfterApprovalAndRetention(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("RestoreAccess")
	var approval *updateResult
	f.at(time.Hour, func() {
		s := f.status()
		assert.Equal(t, workflows.StageAwaitingApproval, s.Stage)
		assert.Equal(t, "awaiting-approval: access ended 2026-11-02 09:00 UTC; export 1,234 conversations verified; waiting for 1 more approval until 2026-11-06 09:00 UTC", s.Summary)
		approval = f.update(workflows.UpdateApprove, decide("alice"))
	})
	f.at(10*day, func() {
		s := f.status()
		assert.Equal(t, workflows.StageRetention, s.Stage)
		assert.Equal(t, start.Add(30*day), s.RetentionUntil)
		assert.Contains(t, s.Summary, "retained until 2026-12-02 09:00 UTC")
	})

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	require.True(t, approval.completed)
	assert.NoError(t, approval.rejected)
	assert.Equal(t, workflows.OutcomeDeleted, res.Outcome)
	assert.Equal(t, []string{"checking", "revoking", "exporting", "awaiting-approval", "retention", "deleting", "verifying", "deleted"}, f.stages)
	assert.Equal(t, start.Add(30*day), f.callsOf("DeleteUser")[0].at, "deletion waits out the retention counted from the request")
	assert.Equal(t, []time.Time{start.Add(30 * day)}, f.retentionSA)
	assert.ElementsMatch(t, allPermissions(genesys.PermUserEdit, genesys.PermConversationDetail, genesys.PermUserDelete),
		f.callsOf("CheckAccess")[0].in.(activities.CheckAccessInput).Permissions)
	ver := f.callsOf("VerifyOutcome")[0].in.(activities.VerifyInput)
	assert.Equal(t, genesys.StateDeleted, ver.ExpectedState)
	assert.Equal(t, 1234, ver.ManifestCount)
	audit := f.lastAudit()
	assert.Equal(t, "deleted", audit.Outcome)
	require.Len(t, audit.Decisions, 1)
	assert.Equal(t, "alice", audit.Decisions[0].Approver)
	assert.Equal(t, "update", audit.Decisions[0].Via)
	assert.Equal(t, start.Add(30*day), res.RetentionUntil)
	require.NotNil(t, res.Verification)
	assert.True(t, res.Verification.Linked)
	events := make([]string, 0, len(f.notifications))
	for _, n := range f.notifications {
		events = append(events, n.Event)
	}
	assert.Equal(t, []string{"approval.requested", "offboarding.completed"}, events)
}

func Test_GivenFailureBeforeAnyChange_ShouldStopWithTypedErrorAndAudit(t *testing.T) {
	cases := []struct {
		name     string
		setup    func(f *fixture)
		wantType string
		wantMsg  string
	}{
		{
			name: "missing permission",
			setup: func(f *fixture) {
				f.checkAccess = func(activities.CheckAccessInput) (activities.AccessReport, error) {
					return activities.AccessReport{}, temporal.NewNonRetryableApplicationError(
						"the OAuth client lacks directory:user:delete", activities.ErrMissingPermissions, nil)
				}
				f.forbid("SnapshotUser")
			},
			wantType: activities.ErrMissingPermissions,
			wantMsg:  "directory:user:delete",
		},
		{
			name: "unknown user",
			setup: func(f *fixture) {
				f.snapshot = func(activities.SnapshotInput) (activities.UserSnapshot, error) {
					return activities.UserSnapshot{}, temporal.NewNonRetryableApplicationError("no user "+userID, activities.ErrUserNotFound, nil)
				}
			},
			wantType: activities.ErrUserNotFound,
			wantMsg:  "no user",
		},
		{
			name: "protected user reported by Genesys check",
			setup: func(f *fixture) {
				f.snapshot = func(activities.SnapshotInput) (activities.UserSnapshot, error) {
					return activities.UserSnapshot{}, temporal.NewNonRetryableApplicationError("user is protected", activities.ErrProtectedUser, nil)
				}
			},
			wantType: activities.ErrProtectedUser,
			wantMsg:  "protected",
		},
		{
			name: "user already deleted",
			setup: func(f *fixture) {
				f.snapshot = func(in activities.SnapshotInput) (activities.UserSnapshot, error) {
					return activities.UserSnapshot{User: genesys.User{ID: in.UserID, State: genesys.StateDeleted}}, nil
				}
			},
			wantType: activities.ErrUnexpectedState,
			wantMsg:  "already deleted",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testPolicy()).forbidChanges().forbid("ExportInteractions")
			tc.setup(f)

			_, err := f.run(deleteRequest())

			appErr := requireAppError(t, err, tc.wantType)
			assert.True(t, appErr.NonRetryable())
			assert.Contains(t, err.Error(), tc.wantMsg)
			assert.Equal(t, "failed", f.lastAudit().Outcome)
			assert.Contains(t, f.lastAudit().Error, tc.wantMsg)
			assert.Equal(t, []string{"checking", "failed"}, f.stages)
			assert.Equal(t, workflows.OutcomeFailed, f.status().Outcome)
		})
	}
}

func Test_GivenPolicyProtectedUser_ShouldRefuseBeforeCallingGenesys(t *testing.T) {
	p := testPolicy()
	p.ProtectedUserIDs = []string{strings.ToUpper(userID)}
	f := newFixture(t, p).forbidChanges().forbid("CheckAccess", "SnapshotUser", "ExportInteractions", "WriteAudit")

	_, err := f.run(deleteRequest())

	requireAppError(t, err, activities.ErrProtectedUser)
}

func Test_GivenRateLimited_ShouldRetryAfterTheRetryAfterDelay(t *testing.T) {
	const retryAfter = 90 * time.Second
	f := newFixture(t, testPolicy()).forbid("DeleteUser", "RestoreAccess")
	limited := true
	ok := f.revokeAccess
	f.revokeAccess = func(in activities.AccessStepInput) (activities.StepResult, error) {
		if limited && in.Step == activities.StepStation {
			limited = false
			return activities.StepResult{}, temporal.NewApplicationErrorWithOptions("disassociate station: HTTP 429 too.many.requests.retry.after",
				string(genesys.KindRateLimited), temporal.ApplicationErrorOptions{NextRetryDelay: retryAfter})
		}
		return ok(in)
	}

	res, err := f.run(archiveRequest())

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeArchived, res.Outcome)
	var calls []call
	for _, c := range f.callsOf("RevokeAccess") {
		if c.in.(activities.AccessStepInput).Step == activities.StepStation {
			calls = append(calls, c)
		}
	}
	require.Len(t, calls, 2)
	gap := calls[1].at.Sub(calls[0].at)
	assert.GreaterOrEqual(t, gap, retryAfter)
	assert.Less(t, gap, retryAfter+5*time.Second, "the retry follows Retry-After, not the 1 s initial backoff")
	assert.Len(t, res.Access, len(activities.RevokeSteps()))
}

func Test_GivenDryRun_ShouldChangeNothingAndReportWhatWouldHappen(t *testing.T) {
	cases := []struct {
		disposition workflows.Disposition
		want        workflows.Stage
	}{
		{workflows.DispositionArchive, workflows.OutcomeArchived},
		{workflows.DispositionDelete, workflows.OutcomeDeleted},
	}
	for _, tc := range cases {
		t.Run(string(tc.disposition), func(t *testing.T) {
			f := newFixture(t, testPolicy()).forbidChanges().forbid("ExportInteractions", "VerifyOutcome")
			req := deleteRequest()
			req.Disposition = tc.disposition
			if tc.disposition == workflows.DispositionArchive {
				req.Retention = nil
			}
			req.DryRun = true

			res, err := f.run(req)

			require.NoError(t, err)
			assert.True(t, res.DryRun)
			require.Len(t, f.callsOf("CountInteractions"), 1)
			assert.Contains(t, strings.Join(res.WouldHappen, "\n"), "export 1,234 conversations")
			assert.Equal(t, "dry-run: planned only, nothing changed; a real run would end "+string(tc.want), res.Summary)
			assert.True(t, f.lastAudit().DryRun)
			assert.Empty(t, f.retentionSA, "a dry run sets no retention")
			assert.Equal(t, res.WouldHappen, f.status().WouldHappen)
		})
	}
}

// A dry run ends in its own outcome, so that nothing polling a real outcome reads it as done;
// what a real run would have ended in stands beside it.
func Test_GivenDryRun_ShouldEndDryRunWithTheOutcomeARealRunWouldHave(t *testing.T) {
	for _, tc := range []struct {
		req  workflows.Request
		want workflows.Stage
	}{{archiveRequest(), workflows.OutcomeArchived}, {deleteRequest(), workflows.OutcomeDeleted}} {
		t.Run(string(tc.req.Disposition), func(t *testing.T) {
			f := newFixture(t, testPolicy()).forbidChanges().forbid("ExportInteractions", "VerifyOutcome")
			tc.req.DryRun = true

			res, err := f.run(tc.req)

			require.NoError(t, err)
			st := f.status()
			assert.Equal(t, workflows.OutcomeDryRun, res.Outcome)
			assert.Equal(t, workflows.OutcomeDryRun, st.Outcome)
			assert.True(t, workflows.OutcomeDryRun.Final())
			assert.Equal(t, tc.want, res.WouldEnd)
			assert.Equal(t, tc.want, st.WouldEnd)
			assert.Equal(t, "dry-run", f.lastAudit().Outcome)
			assert.Equal(t, string(tc.want), f.lastAudit().WouldEnd)
			assert.Equal(t, "dry-run", f.stages[len(f.stages)-1], "the OffboardingStage search attribute")
			assert.NotContains(t, f.stages, string(tc.want), "no real outcome in the search attribute")
			assert.Contains(t, res.Summary, "planned only, nothing changed; a real run would end "+string(tc.want))
			last := st.History[len(st.History)-1]
			assert.Equal(t, "dry-run", last.Stage)
			assert.Equal(t, "planned only, nothing changed: a real run would end "+string(tc.want), last.Detail)
			assert.True(t, strings.HasPrefix(workflows.StaticSummary(tc.req), "Dry run, planned only: "))
		})
	}
}

func Test_GivenAnyRun_ShouldKeepPIIOutOfSearchAttributesAndDetails(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("RestoreAccess")
	var summaries []string
	for _, d := range []time.Duration{time.Minute, time.Hour, 2 * time.Hour, 10 * day, 31 * day} {
		f.at(d, func() { summaries = append(summaries, f.status().Summary) })
	}
	f.at(90*time.Minute, func() { f.update(workflows.UpdateApprove, decide("alice")) })

	res, err := f.run(deleteRequest())

	require.NoError(t, err)
	summaries = append(summaries, res.Summary, workflows.StaticSummary(deleteRequest()))
	for _, s := range summaries {
		assert.NotContains(t, s, userName)
		assert.NotContains(t, s, userEmail)
	}
	assert.Equal(t, "delete Genesys user "+userID+", retention P30D", workflows.StaticSummary(deleteRequest()))
	assert.Len(t, f.stages, 8, "one stage upsert per transition")
}

func Test_GivenInvalidRequest_ShouldFailBeforeAnything(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*workflows.Request)
		want   string
	}{
		{"bad UUID", func(r *workflows.Request) { r.UserID = "not-a-uuid" }, "userId"},
		{"unknown disposition", func(r *workflows.Request) { r.Disposition = "erase" }, "disposition"},
		{"retention below minimum", func(r *workflows.Request) { r.Retention = new(workflows.Duration(time.Hour)) }, "retention"},
		{"retention above maximum", func(r *workflows.Request) { r.Retention = new(workflows.Duration(1000 * day)) }, "retention"},
		{"retention on archive", func(r *workflows.Request) { r.Disposition = workflows.DispositionArchive }, "applies only to disposition"},
		{"missing requester", func(r *workflows.Request) { r.RequestedBy = "" }, "requestedBy"},
		{"email as requester", func(r *workflows.Request) { r.RequestedBy = "boss@example.com" }, "email"},
		{"export window after access ends", func(r *workflows.Request) { r.ExportFrom = start.Add(day) }, "exportFrom"},
		{"forged resume state", func(r *workflows.Request) { r.Resume = &workflows.State{Stage: workflows.StageRetention} }, "resume"},
		{"no start credential", func(r *workflows.Request) { r.Credential = "" }, "no start credential"},
		{"a request changed after signing", func(r *workflows.Request) { r.Disposition = workflows.DispositionArchive; r.Retention = nil }, "another request"},
		{"a requester the credential does not prove", func(r *workflows.Request) {
			r.RequestedBy = "alice"
			tok, err := testSigner.Issue(credential.Claims{Identity: "alice", Role: credential.RoleApprover, Action: credential.ActionStart,
				WorkflowID: workflows.WorkflowID(userID), Request: workflows.RequestDigest(*r), IssuedAt: start, ExpiresAt: start.Add(time.Minute)})
			if err == nil {
				r.Credential = tok
			}
		}, "not a start by role hr"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testPolicy()).forbidChanges().forbid("CheckAccess", "SnapshotUser", "ExportInteractions", "WriteAudit", "Notify")
			req := deleteRequest()
			req.Credential = f.startCredential(req)
			tc.mutate(&req)
			f.unsignedStart = true
			if !workflows.IsUUID(req.UserID) {
				f.env.SetStartWorkflowOptions(clientOptions(workflows.WorkflowID(req.UserID)))
			}

			_, err := f.run(req)

			appErr := requireAppError(t, err, workflows.ErrInvalidRequest)
			assert.True(t, appErr.NonRetryable())
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func Test_GivenWorkflowIDForAnotherUser_ShouldFail(t *testing.T) {
	f := newFixture(t, testPolicy()).forbidChanges().forbid("CheckAccess")
	f.env.SetStartWorkflowOptions(clientOptions(workflows.WorkflowID("00000000-0000-0000-0000-000000000000")))

	_, err := f.run(deleteRequest())

	requireAppError(t, err, workflows.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "workflow ID")
}

func Test_GivenInvalidPolicy_ShouldFailWithInvalidPolicy(t *testing.T) {
	p := testPolicy()
	p.ApprovalsRequired = 0
	f := newFixture(t, p).forbidChanges().forbid("CheckAccess")

	_, err := f.run(deleteRequest())

	requireAppError(t, err, workflows.ErrInvalidPolicy)
	assert.Contains(t, err.Error(), "approvalsRequired")
}

func Test_GivenVerificationMismatch_ShouldFailWithHistoryNotLinked(t *testing.T) {
	f := newFixture(t, testPolicy()).forbid("DeleteUser", "RestoreAccess")
	f.verify = func(in activities.VerifyInput) (activities.Verification, error) {
		return activities.Verification{State: genesys.StateInactive, Count: 1000, ManifestCount: in.ManifestCount}, nil
	}

	_, err := f.run(archiveRequest())

	requireAppError(t, err, workflows.ErrNotLinked)
	assert.Equal(t, "failed", f.lastAudit().Outcome)
	assert.Contains(t, f.lastAudit().Error, "1000 conversations")
}

func Test_GivenContinueAsNew_ShouldCarryStateIntoTheNextRun(t *testing.T) {
	p := testPolicy()
	p.ApprovalsRequired = 2
	first := newFixture(t, p).forbid("DeleteUser", "RestoreAccess", "WriteAudit")
	first.at(time.Hour, func() { first.update(workflows.UpdateApprove, decide("alice")) })
	first.at(2*time.Hour, func() { first.signal(workflows.UpdateApprove, decide("mallory")) })
	first.at(3*time.Hour, func() { first.env.SetContinueAsNewSuggested(true) })

	_, err := first.run(deleteRequest())

	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	assert.Equal(t, workflows.WorkflowType, can.WorkflowType.Name)
	var next workflows.Request
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	carried := next.Resume
	require.NotNil(t, carried)
	assert.Equal(t, workflows.StageAwaitingApproval, carried.Stage)
	assert.Equal(t, 2, carried.Policy.ApprovalsRequired)
	require.Len(t, carried.Decisions, 1)
	assert.Equal(t, "alice", carried.Decisions[0].Approver)
	require.NotNil(t, carried.Export)
	assert.Equal(t, 1234, carried.Export.Conversations)
	require.NotNil(t, carried.Snapshot)
	assert.Equal(t, start.Add(4*day), carried.ApprovalDeadline)
	assert.Equal(t, start.Add(30*day), carried.RetentionUntil)
	assert.True(t, carried.Deactivated)
	require.NotNil(t, carried.Access, "the access snapshot is carried for restore")
	assert.Len(t, carried.Revoked, len(activities.RevokeSteps()))
	assert.Equal(t, start, carried.AccessEndedAt)
	require.NotNil(t, carried.Ignored, "the ignored signal is carried")
	require.Len(t, carried.Ignored.Last, 1)
	assert.Equal(t, "mallory", carried.Ignored.Last[0].Sender)
	require.Len(t, carried.Spent, 1, "spent credentials are carried until they expire: alice's has, mallory's has not")
	assert.True(t, carried.Spent[0].Expires.After(start.Add(2*time.Hour)))

	// The next run: a worker whose policy now needs one approval still honours the recorded two.
	second := newFixture(t, testPolicy()).forbid("CheckAccess", "SnapshotUser", "SnapshotAccess", "RevokeAccess", "ExportInteractions", "RestoreAccess")
	second.env.SetStartTime(first.env.Now())
	second.env.SetContinuedExecutionRunID(testRunID)
	second.at(time.Hour, func() {
		s := second.status()
		assert.Equal(t, workflows.StageAwaitingApproval, s.Stage)
		assert.Contains(t, s.Summary, "waiting for 1 more approval")
		second.update(workflows.UpdateApprove, decide("bob"))
	})

	res, err := second.run(next)

	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeDeleted, res.Outcome)
	assert.Equal(t, start.Add(30*day), second.callsOf("DeleteUser")[0].at)
	audit := second.lastAudit()
	assert.Equal(t, userID+"/"+testRunID, audit.Bundle, "the bundle keeps the first run's ID")
	require.Len(t, audit.Decisions, 2)
	assert.Equal(t, "checking", audit.Transitions[0].Stage, "the history spans both runs")
	assert.Equal(t, 1234, res.Export.Conversations)
}

func Test_GivenTemporalCancellation_ShouldRestoreAndAudit(t *testing.T) {
	for _, at := range []time.Duration{day, 5 * day} {
		t.Run(workflows.Duration(at).String(), func(t *testing.T) {
			f := newFixture(t, testPolicy()).forbid("DeleteUser")
			if at > day { // approved, so cancelled in retention; otherwise while awaiting approval
				f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
			}
			f.at(at, func() { f.env.CancelWorkflow() })

			_, err := f.run(deleteRequest())

			require.Error(t, err)
			assert.True(t, temporal.IsCanceledError(err), "got %v", err)
			require.Len(t, f.callsOf("RestoreAccess"), len(activities.RestoreSteps()))
			assert.Equal(t, start.Add(at), f.callsOf("RestoreAccess")[0].at)
			assert.Equal(t, "cancelled", f.lastAudit().Outcome)
		})
	}
}

// BenchmarkDeleteRun measures one whole delete run, approval and retention included, in the
// test environment: the workflow's own CPU and allocation cost per offboarding.
func BenchmarkDeleteRun(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		f := newFixture(b, testPolicy())
		f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
		res, err := f.run(deleteRequest())
		if err != nil || res.Outcome != workflows.OutcomeDeleted {
			b.Fatalf("outcome %s, error %v", res.Outcome, err)
		}
	}
}
