package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
)

// message is one control: its validator (which must not change state) and its effect.
// Updates run the validator before the update enters history; signals run it on receipt and
// are ignored, with a note, when it fails.
type message[T any] struct {
	name     string
	validate func(ctx workflow.Context, in T) error
	apply    func(ctx workflow.Context, in T, via string)
	// who names the sender for the note an ignored signal leaves.
	who func(in T) string
}

// drains empty the signal channels; settle calls them before the run ends.
type drain func(ctx workflow.Context) bool

func (o *offboarding) registerMessages(ctx workflow.Context) error {
	decision := func(approve bool) message[DecisionInput] {
		name := UpdateReject
		if approve {
			name = UpdateApprove
		}
		return message[DecisionInput]{
			name:     name,
			validate: func(ctx workflow.Context, in DecisionInput) error { return o.validateDecision(in) },
			apply:    func(ctx workflow.Context, in DecisionInput, via string) { o.applyDecision(ctx, in, approve, via) },
			who:      func(in DecisionInput) string { return in.Approver },
		}
	}
	control := func(name string, validate func(ControlInput) error, apply func(workflow.Context, ControlInput, string)) message[ControlInput] {
		return message[ControlInput]{
			name:     name,
			validate: func(ctx workflow.Context, in ControlInput) error { return validate(in) },
			apply:    apply,
			who:      func(in ControlInput) string { return in.By },
		}
	}
	retention := message[RetentionInput]{
		name:     UpdateExtendRetention,
		validate: o.validateRetention,
		apply:    o.applyRetention,
		who:      func(in RetentionInput) string { return in.By },
	}
	var err error
	add := func(d drain, e error) {
		o.drains = append(o.drains, d)
		err = errors.Join(err, e)
	}
	add(register(ctx, o, decision(true)))
	add(register(ctx, o, decision(false)))
	add(register(ctx, o, control(UpdateCancel, o.validateCancel, o.applyCancel)))
	add(register(ctx, o, control(UpdateHold, o.validateHold, o.applyHold)))
	add(register(ctx, o, control(UpdateRelease, o.validateRelease, o.applyRelease)))
	add(register(ctx, o, retention))
	return err
}

// register installs m as an update with a validator and as a signal of the same name, and
// returns the function that drains the signal channel.
func register[T any](ctx workflow.Context, o *offboarding, m message[T]) (drain, error) {
	err := workflow.SetUpdateHandlerWithOptions(ctx, m.name,
		func(ctx workflow.Context, in T) (Status, error) {
			m.apply(ctx, in, "update")
			return o.status(), nil
		},
		workflow.UpdateHandlerOptions{Validator: m.validate},
	)
	if err != nil {
		return nil, fmt.Errorf("register the %s update: %w", m.name, err)
	}
	ch := workflow.GetSignalChannel(ctx, m.name)
	handle := func(ctx workflow.Context, in T) {
		if err := m.validate(ctx, in); err != nil {
			o.noteForAudit("ignored %s signal from %q at %s: %v", m.name, truncate(m.who(in), maxIdentityLen), formatTime(now(ctx)), err)
			o.logger.Warn("ignored invalid signal", "signal", m.name, "error", err)
			o.refreshDetails(ctx)
			return
		}
		m.apply(ctx, in, "signal")
	}
	next := func(ctx workflow.Context) bool {
		var in T
		if !ch.ReceiveAsync(&in) {
			return false
		}
		handle(ctx, in)
		return true
	}
	// The listener waits for a buffered signal rather than blocking in Receive, which would hand
	// the value to a goroutine that may not run before the workflow ends or continues as new;
	// a buffered signal is instead handled by whichever of the listener and settle runs first.
	// Signals keep being handled while a cancelled run cleans up.
	workflow.Go(disconnected(ctx), func(ctx workflow.Context) {
		for workflow.Await(ctx, func() bool { return ch.Len() > 0 }) == nil {
			next(ctx)
		}
	})
	return next, nil
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

// checkApprover applies the rules every approver is subject to.
func (o *offboarding) checkApprover(who string) error {
	p := o.st.Policy
	switch {
	case who == "":
		return errors.New("the approver identity is empty")
	case len(who) > maxIdentityLen:
		return fmt.Errorf("the approver identity is longer than %d bytes", maxIdentityLen)
	case !p.RequesterMayApprove && strings.EqualFold(who, o.req.RequestedBy):
		return fmt.Errorf("%q requested this offboarding and may not decide it: another approver must", who)
	case len(p.Approvers) > 0 && !slices.ContainsFunc(p.Approvers, func(a string) bool { return strings.EqualFold(a, who) }):
		return fmt.Errorf("%q is not on the policy's approver allow-list", who)
	}
	return nil
}

func (o *offboarding) validateDecision(in DecisionInput) error {
	who := strings.TrimSpace(in.Approver)
	if who == "" {
		return errors.New("the approver identity is empty")
	}
	if err := o.decisionsOpen(); err != nil {
		return err
	}
	if err := o.checkApprover(who); err != nil {
		return err
	}
	for _, d := range o.st.Decisions {
		if strings.EqualFold(d.Approver, who) {
			return fmt.Errorf("%q already decided at %s: each approver decides once", who, formatTime(d.At))
		}
	}
	if o.rejection() != nil || len(o.approvers()) >= o.st.Policy.ApprovalsRequired {
		return errors.New("the decision is already made")
	}
	if len(in.Comment) > maxReasonLen {
		return fmt.Errorf("the comment is %d bytes; at most %d are allowed", len(in.Comment), maxReasonLen)
	}
	return nil
}

func (o *offboarding) applyDecision(ctx workflow.Context, in DecisionInput, approve bool, via string) {
	o.st.Decisions = append(o.st.Decisions, activities.Decision{
		Approver: strings.TrimSpace(in.Approver),
		Approve:  approve,
		Comment:  in.Comment,
		At:       now(ctx),
		Via:      via,
	})
	o.version++
	o.refreshDetails(ctx)
}

func (o *offboarding) checkControl(in ControlInput) error {
	switch {
	case strings.TrimSpace(in.By) == "":
		return errors.New("by is empty: say who is asking")
	case len(in.By) > maxIdentityLen:
		return fmt.Errorf("by is longer than %d bytes", maxIdentityLen)
	case len(in.Reason) > maxReasonLen:
		return fmt.Errorf("the reason is %d bytes; at most %d are allowed", len(in.Reason), maxReasonLen)
	case o.st.Stage.Final():
		return fmt.Errorf("the offboarding already ended %s", o.st.Stage)
	case o.irreversible():
		return errors.New("deletion has started and can no longer be stopped")
	}
	return nil
}

func (o *offboarding) validateCancel(in ControlInput) error {
	if err := o.checkControl(in); err != nil {
		return err
	}
	if o.st.Cancel != nil {
		return fmt.Errorf("already cancelled by %s", o.st.Cancel.By)
	}
	return nil
}

func (o *offboarding) applyCancel(ctx workflow.Context, in ControlInput, via string) {
	o.st.Cancel = &in
	o.recordEvent(ctx, fmt.Sprintf("cancel requested by %s via %s", in.By, via))
	o.version++
}

func (o *offboarding) validateHold(in ControlInput) error {
	if err := o.checkControl(in); err != nil {
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

func (o *offboarding) applyHold(ctx workflow.Context, in ControlInput, via string) {
	t := now(ctx)
	h := &Hold{By: in.By, Reason: in.Reason, Since: t}
	if !o.st.RetentionUntil.IsZero() {
		h.Remaining = max(0, o.st.RetentionUntil.Sub(t))
	}
	o.st.Hold = h
	o.recordEvent(ctx, fmt.Sprintf("legal hold placed by %s via %s; %s of retention left", in.By, via, Duration(h.Remaining.Round(time.Second))))
	o.version++
}

func (o *offboarding) validateRelease(in ControlInput) error {
	if err := o.checkControl(in); err != nil {
		return err
	}
	if o.st.Hold == nil {
		return errors.New("there is no legal hold to release")
	}
	return nil
}

func (o *offboarding) applyRelease(ctx workflow.Context, in ControlInput, via string) {
	t := now(ctx)
	o.st.RetentionUntil = t.Add(o.st.Hold.Remaining)
	o.st.Hold = nil
	o.upsert(ctx, KeyRetentionUntil.ValueSet(o.st.RetentionUntil))
	o.recordEvent(ctx, fmt.Sprintf("legal hold released by %s via %s; retention now ends %s", in.By, via, formatTime(o.st.RetentionUntil)))
	o.version++
}

func (o *offboarding) validateRetention(ctx workflow.Context, in RetentionInput) error {
	if err := o.checkControl(ControlInput{By: in.By, Reason: in.Reason}); err != nil {
		return err
	}
	p := o.st.Policy
	t := now(ctx)
	switch {
	case o.req.Disposition != DispositionDelete || o.req.DryRun:
		return errors.New("retention applies only to a delete offboarding that is not a dry run")
	case o.st.Hold != nil:
		return errors.New("the user is on legal hold: release the hold before changing retention")
	case in.Until.IsZero():
		return errors.New("until is required: the new end of retention")
	case !in.Until.After(t):
		return fmt.Errorf("until %s is not in the future", formatTime(in.Until))
	case in.Until.Equal(o.st.RetentionUntil):
		return fmt.Errorf("retention already ends %s", formatTime(in.Until))
	}
	if d := in.Until.Sub(o.st.AccessEndAt); d < p.MinRetention || d > p.MaxRetention {
		return fmt.Errorf("until %s makes retention %s, outside the policy's range [%s, %s]",
			formatTime(in.Until), Duration(d.Round(time.Second)), Duration(p.MinRetention), Duration(p.MaxRetention))
	}
	if in.Until.Before(o.st.RetentionUntil) {
		if err := o.shorteningOpen(); err != nil {
			return err
		}
		approver := strings.TrimSpace(in.Approver)
		if approver == "" {
			return errors.New("shortening retention needs an approver")
		}
		if err := o.checkApprover(approver); err != nil {
			return fmt.Errorf("shortening retention: %w", err)
		}
	}
	return nil
}

func (o *offboarding) applyRetention(ctx workflow.Context, in RetentionInput, via string) {
	old := o.st.RetentionUntil
	o.st.RetentionUntil = in.Until.UTC()
	o.upsert(ctx, KeyRetentionUntil.ValueSet(o.st.RetentionUntil))
	verb := "extended"
	by := in.By
	if o.st.RetentionUntil.Before(old) {
		verb = "shortened"
		by += ", approved by " + strings.TrimSpace(in.Approver)
	}
	o.recordEvent(ctx, fmt.Sprintf("retention %s from %s to %s by %s via %s", verb, formatTime(old), formatTime(o.st.RetentionUntil), by, via))
	o.version++
}
