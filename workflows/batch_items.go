package workflows

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
)

// itemState is one item as a batch keeps it: short JSON names, IDs only and times in
// milliseconds after the batch's RequestedAt, so that ten thousand fit in a continued run's
// input (about 1.2 MB; see the batch tests).
type itemState struct {
	Line    int         `json:"l"`
	UserID  compactID   `json:"u,omitempty"`
	RunID   compactID   `json:"r,omitempty"`
	Outcome ItemOutcome `json:"o"`
	// Waiting is set once the run has waited on people or time: from then on it no longer counts
	// as in flight, even when it works again after a decision.
	Waiting       bool   `json:"w,omitempty"`
	AccessEndedMs int64  `json:"a,omitempty"`
	FinishedMs    int64  `json:"f,omitempty"`
	Error         string `json:"e,omitempty"`
}

// compactID is an ID that travels as 22 base64url characters when it is a UUID in canonical
// form (Genesys user IDs and run IDs are), as itself otherwise.
type compactID string

// compactPrefix marks a compacted UUID; no UUID or Genesys ID begins with it.
const compactPrefix = "~"

// MarshalJSON writes id, compacted when it is a canonical UUID.
func (id compactID) MarshalJSON() ([]byte, error) {
	if u, err := uuid.Parse(string(id)); err == nil && u.String() == string(id) {
		return json.Marshal(compactPrefix + base64.RawURLEncoding.EncodeToString(u[:]))
	}
	return json.Marshal(string(id))
}

// UnmarshalJSON reads what MarshalJSON writes.
func (id *compactID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if rest, ok := strings.CutPrefix(s, compactPrefix); ok {
		raw, err := base64.RawURLEncoding.DecodeString(rest)
		u, uerr := uuid.FromBytes(raw)
		if err != nil || uerr != nil {
			return fmt.Errorf("a compacted ID %q is not a UUID", truncate(s, 40))
		}
		s = u.String()
	}
	*id = compactID(s)
	return nil
}

// started reports whether the item's run started: its outcome is then a Stage.
func (it itemState) started() bool {
	switch it.Outcome {
	case ItemPending, ItemUnresolved, ItemInFlight, ItemRefused, ItemNotStarted:
		return false
	}
	return true
}

// working reports whether the item's run counts as in flight: it is still ending the person's
// access. Once that is done its export waits its turn for the Genesys budget behind every
// access-ending call (task priority) and behind older exports, so the bound is on the work that
// must come first, not on the exports that follow it.
func (it itemState) working() bool { return it.open() && it.AccessEndedMs == 0 }

// open reports whether the item's run has yet to end or to wait on people or time: the batch
// completes when none is.
func (it itemState) open() bool {
	return it.started() && !Stage(it.Outcome).Final() && !it.Waiting
}

// problem reports whether the item failed, was refused, was unresolved or was already in flight.
func (it itemState) problem() bool {
	switch it.Outcome {
	case ItemUnresolved, ItemInFlight, ItemRefused, ItemOutcome(OutcomeFailed):
		return true
	}
	return false
}

// index rebuilds the lookups of the items by line and by user.
func (b *batch) index() {
	b.byLine, b.usersIndex = map[int]int{}, map[string]int{}
	for i, it := range b.st.Items {
		b.byLine[it.Line] = i
		if it.UserID != "" && it.Outcome != ItemInFlight {
			b.usersIndex[string(it.UserID)] = i
		}
	}
}

// active counts the started runs still working (ending access).
func (b *batch) active() int { return b.count(itemState.working) }

// unsettled counts the started runs still open.
func (b *batch) unsettled() int { return b.count(itemState.open) }

func (b *batch) count(is func(itemState) bool) int {
	n := 0
	for _, it := range b.st.Items[:b.st.Next] {
		if is(it) {
			n++
		}
	}
	return n
}

// millis is t as a batch keeps it.
func (b *batch) millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(1, t.Sub(b.in.RequestedAt).Milliseconds())
}

func (b *batch) at(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return b.in.RequestedAt.Add(time.Duration(ms) * time.Millisecond).UTC()
}

// readOptions read a page of stored items, ahead of exports: a store outage is retried for an hour.
var readOptions = withPriority(bounded(time.Minute, time.Hour), priorityAccess)

// nextItem returns the item at st.Next, reading the next page of stored items when needed.
func (b *batch) nextItem(ctx workflow.Context) (BatchItem, *itemState, error) {
	i := b.st.Next
	if i < len(b.st.Items) && i-b.pageFrom < len(b.page) && i >= b.pageFrom {
		return b.page[i-b.pageFrom], &b.st.Items[i], nil
	}
	var raw []json.RawMessage
	in := activities.BatchPageInput{Items: b.in.Items, From: i, Limit: b.opts.PageSize}
	summary := fmt.Sprintf("read items %d to %d of batch %s", i+1, min(i+b.opts.PageSize, b.in.Items.Count), b.in.BatchID)
	if err := activity(ctx, readOptions, summary, acts.ReadBatchItems, in).Get(ctx, &raw); err != nil {
		return BatchItem{}, nil, err
	}
	if len(raw) == 0 {
		return BatchItem{}, nil, temporal.NewNonRetryableApplicationError(errNoItems.Error(), activities.ErrBundleCorrupt, errNoItems)
	}
	b.page, b.pageFrom = make([]BatchItem, len(raw)), i
	b.st.Items = b.st.Items[:i]
	for k, r := range raw {
		it := itemState{Line: i + k + 1, Outcome: ItemPending}
		if err := decodeItem(r, &b.page[k]); err != nil {
			it.Outcome, it.Error = ItemRefused, err.Error()
		}
		if b.page[k].Line > 0 {
			it.Line = b.page[k].Line
		}
		b.st.Items = append(b.st.Items, it)
	}
	b.index()
	return b.page[0], &b.st.Items[i], nil
}

// decodeItem reads one stored item strictly; its error names no value.
func decodeItem(raw json.RawMessage, it *BatchItem) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(it); err != nil {
		var line struct{ Line int }
		_ = json.Unmarshal(raw, &line)
		*it = BatchItem{Line: line.Line}
		return errors.New("the stored item is not a batch item")
	}
	switch {
	case it.Request.Credential != "" || it.Request.Batch != nil || it.Request.Resume != nil:
		return errors.New("the stored item carries a credential, batch or resume state, which only the batch sets")
	case it.Request.UserID == "" && it.Request.IdentifiedBy == nil:
		return errors.New("the stored item names nobody: set userId, email or employeeId")
	}
	return nil
}

// startNext takes the next item: resolves the person, then starts their offboarding.
func (b *batch) startNext(ctx workflow.Context) error {
	item, st, err := b.nextItem(ctx)
	if err != nil {
		return err
	}
	defer func() { b.st.Next++ }()
	if st.Outcome != ItemPending {
		return nil
	}
	req := item.Request
	if req.UserID == "" {
		if !b.resolve(ctx, &req, st) {
			return nil
		}
	}
	st.UserID = compactID(req.UserID)
	if prev, dup := b.usersIndex[req.UserID]; dup {
		st.Outcome, st.Error = ItemInFlight, fmt.Sprintf("the same person as line %d of this batch", b.st.Items[prev].Line)
		return nil
	}
	if b.policy.Protects(req.UserID) {
		st.Outcome, st.Error = ItemRefused, "the offboarding policy protects this user"
		return nil
	}
	b.usersIndex[req.UserID] = b.st.Next
	b.startChild(ctx, b.childRequest(req, st.Line), b.st.Next)
	return nil
}

// resolve sets req.UserID to the one Genesys user HR's email or employee ID names, or records
// why it cannot; the reason names no value.
func (b *batch) resolve(ctx workflow.Context, req *Request, st *itemState) bool {
	id := *req.IdentifiedBy
	var r activities.Resolution
	summary := fmt.Sprintf("resolve the person of line %d of batch %s by %s", st.Line, b.in.BatchID, id.By)
	err := activity(ctx, resolveOptions, summary, acts.ResolvePerson, activities.ResolveInput{By: id.By, Value: id.Value}).Get(ctx, &r)
	var ae *temporal.ApplicationError
	switch {
	case err == nil:
		id.ResolvedAt = now(ctx)
		req.UserID, req.IdentifiedBy = r.UserID, &id
		return true
	case errors.As(err, &ae) && (ae.Type() == activities.ErrPersonUnknown || ae.Type() == activities.ErrPersonAmbiguous || ae.Type() == activities.ErrInvalidInput):
		st.Outcome, st.Error = ItemUnresolved, truncate(ae.Message(), 200)
	default:
		st.Outcome, st.Error = ItemUnresolved, "the Genesys users search did not answer; submit this person again"
	}
	return false
}

// childRequest is the request of one person's offboarding, proved by the batch's credential.
func (b *batch) childRequest(req Request, line int) Request {
	req.RequestedBy = b.in.RequestedBy
	if req.RequestedAt.IsZero() {
		req.RequestedAt = b.in.RequestedAt
	}
	req.Batch = &BatchRef{ID: b.in.BatchID, Line: line, Credential: b.in.Credential, AcceptedAt: b.in.RequestedAt, Digest: b.digest}
	return req
}

// startChild starts the offboarding of item i and records its start; a person whose offboarding
// is already running is reported, not started twice.
func (b *batch) startChild(ctx workflow.Context, req Request, i int) {
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:            WorkflowID(req.UserID),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: StartSearchAttributes(req),
		StaticSummary:         StaticSummary(req),
		StaticDetails:         StaticDetails(req, b.policy),
	}
	f := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), WorkflowType, req)
	var exec workflow.Execution
	err := f.GetChildWorkflowExecution().Get(ctx, &exec)
	st := &b.st.Items[i]
	switch {
	case temporal.IsWorkflowExecutionAlreadyStartedError(err):
		st.Outcome, st.Error = ItemInFlight, "an offboarding of this person is already running"
		delete(b.usersIndex, req.UserID)
		return
	case err != nil:
		st.Outcome, st.Error = ItemRefused, "the offboarding could not start: "+errorType(err)
		return
	}
	st.RunID, st.Outcome = compactID(exec.RunID), ItemOutcome(StageChecking)
	workflow.Go(ctx, func(ctx workflow.Context) {
		var res Result
		b.childEnded(ctx, i, res, f.Get(ctx, &res))
	})
}

// childEnded records a child's end as its result says, for a child that did not report it.
func (b *batch) childEnded(ctx workflow.Context, i int, res Result, err error) {
	st := &b.st.Items[i]
	var ae *temporal.ApplicationError
	switch {
	case err != nil && errors.As(err, &ae) && (ae.Type() == ErrInvalidRequest || ae.Type() == ErrInvalidPolicy || ae.Type() == activities.ErrProtectedUser):
		st.Outcome, st.Error = ItemRefused, "the offboarding refused the request: "+ae.Type()
	case Stage(st.Outcome).Final():
		return
	case err != nil:
		st.Outcome, st.Error = ItemOutcome(OutcomeFailed), "the offboarding failed: "+errorType(err)
	default:
		st.Outcome = ItemOutcome(res.Outcome)
		if st.AccessEndedMs == 0 {
			st.AccessEndedMs = b.millis(res.AccessEndedAt)
		}
	}
	if st.FinishedMs == 0 {
		st.FinishedMs = b.millis(now(ctx))
	}
}

// errorType names a failure by its type, never by its message, which may carry personal data.
func errorType(err error) string {
	var ae *temporal.ApplicationError
	var te *temporal.TimeoutError
	switch {
	case errors.As(err, &ae):
		return ae.Type()
	case errors.As(err, &te):
		return "timeout"
	case temporal.IsCanceledError(err):
		return "cancelled"
	}
	return "unknown"
}

// notStarted marks every item not yet started when the batch was cancelled.
func (b *batch) notStarted() {
	for i := b.st.Next; i < b.in.Items.Count; i++ {
		if i < len(b.st.Items) {
			if b.st.Items[i].Outcome == ItemPending {
				b.st.Items[i].Outcome = ItemNotStarted
			}
			continue
		}
		b.st.Items = append(b.st.Items, itemState{Outcome: ItemNotStarted})
	}
	b.st.Next = b.in.Items.Count
}

// listenProgress handles children's progress as it comes (see the offboarding's register: a
// buffered signal is handled by whichever of the listener and drain runs first).
func (b *batch) listenProgress(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		for workflow.Await(ctx, func() bool { return b.progress.Len() > 0 }) == nil {
			b.receiveProgress(ctx)
		}
	})
}

// receiveProgress applies one buffered progress report, if any.
func (b *batch) receiveProgress(ctx workflow.Context) bool {
	var p BatchProgress
	if !b.progress.ReceiveAsync(&p) {
		return false
	}
	b.signals++
	i, ok := b.byLine[p.Line]
	if !ok || i >= len(b.st.Items) || !b.st.Items[i].started() || WorkflowID(string(b.st.Items[i].UserID)) != p.WorkflowID {
		b.logger.Warn("ignored the progress of a run that is not this batch's", "line", p.Line, "workflowId", truncate(p.WorkflowID, 64))
		return true
	}
	st := &b.st.Items[i]
	if st.RunID == "" {
		st.RunID = compactID(p.RunID)
	}
	if st.AccessEndedMs == 0 {
		st.AccessEndedMs = b.millis(p.AccessEndedAt)
	}
	st.Waiting = st.Waiting || p.Waiting
	if p.Error != "" {
		st.Error = truncate(p.Error, 200)
	}
	switch {
	case Stage(st.Outcome).Final() || st.Outcome == ItemRefused:
	case p.Outcome != "":
		st.Outcome, st.FinishedMs = ItemOutcome(p.Outcome), b.millis(now(ctx))
	case p.Stage != "":
		st.Outcome = ItemOutcome(p.Stage)
	}
	return true
}
