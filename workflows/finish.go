package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
)

// finish restores a cancelled user, records the outcome, writes the audit record and returns.
func (o *offboarding) finish(ctx workflow.Context, outcome Stage, detail string, err error) (Result, error) {
	cancelled := ctx.Err() != nil && outcome == OutcomeCancelled
	if ctx.Err() != nil {
		ctx = disconnected(ctx)
	}
	failedAt := o.st.Stage
	if err != nil && !cancelled {
		outcome, detail = OutcomeFailed, fmt.Sprintf("failed at %s: %s", failedAt, causeMessage(err))
		o.noteForAudit("%s", detail)
	}
	if outcome == OutcomeCancelled {
		restored, rerr := o.restore(ctx)
		detail += "; " + restored
		o.supersedeVerification()
		if rerr != nil {
			outcome, err, failedAt = OutcomeFailed, rerr, OutcomeCancelled
			o.noteForAudit("cancel could not restore the user: %s", causeMessage(rerr))
		}
	}
	o.enterStage(ctx, outcome, detail)
	o.settle(ctx)

	errText := ""
	if err != nil && !cancelled {
		errText = causeMessage(err)
	}
	auditErr := o.writeAudit(ctx, outcome, errText)
	done := o.notification(ctx, "offboarding.completed", nil, fmt.Sprintf("offboarding of user %s ended %s", o.req.UserID, outcome))
	done.OAuthClients = o.oauthClients()
	o.send(ctx, done)
	o.settle(ctx)
	o.tellBatch(ctx, outcome, errText)

	res := o.result()
	switch {
	case cancelled:
		return res, temporal.NewCanceledError(detail)
	case err != nil:
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("offboarding of user %s failed at stage %s: %s", o.req.UserID, failedAt, causeMessage(err)),
			causeType(err), err)
	case auditErr != nil:
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("offboarding of user %s ended %s but its audit record could not be written: %s", o.req.UserID, outcome, causeMessage(auditErr)),
			ErrAuditFailed, auditErr)
	}
	return res, nil
}

// supersedeVerification moves a verification a restore has overtaken (the user was verified
// inactive, then restored) from the status into a note, so that nothing shows it as the user's state.
func (o *offboarding) supersedeVerification() {
	v := o.st.Verification
	if v == nil || o.st.RestoredTo == "" {
		return
	}
	o.noteForAudit("verified %s with %s conversations at %s, before the cancel restored the user to %s",
		v.State, formatCount(v.Count), formatTime(v.CheckedAt), o.st.RestoredTo)
	o.st.Verification = nil
}

// settle lets running handlers finish and handles signals still queued.
func (o *offboarding) settle(ctx workflow.Context) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	o.drainSignals(ctx)
}

func (o *offboarding) cancelDetail() string {
	c := o.st.Cancel
	if c == nil {
		return "cancelled"
	}
	if c.Reason != "" {
		return fmt.Sprintf("cancelled by %s: %s", c.By, c.Reason)
	}
	return "cancelled by " + c.By
}

// writeAudit writes the audit record; dry runs write one too, marked DryRun, with WouldEnd.
func (o *offboarding) writeAudit(ctx workflow.Context, outcome Stage, errText string) error {
	info := workflow.GetInfo(ctx)
	rec := activities.AuditRecord{
		Bundle:        o.st.Bundle,
		WorkflowID:    info.WorkflowExecution.ID,
		RunID:         info.WorkflowExecution.RunID,
		UserID:        o.req.UserID,
		Disposition:   string(o.req.Disposition),
		Reason:        o.req.Reason,
		RequestedBy:   o.req.RequestedBy,
		HREventID:     o.req.HREventID,
		IdentifiedBy:  o.req.IdentifiedBy,
		RequestedAt:   o.st.RequestedAt,
		DryRun:        o.req.DryRun,
		WouldEnd:      string(o.st.WouldEnd),
		Decisions:     o.st.Decisions,
		Transitions:   o.st.History,
		Outcome:       string(outcome),
		Error:         errText,
		Export:        o.st.Export,
		Verification:  o.st.Verification,
		Notes:         o.st.Notes,
		Ignored:       o.st.Ignored,
		WrittenAt:     now(ctx),
		Access:        o.st.Revoked,
		Restored:      o.st.Restored,
		AccessEndedAt: o.st.AccessEndedAt,
		OAuthClients:  o.oauthClients(),
	}
	var ref activities.AuditRef
	if err := activity(ctx, auditOptions, "write audit record", acts.WriteAudit, rec).Get(ctx, &ref); err != nil {
		o.noteForAudit("audit record could not be written: %s", causeMessage(err))
		o.logger.Error("write audit record", "error", err)
		return err
	}
	o.audit = &ref
	return nil
}

// notify sends a best-effort notification of event to recipients.
func (o *offboarding) notify(ctx workflow.Context, event string, recipients []string, msg string) {
	o.send(ctx, o.notification(ctx, event, recipients, msg))
}

// notification is the notification of event about this run, now.
func (o *offboarding) notification(ctx workflow.Context, event string, recipients []string, msg string) activities.Notification {
	return activities.Notification{
		Event:      event,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		UserID:     o.req.UserID,
		Stage:      string(o.st.Stage),
		Message:    msg,
		At:         now(ctx),
		Recipients: recipients,
		FirstRunID: o.st.FirstRunID,
	}
}

// send sends n, best effort: a failure is noted and never fails the run.
func (o *offboarding) send(ctx workflow.Context, n activities.Notification) {
	if err := activity(ctx, notifyOptions, "notify "+n.Event, acts.Notify, n).Get(ctx, nil); err != nil {
		// The error text may quote the webhook's response; keep only its type.
		o.noteForAudit("notification %s failed (%s); the run carries on", n.Event, causeType(err))
		o.logger.Warn("notification failed", "event", n.Event, "error", err)
	}
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
