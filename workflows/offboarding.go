package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
)

// maxEventsPerRun bounds the history of one run while it waits in awaiting-approval or
// retention; past it, the run continues as new even if the server has not suggested it yet.
const maxEventsPerRun = 10_000

// errContinueAsNew tells run that a wait stage wants to continue as new.
var errContinueAsNew = errors.New("continue as new")

// acts names the activities; only its methods' names are used, never the nil receiver.
var acts *activities.Activities

// Workflows holds the worker's policy. Register it with Register so that its Offboarding
// method runs under the type name WorkflowType.
type Workflows struct {
	Policy Policy
}

// Registry is the part of worker.Worker (and the test environment) that Register needs.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Register registers the Offboarding workflow under WorkflowType.
func (w *Workflows) Register(r Registry) {
	r.RegisterWorkflowWithOptions(w.Offboarding, workflow.RegisterOptions{Name: WorkflowType})
}

// Offboarding takes one Genesys user out of service as DESIGN.md describes: checking,
// scheduled, archiving, exporting, awaiting-approval, retention, deleting, verifying, then an
// outcome. It writes the audit record whatever the outcome, except for a request that fails
// validation, which changes nothing and may not even name a valid user. Failures return a
// non-retryable *temporal.ApplicationError whose type is the cause's (activities.Err*,
// genesys.Kind*) or one of this package's Err* types.
func (w *Workflows) Offboarding(ctx workflow.Context, req Request) (Result, error) {
	// 1. Initialise state. The policy is recorded in history (or carried over), so that a
	// worker's configuration change never alters a run that has started.
	r := &run{req: req}
	if req.Resume != nil {
		st := *req.Resume
		st.Runs++
		r.st = &st
		r.req.Resume = nil
	} else {
		var p Policy
		if err := workflow.SideEffect(ctx, func(workflow.Context) any { return w.Policy }).Get(&p); err != nil {
			return Result{}, fmt.Errorf("record the policy: %w", err)
		}
		r.st = r.initialState(ctx, p)
	}
	r.logger = log.With(workflow.GetLogger(ctx), "userId", req.UserID, "disposition", string(req.Disposition))

	// 2. Register queries.
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return r.status(), nil }); err != nil {
		return Result{}, fmt.Errorf("register the %s query: %w", QueryStatus, err)
	}

	// 3. Validate input.
	if err := r.validate(ctx, req.Resume != nil); err != nil {
		r.st.Stage = OutcomeFailed
		r.upsert(ctx, KeyStage.ValueSet(string(OutcomeFailed)))
		r.st.History = append(r.st.History, activities.Transition{Stage: string(OutcomeFailed), At: now(ctx), Detail: err.Error()})
		return Result{}, err
	}

	// 4. Register updates and signals.
	if err := r.registerMessages(ctx); err != nil {
		return Result{}, err
	}

	// 5. Behaviour.
	return r.run(ctx)
}

// run is one run of an offboarding: the request, its state and what only this run needs.
type run struct {
	req    Request
	st     *Carried
	logger log.Logger
	// version changes whenever a message changes the state, waking the waits.
	version     int
	wouldHappen []string
	audit       *activities.AuditRef
	drains      []drain
}

func now(ctx workflow.Context) time.Time { return workflow.Now(ctx).UTC() }

func (r *run) initialState(ctx workflow.Context, p Policy) *Carried {
	info := workflow.GetInfo(ctx)
	requestedAt := r.req.RequestedAt.UTC()
	if requestedAt.IsZero() {
		requestedAt = info.WorkflowStartTime.UTC()
	}
	firstRun := info.FirstRunID
	if firstRun == "" {
		firstRun = info.WorkflowExecution.RunID
	}
	return &Carried{
		Policy:      p,
		Runs:        1,
		FirstRunID:  firstRun,
		Bundle:      r.req.UserID + "/" + firstRun,
		RequestedAt: requestedAt,
		AccessEndAt: accessEndAt(r.req, requestedAt),
	}
}

// validate checks the policy, the request and the workflow ID, failing non-retryably.
func (r *run) validate(ctx workflow.Context, resumed bool) error {
	info := workflow.GetInfo(ctx)
	if resumed {
		if info.ContinuedExecutionRunID == "" {
			return temporal.NewNonRetryableApplicationError(
				"invalid request: resume is set only by the workflow itself when it continues as new; start without it",
				ErrInvalidRequest, nil)
		}
		return nil
	}
	if err := r.st.Policy.Validate(); err != nil {
		return temporal.NewNonRetryableApplicationError("the worker's offboarding policy is invalid; fix the worker configuration: "+err.Error(),
			ErrInvalidPolicy, nil, errorFields(err))
	}
	if err := ValidateRequest(r.req, r.st.Policy, now(ctx)); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidRequest, nil, errorFields(err))
	}
	if want := WorkflowID(r.req.UserID); info.WorkflowExecution.ID != want {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invalid request: the workflow ID is %q but must be %q, so that a user has one offboarding at a time", info.WorkflowExecution.ID, want),
			ErrInvalidRequest, nil)
	}
	if slices.Contains(r.st.Policy.ProtectedUserIDs, r.req.UserID) || slices.ContainsFunc(r.st.Policy.ProtectedUserIDs, func(id string) bool {
		return strings.EqualFold(id, r.req.UserID)
	}) {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("user %s is protected by the offboarding policy and is never offboarded", r.req.UserID),
			activities.ErrProtectedUser, nil)
	}
	if r.req.Disposition == DispositionDelete {
		r.st.RetentionUntil = r.st.AccessEndAt.Add(effectiveRetention(r.req, r.st.Policy))
	}
	return nil
}

// run drives the stages to an outcome, then finishes or continues as new.
func (r *run) run(ctx workflow.Context) (Result, error) {
	attrs := []temporal.SearchAttributeUpdate{
		KeyGenesysUserID.ValueSet(r.req.UserID),
		KeyDisposition.ValueSet(string(r.req.Disposition)),
		KeyRequestedBy.ValueSet(r.req.RequestedBy),
	}
	if !r.st.RetentionUntil.IsZero() && !r.req.DryRun {
		attrs = append(attrs, KeyRetentionUntil.ValueSet(r.st.RetentionUntil))
	}
	r.upsert(ctx, attrs...)
	if r.st.Stage == "" {
		r.transition(ctx, StageChecking, "checking permissions and the user")
	} else {
		r.upsert(ctx, KeyStage.ValueSet(string(r.st.Stage)))
		r.refreshDetails(ctx)
	}
	outcome, detail, err := r.execute(ctx)
	if errors.Is(err, errContinueAsNew) {
		return r.continueAsNew(ctx)
	}
	return r.finish(ctx, outcome, detail, err)
}

// execute runs stage after stage. A stage function returns the next stage, or its own stage
// when it only waited and wants to be called again, or an outcome.
func (r *run) execute(ctx workflow.Context) (Stage, string, error) {
	for {
		if ctx.Err() != nil && !r.irreversible() {
			return OutcomeCancelled, "cancellation requested through Temporal", ctx.Err()
		}
		if r.st.Cancel != nil {
			return OutcomeCancelled, r.cancelDetail(), nil
		}
		var (
			next   Stage
			detail string
			err    error
		)
		switch r.st.Stage {
		case StageChecking:
			next, detail, err = r.check(ctx)
		case StageScheduled:
			next, detail, err = r.schedule(ctx)
		case StageArchiving:
			next, detail, err = r.archive(ctx)
		case StageExporting:
			next, detail, err = r.export(ctx)
		case StageAwaitingApproval:
			next, detail, err = r.awaitApproval(ctx)
		case StageRetention:
			next, detail, err = r.retain(ctx)
		case StageDeleting:
			next, detail, err = r.delete(ctx)
		case StageVerifying:
			next, detail, err = r.verify(ctx)
		default:
			return OutcomeFailed, "", temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("unknown stage %q", r.st.Stage), ErrOffboardingFailed, nil)
		}
		switch {
		case err != nil && ctx.Err() != nil && !r.irreversible():
			return OutcomeCancelled, "cancellation requested through Temporal", ctx.Err()
		case err != nil:
			return OutcomeFailed, "", err
		case next == OutcomeArchived && r.st.Cancel != nil:
			// A cancel accepted while the last step ran still wins over archived.
			return OutcomeCancelled, r.cancelDetail(), nil
		case next.Final():
			return next, detail, nil
		case next != r.st.Stage:
			r.transition(ctx, next, detail)
		}
	}
}

// irreversible reports whether deletion has started, after which nothing cancels the run.
func (r *run) irreversible() bool {
	return r.st.Stage == StageDeleting || (r.st.Stage == StageVerifying && r.st.Target == OutcomeDeleted)
}

func (r *run) needsApproval() bool {
	return r.req.Disposition == DispositionDelete || r.st.Policy.ApproveArchive
}

// check verifies the credentials' permissions and snapshots the user; a dry run ends here.
func (r *run) check(ctx workflow.Context) (Stage, string, error) {
	actx := workflow.WithActivityOptions(ctx, checkOptions)
	perms := permissionsFor(r.req.Disposition)
	var access activities.AccessReport
	if err := workflow.ExecuteActivity(actx, acts.CheckAccess, activities.CheckAccessInput{Permissions: perms}).Get(ctx, &access); err != nil {
		return "", "", err
	}
	if access.Note != "" {
		r.note("permission check: %s", access.Note)
	}
	var snap activities.UserSnapshot
	in := activities.SnapshotInput{UserID: r.req.UserID, ProtectedUserIDs: r.st.Policy.ProtectedUserIDs}
	if err := workflow.ExecuteActivity(actx, acts.SnapshotUser, in).Get(ctx, &snap); err != nil {
		return "", "", err
	}
	r.st.Snapshot = &snap
	if snap.User.State == genesys.StateDeleted {
		return "", "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("user %s is already deleted: there is nothing to offboard", r.req.UserID),
			activities.ErrUnexpectedState, nil)
	}
	if r.req.DryRun {
		return r.dryRun(ctx, snap)
	}
	detail := fmt.Sprintf("permissions held (%s); user is %s", strings.Join(perms, ", "), snap.User.State)
	if r.st.AccessEndAt.After(now(ctx)) {
		return StageScheduled, detail + "; access ends " + formatTime(r.st.AccessEndAt), nil
	}
	return StageArchiving, detail, nil
}

// dryRun reports what a real run would do and ends with that run's outcome, marked DryRun.
func (r *run) dryRun(ctx workflow.Context, snap activities.UserSnapshot) (Stage, string, error) {
	end := later(now(ctx), r.st.AccessEndAt)
	r.st.Window = genesys.Interval{Start: r.exportFrom(), End: end}
	var count int
	actx := workflow.WithActivityOptions(ctx, countOptions)
	if err := workflow.ExecuteActivity(actx, acts.CountInteractions, activities.CountInput{UserID: r.req.UserID, Window: r.st.Window}).Get(ctx, &count); err != nil {
		return "", "", err
	}
	p := r.st.Policy
	w := []string{
		fmt.Sprintf("permissions %s are held", strings.Join(permissionsFor(r.req.Disposition), ", ")),
		fmt.Sprintf("set user %s from %s to inactive at %s", r.req.UserID, snap.User.State, formatTime(later(now(ctx), r.st.AccessEndAt))),
		fmt.Sprintf("export %s conversations started from %s to %s into bundle %s", formatCount(count), formatTime(r.st.Window.Start), formatTime(end), r.st.Bundle),
	}
	if r.needsApproval() {
		w = append(w, fmt.Sprintf("wait up to %s for %d approval(s); without them the user stays inactive", Duration(p.ApprovalTimeout), p.ApprovalsRequired))
	}
	target, state := OutcomeArchived, genesys.StateInactive
	if r.req.Disposition == DispositionDelete {
		target, state = OutcomeDeleted, genesys.StateDeleted
		w = append(w, fmt.Sprintf("keep the user inactive until %s, then delete them", formatTime(r.st.RetentionUntil)))
	}
	w = append(w, fmt.Sprintf("verify that the user is %s and still linked to %s conversations", state, formatCount(count)))
	r.wouldHappen = w
	r.st.Target = target
	return target, "dry run: nothing changed", nil
}

// schedule waits until access is due to end.
func (r *run) schedule(ctx workflow.Context) (Stage, string, error) {
	t := now(ctx)
	if !t.Before(r.st.AccessEndAt) {
		return StageArchiving, "effective time reached", nil
	}
	seen := r.version
	if _, err := workflow.AwaitWithTimeout(ctx, r.st.AccessEndAt.Sub(t), func() bool { return r.version != seen }); err != nil {
		return "", "", err
	}
	return StageScheduled, "", nil
}

// archive sets the user inactive: access ends here.
func (r *run) archive(ctx workflow.Context) (Stage, string, error) {
	var change activities.StateChange
	actx := workflow.WithActivityOptions(ctx, changeOptions)
	if err := workflow.ExecuteActivity(actx, acts.DeactivateUser, activities.UserRef{UserID: r.req.UserID}).Get(ctx, &change); err != nil {
		return "", "", err
	}
	r.st.Deactivated = r.st.Deactivated || change.Changed
	r.st.AccessEndedAt = now(ctx)
	detail := "deactivated"
	if !change.Changed {
		detail = "already inactive; left as is"
	}
	return StageExporting, detail, nil
}

func (r *run) exportFrom() time.Time {
	if !r.req.ExportFrom.IsZero() {
		return r.req.ExportFrom.UTC()
	}
	return r.st.RequestedAt.Add(-r.st.Policy.ExportLookback)
}

// export writes the user's conversations to the bundle. A cancel request cancels the export.
func (r *run) export(ctx workflow.Context) (Stage, string, error) {
	r.st.Window = genesys.Interval{Start: r.exportFrom(), End: r.st.AccessEndedAt}
	in := activities.ExportInput{
		UserID:     r.req.UserID,
		Bundle:     r.st.Bundle,
		Window:     r.st.Window,
		WindowSize: r.st.Policy.ExportWindow,
	}
	if r.st.Snapshot != nil {
		in.User = r.st.Snapshot.User
	}
	ectx, cancelExport := workflow.WithCancel(ctx)
	defer cancelExport()
	done := false
	workflow.Go(ctx, func(gctx workflow.Context) {
		if workflow.Await(gctx, func() bool { return done || r.st.Cancel != nil }) == nil && !done {
			cancelExport()
		}
	})
	var sum activities.ExportSummary
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ectx, exportOptions), acts.ExportInteractions, in).Get(ctx, &sum)
	done = true
	if err != nil {
		if r.st.Cancel != nil && temporal.IsCanceledError(err) {
			return OutcomeCancelled, r.cancelDetail(), nil
		}
		return "", "", err
	}
	r.st.Export = &sum
	detail := fmt.Sprintf("exported %s conversations in %d parts", formatCount(sum.Conversations), sum.Parts)
	if r.needsApproval() {
		return StageAwaitingApproval, detail, nil
	}
	r.st.Target = OutcomeArchived
	return StageVerifying, detail, nil
}

// awaitApproval waits for the approvals, a rejection or the deadline, reminding and
// escalating once on the way.
func (r *run) awaitApproval(ctx workflow.Context) (Stage, string, error) {
	p := r.st.Policy
	t := now(ctx)
	if r.st.ApprovalDeadline.IsZero() {
		r.st.ApprovalDeadline = t.Add(p.ApprovalTimeout)
		r.st.EscalateAt = t.Add(time.Duration(float64(p.ApprovalTimeout) * p.EscalationFraction))
		r.refreshDetails(ctx)
		r.notify(ctx, "approval.requested", p.Approvers,
			fmt.Sprintf("%s offboarding of user %s needs %d approval(s) by %s", r.req.Disposition, r.req.UserID, p.ApprovalsRequired, formatTime(r.st.ApprovalDeadline)))
	}
	if d := r.rejection(); d != nil {
		r.st.Target = OutcomeRejected
		return StageVerifying, fmt.Sprintf("rejected by %s; the user stays inactive", d.Approver), nil
	}
	if approvers := r.approvers(); len(approvers) >= p.ApprovalsRequired {
		detail := "approved by " + strings.Join(approvers, ", ")
		if r.req.Disposition == DispositionDelete {
			return StageRetention, detail, nil
		}
		r.st.Target = OutcomeArchived
		return StageVerifying, detail, nil
	}
	if !t.Before(r.st.ApprovalDeadline) {
		r.st.Target = OutcomeArchived
		return StageVerifying, "approval timed out; nothing is deleted and the user stays inactive", nil
	}
	if !r.st.Escalated && !t.Before(r.st.EscalateAt) {
		r.st.Escalated = true
		r.record(ctx, "approval reminder and escalation sent")
		msg := fmt.Sprintf("%s offboarding of user %s still needs %d approval(s) by %s",
			r.req.Disposition, r.req.UserID, p.ApprovalsRequired-len(r.approvers()), formatTime(r.st.ApprovalDeadline))
		r.notify(ctx, "approval.reminder", r.undecided(), msg)
		if len(p.EscalateTo) > 0 {
			r.notify(ctx, "approval.escalated", p.EscalateTo, msg)
		}
		return StageAwaitingApproval, "", nil
	}
	wake := r.st.ApprovalDeadline
	if !r.st.Escalated {
		wake = r.st.EscalateAt
	}
	return StageAwaitingApproval, "", r.wait(ctx, wake.Sub(t))
}

// retain waits until retention ends, indefinitely while a legal hold lasts.
func (r *run) retain(ctx workflow.Context) (Stage, string, error) {
	if r.st.Hold != nil {
		return StageRetention, "", r.wait(ctx, 0)
	}
	t := now(ctx)
	if !t.Before(r.st.RetentionUntil) {
		return StageDeleting, "retention ended", nil
	}
	return StageRetention, "", r.wait(ctx, r.st.RetentionUntil.Sub(t))
}

// wait blocks until a message changes the state, d passes (0: no limit) or the run should
// continue as new, which it reports as errContinueAsNew.
func (r *run) wait(ctx workflow.Context, d time.Duration) error {
	if r.shouldContinueAsNew(ctx) {
		return errContinueAsNew
	}
	seen := r.version
	cond := func() bool { return r.version != seen || r.shouldContinueAsNew(ctx) }
	if d <= 0 {
		return workflow.Await(ctx, cond)
	}
	_, err := workflow.AwaitWithTimeout(ctx, d, cond)
	return err
}

func (r *run) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > maxEventsPerRun
}

// disconnected returns a context that a Temporal cancellation does not reach, for steps that
// must complete once begun.
func disconnected(ctx workflow.Context) workflow.Context {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	return dctx
}

// delete soft-deletes the user. Once begun it is never abandoned, even on cancellation.
func (r *run) delete(ctx workflow.Context) (Stage, string, error) {
	dctx := disconnected(ctx)
	var change activities.StateChange
	actx := workflow.WithActivityOptions(dctx, changeOptions)
	if err := workflow.ExecuteActivity(actx, acts.DeleteUser, activities.UserRef{UserID: r.req.UserID}).Get(dctx, &change); err != nil {
		return "", "", err
	}
	r.st.Target = OutcomeDeleted
	if !change.Changed {
		return StageVerifying, "already deleted; left as is", nil
	}
	return StageVerifying, "deleted", nil
}

// verify re-reads the user and re-counts their conversations against the manifest.
func (r *run) verify(ctx workflow.Context) (Stage, string, error) {
	vctx := ctx
	if r.irreversible() {
		vctx = disconnected(ctx)
	}
	expected := genesys.StateInactive
	if r.st.Target == OutcomeDeleted {
		expected = genesys.StateDeleted
	}
	in := activities.VerifyInput{UserID: r.req.UserID, ExpectedState: expected, Window: r.st.Window}
	if r.st.Export != nil {
		in.ManifestCount = r.st.Export.Conversations
	}
	var v activities.Verification
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(vctx, countOptions), acts.VerifyOutcome, in).Get(vctx, &v); err != nil {
		return "", "", err
	}
	r.st.Verification = &v
	if !v.Linked || v.State != expected {
		return "", "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("verification failed: user %s is %s with %d conversations, expected %s with %d as in the manifest",
				r.req.UserID, v.State, v.Count, expected, in.ManifestCount),
			ErrNotLinked, nil)
	}
	target := r.st.Target
	if target == "" {
		target = OutcomeArchived
	}
	return target, fmt.Sprintf("verified: user is %s and %s conversations are still linked", v.State, formatCount(v.Count)), nil
}

// finish restores a cancelled user, records the outcome, writes the audit record and returns.
func (r *run) finish(ctx workflow.Context, outcome Stage, detail string, err error) (Result, error) {
	cancelled := ctx.Err() != nil && outcome == OutcomeCancelled
	if ctx.Err() != nil {
		ctx = disconnected(ctx)
	}
	failedAt := r.st.Stage
	if err != nil && !cancelled {
		outcome, detail = OutcomeFailed, fmt.Sprintf("failed at %s: %s", failedAt, causeMessage(err))
		r.note("%s", detail)
	}
	if outcome == OutcomeCancelled {
		restored, rerr := r.restore(ctx)
		detail += "; " + restored
		if rerr != nil {
			outcome, err, failedAt = OutcomeFailed, rerr, OutcomeCancelled
			detail += ": " + causeMessage(rerr)
			r.note("cancel could not restore the user: %s", causeMessage(rerr))
		}
	}
	r.transition(ctx, outcome, detail)
	r.settle(ctx)

	errText := ""
	if err != nil && !cancelled {
		errText = causeMessage(err)
	}
	auditErr := r.writeAudit(ctx, outcome, errText)
	r.notify(ctx, "offboarding.completed", nil, fmt.Sprintf("offboarding of user %s ended %s", r.req.UserID, outcome))
	r.settle(ctx)

	res := r.result()
	switch {
	case cancelled:
		return res, temporal.NewCanceledError(detail)
	case err != nil:
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("offboarding of user %s failed at stage %s: %s", r.req.UserID, failedAt, causeMessage(err)),
			causeType(err), err)
	case auditErr != nil:
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("offboarding of user %s ended %s but its audit record could not be written: %s", r.req.UserID, outcome, causeMessage(auditErr)),
			ErrAuditFailed, auditErr)
	}
	return res, nil
}

// settle lets running handlers finish and handles signals still queued.
func (r *run) settle(ctx workflow.Context) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	r.drainSignals(ctx)
}

// restore brings a user this run deactivated back to the state of the snapshot.
func (r *run) restore(ctx workflow.Context) (string, error) {
	if !r.st.Deactivated || r.st.Snapshot == nil {
		return "nothing was changed", nil
	}
	state := r.st.Snapshot.User.State
	var change activities.StateChange
	actx := workflow.WithActivityOptions(ctx, changeOptions)
	in := activities.RestoreInput{UserID: r.req.UserID, State: state}
	if err := workflow.ExecuteActivity(actx, acts.RestoreUser, in).Get(ctx, &change); err != nil {
		return "restore to " + string(state) + " failed", err
	}
	r.st.Deactivated = false
	return "restored to " + string(state), nil
}

func (r *run) cancelDetail() string {
	c := r.st.Cancel
	if c == nil {
		return "cancelled"
	}
	if c.Reason != "" {
		return fmt.Sprintf("cancelled by %s: %s", c.By, c.Reason)
	}
	return "cancelled by " + c.By
}

// writeAudit writes the audit record; dry runs write one too, marked DryRun.
func (r *run) writeAudit(ctx workflow.Context, outcome Stage, errText string) error {
	info := workflow.GetInfo(ctx)
	rec := activities.AuditRecord{
		Bundle:       r.st.Bundle,
		WorkflowID:   info.WorkflowExecution.ID,
		RunID:        info.WorkflowExecution.RunID,
		UserID:       r.req.UserID,
		Disposition:  string(r.req.Disposition),
		Reason:       r.req.Reason,
		RequestedBy:  r.req.RequestedBy,
		HREventID:    r.req.HREventID,
		RequestedAt:  r.st.RequestedAt,
		DryRun:       r.req.DryRun,
		Decisions:    r.st.Decisions,
		Transitions:  r.st.History,
		Outcome:      string(outcome),
		Error:        errText,
		Export:       r.st.Export,
		Verification: r.st.Verification,
		Notes:        r.st.Notes,
		WrittenAt:    now(ctx),
	}
	var ref activities.AuditRef
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, auditOptions), acts.WriteAudit, rec).Get(ctx, &ref); err != nil {
		r.note("audit record could not be written: %s", causeMessage(err))
		r.logger.Error("write audit record", "error", err)
		return err
	}
	r.audit = &ref
	return nil
}

// notify sends a best-effort notification; a failure is noted and never fails the run.
func (r *run) notify(ctx workflow.Context, event string, recipients []string, msg string) {
	n := activities.Notification{
		Event:      event,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		UserID:     r.req.UserID,
		Stage:      string(r.st.Stage),
		Message:    msg,
		At:         now(ctx),
		Recipients: recipients,
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, notifyOptions), acts.Notify, n).Get(ctx, nil); err != nil {
		// The error text may quote the webhook's response; keep only its type.
		r.note("notification %s failed (%s); the run carries on", event, causeType(err))
		r.logger.Warn("notification failed", "event", event, "error", err)
	}
}

// continueAsNew carries the state into a fresh run once handlers have finished.
func (r *run) continueAsNew(ctx workflow.Context) (Result, error) {
	r.settle(ctx)
	next := r.req
	st := *r.st
	next.Resume = &st
	r.logger.Info("continuing as new", "stage", string(r.st.Stage), "runs", r.st.Runs)
	return Result{}, workflow.NewContinueAsNewError(ctx, WorkflowType, next)
}

// transition moves to stage, recording it in the history, the search attributes and the UI.
func (r *run) transition(ctx workflow.Context, stage Stage, detail string) {
	r.st.Stage = stage
	r.st.History = append(r.st.History, activities.Transition{Stage: string(stage), At: now(ctx), Detail: detail})
	r.upsert(ctx, KeyStage.ValueSet(string(stage)))
	r.refreshDetails(ctx)
	r.version++
	r.logger.Info("offboarding stage", "stage", string(stage), "detail", detail)
}

// record adds an event within the current stage to the history.
func (r *run) record(ctx workflow.Context, detail string) {
	r.st.History = append(r.st.History, activities.Transition{Stage: string(r.st.Stage), At: now(ctx), Detail: detail})
	r.refreshDetails(ctx)
}

func (r *run) note(format string, args ...any) {
	r.st.Notes = append(r.st.Notes, fmt.Sprintf(format, args...))
}

func (r *run) upsert(ctx workflow.Context, updates ...temporal.SearchAttributeUpdate) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		r.logger.Error("upsert search attributes", "error", err)
	}
}

func (r *run) refreshDetails(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, r.summary())
}

// rejection returns the first rejecting decision, if any.
func (r *run) rejection() *activities.Decision {
	for i := range r.st.Decisions {
		if !r.st.Decisions[i].Approve {
			return &r.st.Decisions[i]
		}
	}
	return nil
}

// approvers lists those who approved, in order.
func (r *run) approvers() []string {
	var out []string
	for _, d := range r.st.Decisions {
		if d.Approve {
			out = append(out, d.Approver)
		}
	}
	return out
}

// undecided lists allow-listed approvers who have not decided yet.
func (r *run) undecided() []string {
	var out []string
	for _, a := range r.st.Policy.Approvers {
		if !slices.ContainsFunc(r.st.Decisions, func(d activities.Decision) bool { return strings.EqualFold(d.Approver, a) }) {
			out = append(out, a)
		}
	}
	return out
}

func (r *run) status() Status {
	s := Status{
		WorkflowID:       WorkflowID(r.req.UserID),
		UserID:           r.req.UserID,
		Disposition:      r.req.Disposition,
		Stage:            r.st.Stage,
		DryRun:           r.req.DryRun,
		RequestedBy:      r.req.RequestedBy,
		RequestedAt:      r.st.RequestedAt,
		EffectiveAt:      r.req.EffectiveAt,
		Decisions:        r.st.Decisions,
		ApprovalDeadline: r.st.ApprovalDeadline,
		OnHold:           r.st.Hold != nil,
		Deactivated:      r.st.Deactivated,
		Export:           r.st.Export,
		Verification:     r.st.Verification,
		WouldHappen:      r.wouldHappen,
		Errors:           r.st.Notes,
		History:          r.st.History,
		Audit:            r.audit,
		Summary:          r.summary(),
	}
	if r.st.Stage.Final() {
		s.Outcome = r.st.Stage
	}
	if r.needsApproval() {
		s.ApprovalsRequired = r.st.Policy.ApprovalsRequired
	}
	if r.st.Hold == nil && !r.req.DryRun {
		s.RetentionUntil = r.st.RetentionUntil
	}
	return s
}

func (r *run) result() Result {
	res := Result{
		WorkflowID:   WorkflowID(r.req.UserID),
		UserID:       r.req.UserID,
		Outcome:      r.st.Stage,
		DryRun:       r.req.DryRun,
		WouldHappen:  r.wouldHappen,
		Export:       r.st.Export,
		Verification: r.st.Verification,
		Audit:        r.audit,
		Summary:      r.summary(),
	}
	if !r.req.DryRun && r.st.Stage == OutcomeDeleted {
		res.RetentionUntil = r.st.RetentionUntil
	}
	return res
}

// causeType is the type of the innermost application error in err, else ErrOffboardingFailed.
func causeType(err error) string {
	if appErr := innermostApplicationError(err); appErr != nil && appErr.Type() != "" {
		return appErr.Type()
	}
	if temporal.IsTimeoutError(err) {
		return "Timeout"
	}
	return ErrOffboardingFailed
}

// causeMessage is the message of the innermost application error in err, else err's.
func causeMessage(err error) string {
	if appErr := innermostApplicationError(err); appErr != nil && appErr.Message() != "" {
		return appErr.Message()
	}
	return err.Error()
}

func innermostApplicationError(err error) *temporal.ApplicationError {
	var found *temporal.ApplicationError
	for err != nil {
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) {
			break
		}
		found = appErr
		err = appErr.Unwrap()
	}
	return found
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
