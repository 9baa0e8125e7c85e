package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/credential"
)

// BatchOptions tunes the batch workflow on a worker; zero values mean the defaults.
type BatchOptions struct {
	// MaxInFlight bounds the children ending access at once when the batch's input sets none
	// (default 50).
	MaxInFlight int `json:"maxInFlight,omitempty"`
	// PageSize is how many stored items one activity reads (default 200).
	PageSize int `json:"pageSize,omitempty"`
	// MaxEventsPerRun and MaxSignalsPerRun make a run continue as new before the server
	// suggests it (defaults 10,000 events and 3,000 signals: a server refuses the 10,001st
	// signal of a run, and each child signals about three times).
	MaxEventsPerRun  int `json:"maxEventsPerRun,omitempty"`
	MaxSignalsPerRun int `json:"maxSignalsPerRun,omitempty"`
}

// Defaults of BatchOptions.
const (
	DefaultBatchMaxInFlight = 50
	defaultBatchPage        = 200
	defaultBatchEvents      = 10_000
	defaultBatchSignals     = 3_000
)

func (o BatchOptions) withDefaults() BatchOptions {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultBatchMaxInFlight
	}
	if o.PageSize <= 0 {
		o.PageSize = defaultBatchPage
	}
	if o.MaxEventsPerRun <= 0 {
		o.MaxEventsPerRun = defaultBatchEvents
	}
	if o.MaxSignalsPerRun <= 0 {
		o.MaxSignalsPerRun = defaultBatchSignals
	}
	return o
}

// batchSettings is what a batch run records of the worker's configuration when it starts.
type batchSettings struct {
	Policy  Policy       `json:"policy"`
	Options BatchOptions `json:"options"`
}

// batchState is what a batch carries over when it continues as new (BatchInput.Resume). Items
// holds the items read so far, in order; Next is the index of the next one to start.
type batchState struct {
	FirstRunID  string      `json:"firstRunId"`
	Runs        int         `json:"runs"`
	State       BatchState  `json:"state"`
	MaxInFlight int         `json:"maxInFlight"`
	Next        int         `json:"next"`
	Items       []itemState `json:"items"`
	// Spent maps the control credentials used to when they expire (Unix seconds).
	Spent      map[string]int64 `json:"spent,omitempty"`
	FinishedAt time.Time        `json:"finishedAt,omitzero"`
}

// Batch runs an OffboardingBatch: one Offboarding child per person of HR's stored list, in the
// list's order, with at most MaxInFlight of them ending access at once. A child stops counting
// once its access has ended (its export then waits for the Genesys budget behind every
// access-ending call and behind older exports, so every leaver's access ends first and the
// exports finish one after another), once it waits on people or time (scheduled, awaiting
// approval, retention) or once it ends, so that deletions waiting months for approval and
// retention never hold the batch up; the batch completes when
// every item is started and every started run has ended or is waiting, and returns its final
// BatchStatus (later progress of waiting runs is theirs alone: find them by OffboardingBatchId).
//
// Trust: the start credential (role hr, for this workflow ID, over BatchDigest) proves the
// requester before anything starts; a batch whose parent is a reconciliation needs none, since
// the worker's policy decided it. Every child carries the batch's credential in Request.Batch.
//
// Controls (updates and signals of the same names, each with a decision credential of role hr
// for this batch's first run): pause stops starting items, resume continues, and cancel stops
// starting items (the rest end not-started) but lets the started runs continue: cancelling an
// offboarding that started gives the person's access back, so that stays a decision per person.
// Children are abandoned rather than cancelled when the batch closes or continues as new.
func (w *Workflows) Batch(ctx workflow.Context, in BatchInput) (BatchStatus, error) {
	b := &batch{in: in, logger: log.With(workflow.GetLogger(ctx), "batchId", in.BatchID)}
	var set batchSettings
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		return batchSettings{Policy: w.Policy, Options: w.Batches.withDefaults()}
	}).Get(&set)
	if err != nil {
		return BatchStatus{}, fmt.Errorf("record the worker's settings: %w", err)
	}
	b.policy, b.opts = set.Policy, set.Options
	if err := b.init(ctx); err != nil {
		return BatchStatus{}, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (BatchStatus, error) { return b.status(), nil }); err != nil {
		return BatchStatus{}, fmt.Errorf("register the %s query: %w", QueryStatus, err)
	}
	if err := workflow.SetQueryHandler(ctx, QueryBatchItems, b.itemsPage); err != nil {
		return BatchStatus{}, fmt.Errorf("register the %s query: %w", QueryBatchItems, err)
	}
	if err := b.registerControls(ctx); err != nil {
		return BatchStatus{}, err
	}
	b.progress = workflow.GetSignalChannel(ctx, SignalBatchProgress)
	b.listenProgress(ctx)
	if err := workflow.UpsertTypedSearchAttributes(ctx, KeyBatchID.ValueSet(in.BatchID)); err != nil {
		b.logger.Error("upsert search attributes", "error", err)
	}
	return b.run(ctx)
}

// batch is one run of a batch.
type batch struct {
	in     BatchInput
	st     *batchState
	policy Policy
	opts   BatchOptions
	logger log.Logger
	keys   credential.KeySet
	digest string
	// page holds the items read and not yet started, from index pageFrom.
	page     []BatchItem
	pageFrom int
	// byLine and usersIndex index st.Items by line and by the Genesys user started.
	byLine     map[int]int
	usersIndex map[string]int
	progress   workflow.ReceiveChannel
	// signals counts the signals this run received, which a server bounds per run.
	signals int
	drains  []func(workflow.Context) bool
}

// init checks the input and the requester, or takes up the state of the run continued.
func (b *batch) init(ctx workflow.Context) error {
	info := workflow.GetInfo(ctx)
	keys, err := credential.ParseKeySet(b.policy.DecisionKeys)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("the worker's decision keys are unusable; fix the worker configuration: "+err.Error(), ErrInvalidPolicy, nil)
	}
	b.keys, b.digest = keys, BatchDigest(b.in)
	if len(b.in.Resume) > 0 {
		if info.ContinuedExecutionRunID == "" {
			return invalidBatch("resume is set only by the batch itself when it continues as new; start without it")
		}
		var st batchState
		if err := json.Unmarshal(b.in.Resume, &st); err != nil {
			return fmt.Errorf("read the continued batch's state: %w", err)
		}
		st.Runs++
		b.st = &st
		b.in.Resume = nil
	} else {
		if err := b.checkInput(ctx); err != nil {
			return err
		}
		if err := b.checkRequester(ctx); err != nil {
			return invalidBatch(err.Error())
		}
		first := info.FirstRunID
		if first == "" {
			first = info.WorkflowExecution.RunID
		}
		b.st = &batchState{FirstRunID: first, Runs: 1, State: BatchRunning, MaxInFlight: b.maxInFlight()}
	}
	b.index()
	return nil
}

func (b *batch) maxInFlight() int {
	if b.in.MaxInFlight > 0 {
		return b.in.MaxInFlight
	}
	return b.opts.MaxInFlight
}

func invalidBatch(msg string) error {
	return temporal.NewNonRetryableApplicationError("invalid batch: "+msg, ErrInvalidRequest, nil)
}

// checkInput refuses a batch whose input cannot be right.
func (b *batch) checkInput(ctx workflow.Context) error {
	in := b.in
	wid := workflow.GetInfo(ctx).WorkflowExecution.ID
	switch {
	case in.BatchID == "" || wid != BatchWorkflowID(in.BatchID):
		return invalidBatch(fmt.Sprintf("the workflow ID is %q but must be %q", wid, BatchWorkflowID(in.BatchID)))
	case in.RequestedBy == "":
		return invalidBatch("requestedBy is empty: say who asked")
	case in.RequestedAt.IsZero():
		return invalidBatch("requestedAt is empty: set when the batch was accepted")
	case in.Items.Count < 1 || in.Items.Count > MaxBatchItems:
		return invalidBatch(fmt.Sprintf("the batch has %d items; it takes 1 to %d", in.Items.Count, MaxBatchItems))
	case in.Items.Key != bundle.BatchItemsKey(in.BatchID) || in.Items.SHA256 == "":
		return invalidBatch(fmt.Sprintf("the items must be stored at %q with their sha256", bundle.BatchItemsKey(in.BatchID)))
	case in.MaxInFlight < 0 || in.MaxInFlight > MaxBatchItems:
		return invalidBatch(fmt.Sprintf("maxInFlight is %d; use 1 to %d, or 0 for the worker's default", in.MaxInFlight, MaxBatchItems))
	}
	return nil
}

// run starts the items in order, waits for the started runs, then completes or continues as new.
func (b *batch) run(ctx workflow.Context) (BatchStatus, error) {
	for b.st.Next < b.in.Items.Count && b.st.State != BatchCancelled {
		if err := workflow.Await(ctx, func() bool { return b.mayStart() || b.st.State == BatchCancelled || b.mustContinue(ctx) }); err != nil {
			return b.status(), err
		}
		if b.mustContinue(ctx) {
			return b.continueAsNew(ctx)
		}
		if !b.mayStart() {
			continue
		}
		if err := b.startNext(ctx); err != nil {
			return b.status(), err
		}
	}
	if b.st.State == BatchCancelled {
		b.notStarted()
	}
	if err := workflow.Await(ctx, func() bool { return b.unsettled() == 0 || b.mustContinue(ctx) }); err != nil {
		return b.status(), err
	}
	if b.unsettled() > 0 {
		return b.continueAsNew(ctx)
	}
	return b.complete(ctx)
}

// mayStart reports whether the next item may start now.
func (b *batch) mayStart() bool {
	return b.st.State == BatchRunning && b.active() < b.st.MaxInFlight
}

// mustContinue reports whether the run's history is long enough to continue as new.
func (b *batch) mustContinue(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= b.opts.MaxEventsPerRun || b.signals >= b.opts.MaxSignalsPerRun
}

// complete settles the last messages and ends the batch with its final status.
func (b *batch) complete(ctx workflow.Context) (BatchStatus, error) {
	b.drain(ctx)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return b.status(), err
	}
	if b.st.State != BatchCancelled {
		b.st.State = BatchCompleted
	}
	b.st.FinishedAt = now(ctx)
	s := b.status()
	b.logger.Info("batch finished", "state", string(s.State), "total", s.Total, "problems", s.Problems)
	return s, nil
}

// continueAsNew carries the batch's state into a new run, after the messages already received.
func (b *batch) continueAsNew(ctx workflow.Context) (BatchStatus, error) {
	b.drain(ctx)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return b.status(), err
	}
	raw, err := json.Marshal(b.st)
	if err != nil {
		return b.status(), fmt.Errorf("carry the batch's state: %w", err)
	}
	next := b.in
	next.Resume = raw
	b.logger.Info("batch continues as new", "runs", b.st.Runs, "next", b.st.Next, "stateBytes", len(raw))
	return BatchStatus{}, workflow.NewContinueAsNewError(ctx, BatchWorkflowType, next)
}

// drain handles every signal already received.
func (b *batch) drain(ctx workflow.Context) {
	for handled := true; handled; {
		handled = b.receiveProgress(ctx)
		for _, d := range b.drains {
			handled = d(ctx) || handled
		}
	}
}

// errNoItems says the stored items ran out before the count the batch was submitted with.
var errNoItems = errors.New("the stored items ended before the batch's count")
