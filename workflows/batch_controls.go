package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/credential"
)

// maxStartSkew bounds how long after its RequestedAt a batch may start: its start credential is
// verified at RequestedAt, so that the batch's children verify it at the same time.
const maxStartSkew = credential.DefaultTTL

// checkRequester proves who asked for the batch: the start credential, a reconciliation parent
// (the worker's policy decided the batch), or, under unsigned decisions, the caller's word.
func (b *batch) checkRequester(ctx workflow.Context) error {
	info := workflow.GetInfo(ctx)
	parent := info.ParentWorkflowExecution
	switch {
	case b.in.Credential != "":
	case b.in.RequestedBy == ReconciliationRequester && parent != nil && strings.HasPrefix(parent.ID, ReconciliationIDPrefix):
		return nil
	case b.policy.UnsignedDecisions:
		b.logger.Warn("the batch carries no start credential: requestedBy is only what the caller claimed (unsigned decisions allowed)")
		return nil
	default:
		return errors.New("the batch carries no start credential, so nothing proves who asked: submit batches through the HR API, which signs one for your token's identity")
	}
	if d := info.WorkflowStartTime.Sub(b.in.RequestedAt); d < -credential.Leeway || d > maxStartSkew {
		return fmt.Errorf("the batch started %s after its requestedAt; it must start within %s", d.Round(time.Second), maxStartSkew)
	}
	return verifyStart(b.keys, b.in.Credential, b.in.RequestedAt, info.WorkflowExecution.ID, b.digest, b.in.RequestedBy)
}

// batchControls are the batch's controls and the credential action each needs.
var batchControls = []struct {
	name   string
	action credential.Action
	to     BatchState
}{
	{UpdatePauseBatch, credential.ActionHold, BatchPaused},
	{UpdateResumeBatch, credential.ActionRelease, BatchRunning},
	{UpdateCancelBatch, credential.ActionCancel, BatchCancelled},
}

// registerControls installs each control as an update with a validator and as a signal.
func (b *batch) registerControls(ctx workflow.Context) error {
	for _, c := range batchControls {
		admit := func(ctx workflow.Context, raw converter.RawValue) (decision, *refusal) {
			return b.admit(ctx, c.name, c.action, c.to, raw)
		}
		err := workflow.SetUpdateHandlerWithOptions(ctx, c.name,
			func(ctx workflow.Context, raw converter.RawValue) (BatchStatus, error) {
				d, r := admit(ctx, raw)
				if r != nil {
					return BatchStatus{}, r
				}
				b.apply(ctx, d, c.to, "update")
				return b.status(), nil
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, raw converter.RawValue) error {
				if _, r := admit(ctx, raw); r != nil {
					return r
				}
				return nil
			}})
		if err != nil {
			return fmt.Errorf("register the %s update: %w", c.name, err)
		}
		ch := workflow.GetSignalChannel(ctx, c.name)
		receive := func(ctx workflow.Context) bool {
			var raw converter.RawValue
			if !ch.ReceiveAsync(&raw) {
				return false
			}
			b.signals++
			if d, r := admit(ctx, raw); r != nil {
				b.logger.Warn("ignored a batch control", "control", c.name, "reason", r.Reason, "detail", r.Detail)
			} else {
				b.apply(ctx, d, c.to, "signal")
			}
			return true
		}
		b.drains = append(b.drains, receive)
		workflow.Go(ctx, func(ctx workflow.Context) {
			for workflow.Await(ctx, func() bool { return ch.Len() > 0 }) == nil {
				receive(ctx)
			}
		})
	}
	return nil
}

// admit decides whether the control name counts now. It only reads state, so validators use it.
func (b *batch) admit(ctx workflow.Context, name string, action credential.Action, to BatchState, raw converter.RawValue) (decision, *refusal) {
	body, r := decodeBody(raw)
	if r != nil {
		return decision{}, r
	}
	d, r := b.decide(ctx, name, action, body)
	if r == nil {
		if err := b.applies(to); err != nil {
			r = &refusal{Reason: reasonRefused, Detail: err.Error(), Sender: d.by}
		}
	}
	return d, r
}

// decide reads who decided: from the credential, or from the payload under unsigned decisions.
func (b *batch) decide(ctx workflow.Context, name string, action credential.Action, body messageBody) (decision, *refusal) {
	tok, signed := body.fields["credential"]
	if !signed {
		if b.policy.UnsignedDecisions {
			return unsignedDecision(action, body)
		}
		return decision{}, &refusal{Reason: reasonNoCredential, Sender: unverified,
			Detail: name + ` needs a decision credential of role hr for this batch: get one from the HR API and send {"credential": "..."}`}
	}
	if len(body.fields) > 1 {
		return decision{}, malformed("a payload with a credential holds nothing else")
	}
	return b.verifyControl(ctx, action, tok)
}

// verifyControl checks a control's credential and its binding to this batch, action and role.
func (b *batch) verifyControl(ctx workflow.Context, action credential.Action, tok string) (decision, *refusal) {
	c, err := b.keys.Verify(tok, now(ctx))
	if err != nil {
		return decision{}, &refusal{Reason: reasonMalformed, Detail: "the credential is refused: " + err.Error(), Sender: unverified}
	}
	wid := workflow.GetInfo(ctx).WorkflowExecution.ID
	refuse := func(reason, detail string) (decision, *refusal) {
		return decision{}, &refusal{Reason: reason, Detail: detail, Sender: c.Identity}
	}
	_, spent := b.st.Spent[c.ID]
	switch {
	case c.WorkflowID != wid || c.RunID != b.st.FirstRunID:
		return refuse(reasonWrongRun, fmt.Sprintf("the credential is for %s run %s, not this batch (%s run %s)", truncate(c.WorkflowID, 64), truncate(c.RunID, 64), wid, b.st.FirstRunID))
	case c.Action != action:
		return refuse(reasonWrongAction, fmt.Sprintf("the credential is for %s, not %s", c.Action, action))
	case !slices.Contains(actionRoles[action], c.Role):
		return refuse(reasonWrongRole, fmt.Sprintf("role %q may not %s a batch", c.Role, action))
	case spent:
		return refuse(reasonReused, fmt.Sprintf("the credential %s was already used: each credential counts once", c.ID))
	}
	return decision{action: action, by: c.Identity, role: c.Role, text: c.Comment, credID: c.ID, expires: c.ExpiresAt}, nil
}

// applies says why the batch cannot move to state to now, if it cannot.
func (b *batch) applies(to BatchState) error {
	switch s := b.st.State; {
	case s == BatchCompleted || s == BatchCancelled:
		return fmt.Errorf("the batch is already %s", s)
	case to == BatchPaused && s == BatchPaused:
		return errors.New("the batch is already paused")
	case to == BatchRunning && s != BatchPaused:
		return errors.New("the batch is not paused")
	}
	return nil
}

// apply moves the batch to state to and spends the credential.
func (b *batch) apply(ctx workflow.Context, d decision, to BatchState, via string) {
	if !d.unsigned() {
		t := now(ctx).Unix()
		for id, exp := range b.st.Spent {
			if exp <= t {
				delete(b.st.Spent, id)
			}
		}
		if b.st.Spent == nil {
			b.st.Spent = map[string]int64{}
		}
		b.st.Spent[d.credID] = d.expires.Unix()
	}
	b.st.State = to
	b.logger.Info("batch control", "state", string(to), "by", d.by, "via", d.via(via))
}

// status is the batch's BatchStatus now.
func (b *batch) status() BatchStatus {
	s := BatchStatus{
		BatchID: b.in.BatchID, RequestedBy: b.in.RequestedBy, RequestedAt: b.in.RequestedAt,
		State: b.st.State, Total: b.in.Items.Count, MaxInFlight: b.st.MaxInFlight,
		Items: map[ItemOutcome]int{}, FinishedAt: b.st.FinishedAt,
	}
	for _, it := range b.st.Items {
		s.Items[it.Outcome]++
		switch {
		case it.working():
			s.InFlight++
		case it.problem():
			s.Problems++
		}
		if it.started() {
			s.Started++
		}
		if it.AccessEndedMs != 0 {
			s.AccessEnded++
			s.LastAccessEndedAt = maxTime(s.LastAccessEndedAt, b.at(it.AccessEndedMs))
		}
	}
	if pending := s.Total - len(b.st.Items); pending > 0 {
		s.Items[ItemPending] += pending
	}
	return s
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// itemsPage answers QueryBatchItems. Items not read yet are pending, with line 0.
func (b *batch) itemsPage(q BatchItemsQuery) (BatchItemsPage, error) {
	switch {
	case q.From < 0 || q.From > b.in.Items.Count:
		return BatchItemsPage{}, fmt.Errorf("from %d is out of range: the batch has %d items", q.From, b.in.Items.Count)
	case q.Limit < 1 || q.Limit > MaxBatchItemsPage:
		return BatchItemsPage{}, fmt.Errorf("limit %d is out of range: use 1 to %d", q.Limit, MaxBatchItemsPage)
	}
	p := BatchItemsPage{Items: []BatchItemStatus{}, Total: b.in.Items.Count}
	if q.Problems {
		p.Total = 0
		for _, it := range b.st.Items {
			if it.problem() {
				p.Total++
			}
		}
	}
	for i := q.From; i < b.in.Items.Count; i++ {
		it := itemState{Outcome: ItemPending}
		if i < len(b.st.Items) {
			it = b.st.Items[i]
		}
		if q.Problems && !it.problem() {
			continue
		}
		if len(p.Items) == q.Limit {
			p.Next = i
			break
		}
		p.Items = append(p.Items, b.itemStatus(it))
	}
	return p, nil
}

func (b *batch) itemStatus(it itemState) BatchItemStatus {
	s := BatchItemStatus{Line: it.Line, UserID: string(it.UserID), RunID: string(it.RunID), Outcome: it.Outcome,
		AccessEndedAt: b.at(it.AccessEndedMs), FinishedAt: b.at(it.FinishedMs), Error: it.Error}
	if it.UserID != "" {
		s.WorkflowID = WorkflowID(string(it.UserID))
	}
	return s
}
