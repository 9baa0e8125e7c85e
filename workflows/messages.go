package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/identity"
)

// control is one message: its rules (which must not change state) and its effect. Each is an
// update, whose validator refuses what the rules refuse before it enters history, and a signal
// of the same name, which is recorded and ignored when they refuse it.
type control struct {
	name  string
	apply func(ctx workflow.Context, d decision, via string)
}

// drains empty the signal channels; settle calls them before the run ends.
type drain func(ctx workflow.Context) bool

func (o *offboarding) registerMessages(ctx workflow.Context) error {
	controls := []control{
		{UpdateApprove, func(ctx workflow.Context, d decision, via string) { o.applyDecision(ctx, d, true, via) }},
		{UpdateReject, func(ctx workflow.Context, d decision, via string) { o.applyDecision(ctx, d, false, via) }},
		{UpdateCancel, o.applyCancel},
		{UpdateHold, o.applyHold},
		{UpdateRelease, o.applyRelease},
		{UpdateExtendRetention, o.applyRetention},
	}
	o.drains = append(o.drains, o.listenExportProgress(ctx))
	var err error
	for _, c := range controls {
		d, e := o.register(ctx, c)
		o.drains = append(o.drains, d)
		err = errors.Join(err, e)
	}
	return err
}

// register installs c as an update with a validator and as a signal of the same name, and
// returns the function that drains the signal channel.
func (o *offboarding) register(ctx workflow.Context, c control) (drain, error) {
	err := workflow.SetUpdateHandlerWithOptions(ctx, c.name,
		func(ctx workflow.Context, raw converter.RawValue) (Status, error) {
			d, r := o.admissible(ctx, c.name, raw, o.trustsLegacy(ctx))
			if r != nil {
				return Status{}, r
			}
			o.spend(ctx, d)
			c.apply(ctx, d, d.via("update"))
			return o.status(), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, raw converter.RawValue) error {
			if _, r := o.admissible(ctx, c.name, raw, false); r != nil {
				return r
			}
			return nil
		}},
	)
	if err != nil {
		return nil, fmt.Errorf("register the %s update: %w", c.name, err)
	}
	ch := workflow.GetSignalChannel(ctx, c.name)
	next := func(ctx workflow.Context) bool {
		var raw converter.RawValue
		if !ch.ReceiveAsync(&raw) {
			return false
		}
		d, r := o.admissible(ctx, c.name, raw, o.trustsLegacy(ctx))
		o.spend(ctx, d)
		if r != nil {
			o.ignore(ctx, c.name, r)
			return true
		}
		c.apply(ctx, d, d.via("signal"))
		return true
	}
	listen(ctx, ch, next)
	return next, nil
}

// listen handles ch's signals with next as they come. The listener waits for a buffered signal
// rather than blocking in Receive, which would hand the value to a goroutine that may not run
// before the workflow ends or continues as new; a buffered signal is instead handled by whichever
// of the listener and settle runs first. Signals keep being handled while a cancelled run cleans up.
func listen(ctx workflow.Context, ch workflow.ReceiveChannel, next drain) {
	workflow.Go(disconnected(ctx), func(ctx workflow.Context) {
		for workflow.Await(ctx, func() bool { return ch.Len() > 0 }) == nil {
			next(ctx)
		}
	})
}

// rules applies the run's rules to a decision whose sender is proved (or trusted).
func (o *offboarding) rules(ctx workflow.Context, d decision) error {
	switch d.action {
	case credential.ActionApprove, credential.ActionReject:
		return o.validateDecision(d)
	case credential.ActionCancel:
		return o.validateCancel(d)
	case credential.ActionHold:
		return o.validateHold(d)
	case credential.ActionRelease:
		return o.validateRelease(d)
	case credential.ActionRetention:
		return o.validateRetention(ctx, d)
	}
	return fmt.Errorf("%q is not a control", d.action)
}

// drainSignals handles every signal still queued.
func (o *offboarding) drainSignals(ctx workflow.Context) {
	for {
		handled := false
		for _, d := range o.drains {
			if d(ctx) {
				handled = true
			}
		}
		if !handled {
			return
		}
	}
}

// checkApprover applies the rules every approver is subject to; who is normalised.
func (o *offboarding) checkApprover(who string) error {
	p := o.st.Policy
	switch {
	case who == "":
		return errors.New("the approver identity is empty")
	case !p.RequesterMayApprove && identity.Equal(who, o.req.RequestedBy):
		return fmt.Errorf("%q requested this offboarding and may not decide it: another approver must", who)
	case len(p.Approvers) > 0 && !slices.ContainsFunc(p.Approvers, func(a string) bool { return identity.Equal(a, who) }):
		return fmt.Errorf("%q is not on the policy's approver allow-list", who)
	}
	return nil
}

// checkText bounds a comment or reason, counted in characters.
func checkText(what, s string) error {
	if n := utf8.RuneCountInString(s); n > maxReasonLen {
		return fmt.Errorf("the %s is %d characters; at most %d are allowed", what, n, maxReasonLen)
	}
	return nil
}

func (o *offboarding) validateDecision(d decision) error {
	if err := o.decisionsOpen(); err != nil {
		return err
	}
	if err := o.checkApprover(d.by); err != nil {
		return err
	}
	for _, prev := range o.st.Decisions {
		if identity.Equal(prev.Approver, d.by) {
			return fmt.Errorf("%q already decided at %s: each approver decides once", d.by, formatTime(prev.At))
		}
	}
	if o.rejection() != nil || len(o.approvers()) >= o.st.Policy.ApprovalsRequired {
		return errors.New("the decision is already made")
	}
	return checkText("comment", d.text)
}

func (o *offboarding) applyDecision(ctx workflow.Context, d decision, approve bool, via string) {
	o.st.Decisions = append(o.st.Decisions, activities.Decision{
		Approver:     d.by,
		Approve:      approve,
		Comment:      d.text,
		At:           now(ctx),
		Via:          via,
		CredentialID: d.credID,
		Unsigned:     d.unsigned(),
	})
	o.version++
	o.refreshDetails(ctx)
}

func (o *offboarding) checkControl(d decision) error {
	switch {
	case d.by == "":
		return errors.New("by is empty: say who is asking")
	case o.st.Stage.Final():
		return fmt.Errorf("the offboarding already ended %s", o.st.Stage)
	case o.irreversible():
		return errors.New("deletion has started and can no longer be stopped")
	}
	return checkText("reason", d.text)
}

func (o *offboarding) validateCancel(d decision) error {
	if err := o.checkControl(d); err != nil {
		return err
	}
	if o.st.Cancel != nil {
		return fmt.Errorf("already cancelled by %s", o.st.Cancel.By)
	}
	return nil
}

func (o *offboarding) applyCancel(ctx workflow.Context, d decision, via string) {
	o.st.Cancel = &ControlInput{By: d.by, Reason: d.text}
	o.recordEvent(ctx, fmt.Sprintf("cancel requested by %s via %s", d.by, via))
	o.version++
}

func (o *offboarding) validateHold(d decision) error {
	if err := o.checkControl(d); err != nil {
		return err
	}
	if o.req.Disposition != DispositionDelete {
		return errors.New("an archive offboarding never deletes the user: there is nothing to hold")
	}
	if o.req.DryRun {
		return errors.New("a dry run deletes nothing: there is nothing to hold")
	}
	if h := o.st.Hold; h != nil {
		return fmt.Errorf("already on legal hold since %s by %s", formatTime(h.Since), h.By)
	}
	return nil
}

func (o *offboarding) applyHold(ctx workflow.Context, d decision, via string) {
	t := now(ctx)
	h := &Hold{By: d.by, Reason: d.text, Since: t}
	if !o.st.RetentionUntil.IsZero() {
		h.Remaining = max(0, o.st.RetentionUntil.Sub(t))
	}
	o.st.Hold = h
	o.recordEvent(ctx, fmt.Sprintf("legal hold placed by %s via %s; %s of retention left", d.by, via, Duration(h.Remaining.Round(time.Second))))
	o.version++
}

func (o *offboarding) validateRelease(d decision) error {
	if err := o.checkControl(d); err != nil {
		return err
	}
	if o.st.Hold == nil {
		return errors.New("there is no legal hold to release")
	}
	return nil
}

func (o *offboarding) applyRelease(ctx workflow.Context, d decision, via string) {
	t := now(ctx)
	o.st.RetentionUntil = t.Add(o.st.Hold.Remaining)
	o.st.Hold = nil
	o.upsert(ctx, KeyRetentionUntil.ValueSet(o.st.RetentionUntil))
	o.recordEvent(ctx, fmt.Sprintf("legal hold released by %s via %s; retention now ends %s", d.by, via, formatTime(o.st.RetentionUntil)))
	o.version++
}

func (o *offboarding) validateRetention(ctx workflow.Context, d decision) error {
	if err := o.checkControl(d); err != nil {
		return err
	}
	p := o.st.Policy
	t := now(ctx)
	switch {
	case o.req.Disposition != DispositionDelete || o.req.DryRun:
		return errors.New("retention applies only to a delete offboarding that is not a dry run")
	case o.st.Hold != nil:
		return errors.New("the user is on legal hold: release the hold before changing retention")
	case d.until.IsZero():
		return errors.New("until is required: the new end of retention")
	case !d.until.After(t):
		return fmt.Errorf("until %s is not in the future", formatTime(d.until))
	case d.until.Equal(o.st.RetentionUntil):
		return fmt.Errorf("retention already ends %s", formatTime(d.until))
	}
	if r := d.until.Sub(o.st.AccessEndAt); r < p.MinRetention || r > p.MaxRetention {
		return fmt.Errorf("until %s makes retention %s, outside the policy's range [%s, %s]",
			formatTime(d.until), Duration(r.Round(time.Second)), Duration(p.MinRetention), Duration(p.MaxRetention))
	}
	if d.until.Before(o.st.RetentionUntil) {
		if err := o.shorteningOpen(); err != nil {
			return err
		}
		if d.approver == "" {
			return errors.New("shortening retention needs an approver: only an approver's credential may shorten it")
		}
		if err := o.checkApprover(d.approver); err != nil {
			return fmt.Errorf("shortening retention: %w", err)
		}
	}
	return nil
}

func (o *offboarding) applyRetention(ctx workflow.Context, d decision, via string) {
	old := o.st.RetentionUntil
	o.st.RetentionUntil = d.until.UTC()
	o.upsert(ctx, KeyRetentionUntil.ValueSet(o.st.RetentionUntil))
	verb := "extended"
	by := d.by
	if o.st.RetentionUntil.Before(old) {
		verb = "shortened"
		if d.approver != d.by {
			by += ", approved by " + d.approver
		}
	}
	o.recordEvent(ctx, fmt.Sprintf("retention %s from %s to %s by %s via %s", verb, formatTime(old), formatTime(o.st.RetentionUntil), by, via))
	o.version++
}
