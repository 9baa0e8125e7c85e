package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
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
	// Batches tunes the batch workflow.
	Batches BatchOptions
	// Reconcile is the reconciliation policy (Reconciliation).
	Reconcile ReconcileSettings
}

// Registry is the part of worker.Worker (and the test environment) that Register needs.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Register registers the Offboarding workflow under WorkflowType, ResolvePerson under
// ResolveWorkflowType, Batch under BatchWorkflowType and Reconciliation under
// ReconciliationWorkflowType.
func (w *Workflows) Register(r Registry) {
	r.RegisterWorkflowWithOptions(w.Offboarding, workflow.RegisterOptions{Name: WorkflowType})
	r.RegisterWorkflowWithOptions(w.ResolvePerson, workflow.RegisterOptions{Name: ResolveWorkflowType})
	r.RegisterWorkflowWithOptions(w.Batch, workflow.RegisterOptions{Name: BatchWorkflowType})
	r.RegisterWorkflowWithOptions(w.Reconciliation, workflow.RegisterOptions{Name: ReconciliationWorkflowType})
}

// Offboarding takes one Genesys user out of service as docs/design.md describes: checking,
// scheduled, archiving, exporting, awaiting-approval, retention, deleting, verifying, then an
// outcome. It writes the audit record whatever the outcome, except for a request that fails
// validation, which changes nothing and may not even name a valid user. Failures return a
// non-retryable *temporal.ApplicationError whose type is the cause's (activities.Err*,
// genesys.Kind*) or one of this package's Err* types.
func (w *Workflows) Offboarding(ctx workflow.Context, req Request) (Result, error) {
	// 1. Initialise state. The policy is recorded in history (or carried over), so that a
	// worker's configuration change never alters a run that has started.
	o := &offboarding{req: req, worker: w}
	if req.Resume != nil {
		st := *req.Resume
		st.Runs++
		o.st = &st
		o.req.Resume = nil
	} else {
		var p Policy
		if err := workflow.SideEffect(ctx, func(workflow.Context) any { return w.Policy }).Get(&p); err != nil {
			return Result{}, fmt.Errorf("record the policy: %w", err)
		}
		o.st = o.initialState(ctx, p)
	}
	o.logger = log.With(workflow.GetLogger(ctx), "userId", req.UserID, "disposition", string(req.Disposition))

	// 2. Register queries.
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return o.status(), nil }); err != nil {
		return Result{}, fmt.Errorf("register the %s query: %w", QueryStatus, err)
	}

	// 3. Validate input.
	if err := o.validate(ctx, req.Resume != nil); err != nil {
		o.enterStage(ctx, OutcomeFailed, err.Error())
		o.tellBatch(ctx, OutcomeFailed, err.Error())
		return Result{}, err
	}

	// 4. Register updates and signals.
	if err := o.registerMessages(ctx); err != nil {
		return Result{}, err
	}

	// 5. Behaviour.
	return o.run(ctx)
}

// offboarding is one run of an offboarding: the request, its state and what only this run needs.
type offboarding struct {
	req    Request
	st     *State
	logger log.Logger
	// version changes whenever a message changes the state, waking the waits.
	version     int
	wouldHappen []string
	audit       *activities.AuditRef
	drains      []drain
	// worker is the worker's current configuration, whose decision keys a waiting run takes up.
	worker *Workflows
	// mode is 1 in a run begun with decision credentials, -1 in one begun before, 0 until known;
	// legacyMessages counts the messages of the latter (see trustsLegacy).
	mode           int
	legacyMessages int
	// keys are the parsed decision keys, parsed from keysFrom.
	keys     *credential.KeySet
	keysFrom []string
	// exporting is the running export's last report of how far it is.
	exporting *activities.ExportProgress
}

func now(ctx workflow.Context) time.Time { return workflow.Now(ctx).UTC() }

func (o *offboarding) initialState(ctx workflow.Context, p Policy) *State {
	info := workflow.GetInfo(ctx)
	requestedAt := o.req.RequestedAt.UTC()
	if requestedAt.IsZero() {
		requestedAt = info.WorkflowStartTime.UTC()
	}
	firstRun := info.FirstRunID
	if firstRun == "" {
		firstRun = info.WorkflowExecution.RunID
	}
	return &State{
		Policy:      p,
		Runs:        1,
		FirstRunID:  firstRun,
		Bundle:      o.req.UserID + "/" + firstRun,
		RequestedAt: requestedAt,
		AccessEndAt: accessEndAt(o.req, requestedAt),
	}
}

// validate checks the policy, the request and the workflow ID, failing non-retryably.
func (o *offboarding) validate(ctx workflow.Context, resumed bool) error {
	info := workflow.GetInfo(ctx)
	if resumed {
		if info.ContinuedExecutionRunID == "" {
			return temporal.NewNonRetryableApplicationError(
				"invalid request: resume is set only by the workflow itself when it continues as new; start without it",
				ErrInvalidRequest, nil)
		}
		return nil
	}
	if err := o.st.Policy.Validate(); err != nil {
		return temporal.NewNonRetryableApplicationError("the worker's offboarding policy is invalid; fix the worker configuration: "+err.Error(),
			ErrInvalidPolicy, nil, errorFields(err))
	}
	if err := ValidateRequest(o.req, o.st.Policy, now(ctx)); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidRequest, nil, errorFields(err))
	}
	if want := WorkflowID(o.req.UserID); info.WorkflowExecution.ID != want {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invalid request: the workflow ID is %q but must be %q, so that a user has one offboarding at a time", info.WorkflowExecution.ID, want),
			ErrInvalidRequest, nil)
	}
	if o.credentials(ctx) {
		if err := o.checkRequester(ctx); err != nil {
			return temporal.NewNonRetryableApplicationError("invalid request: "+err.Error(), ErrInvalidRequest, nil)
		}
	}
	if o.st.Policy.Protects(o.req.UserID) {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("user %s is protected by the offboarding policy and is never offboarded", o.req.UserID),
			activities.ErrProtectedUser, nil)
	}
	if o.req.Disposition == DispositionDelete {
		o.st.RetentionUntil = o.st.AccessEndAt.Add(effectiveRetention(o.req, o.st.Policy))
	}
	return nil
}

// run drives the stages to an outcome, then finishes or continues as new.
func (o *offboarding) run(ctx workflow.Context) (Result, error) {
	// The stage has an upsert of its own, as it had when the recorded histories were written.
	attrs := requestSearchAttributes(o.req)
	if !o.st.RetentionUntil.IsZero() && !o.req.DryRun {
		attrs = append(attrs, KeyRetentionUntil.ValueSet(o.st.RetentionUntil))
	}
	o.upsert(ctx, attrs...)
	if o.st.Stage == "" {
		o.enterStage(ctx, StageChecking, "checking permissions and the user")
	} else {
		o.upsert(ctx, KeyStage.ValueSet(string(o.st.Stage)))
		o.refreshDetails(ctx)
	}
	outcome, detail, err := o.execute(ctx)
	if errors.Is(err, errContinueAsNew) {
		return o.continueAsNew(ctx)
	}
	return o.finish(ctx, outcome, detail, err)
}

// execute runs stage after stage. A stage function returns the next stage, or its own stage
// when it only waited and wants to be called again, or an outcome.
func (o *offboarding) execute(ctx workflow.Context) (Stage, string, error) {
	for {
		if o.cancelledThroughTemporal(ctx) {
			return OutcomeCancelled, "cancellation requested through Temporal", ctx.Err()
		}
		if o.st.Cancel != nil {
			return OutcomeCancelled, o.cancelDetail(), nil
		}
		next, detail, err := o.step(ctx)
		switch {
		case err != nil && o.cancelledThroughTemporal(ctx):
			return OutcomeCancelled, "cancellation requested through Temporal", ctx.Err()
		case err != nil:
			return OutcomeFailed, "", err
		case o.st.Cancel != nil && o.cancelWins(ctx, next):
			return OutcomeCancelled, o.cancelDetail(), nil
		case next.Final():
			return next, detail, nil
		case next != o.st.Stage:
			o.enterStage(ctx, next, detail)
		}
	}
}

// cancelRejectedChange is the workflow.GetVersion change ID from which a cancel accepted while
// verifying wins over rejected too; before it, such a cancel was dropped and the user left inactive.
const cancelRejectedChange = "cancel-wins-over-rejected"

// cancelWins reports whether a cancel accepted while the last step ran wins over next: it does
// over an outcome that left the user inactive (archived, rejected), never over deleted.
func (o *offboarding) cancelWins(ctx workflow.Context, next Stage) bool {
	switch next {
	case OutcomeArchived:
		return true
	case OutcomeRejected:
		return workflow.GetVersion(ctx, cancelRejectedChange, workflow.DefaultVersion, 1) >= 1
	}
	return false
}

// cancelledThroughTemporal reports whether Temporal cancelled the run while it can still stop.
func (o *offboarding) cancelledThroughTemporal(ctx workflow.Context) bool {
	return ctx.Err() != nil && !o.irreversible()
}

// irreversible reports whether deletion has started, after which nothing cancels the run.
func (o *offboarding) irreversible() bool {
	return o.st.Stage == StageDeleting || (o.st.Stage == StageVerifying && o.st.Target == OutcomeDeleted)
}

// The run's history has three writers, from the most to the least visible:
//   - enterStage moves the run to a stage: the stage search attribute, the history, the UI;
//   - recordEvent adds an event within the current stage to the history and the UI;
//   - noteForAudit adds to State.Notes what an auditor should see but that changes no stage.

// enterStage moves to stage, recording it in the history, the search attributes and the UI.
func (o *offboarding) enterStage(ctx workflow.Context, stage Stage, detail string) {
	o.observeStage(ctx, stage)
	o.st.Stage = stage
	o.upsert(ctx, KeyStage.ValueSet(string(stage)))
	o.recordEvent(ctx, detail)
	o.version++
	o.logger.Info("offboarding stage", "stage", string(stage), "detail", detail)
	if !stage.Final() {
		o.tellBatch(ctx, stage, "")
	}
}

// recordEvent adds an event within the current stage to the history.
func (o *offboarding) recordEvent(ctx workflow.Context, detail string) {
	o.st.History = append(o.st.History, activities.Transition{Stage: string(o.st.Stage), At: now(ctx), Detail: detail})
	o.refreshDetails(ctx)
}

// noteForAudit adds a note for the audit record and the status query.
func (o *offboarding) noteForAudit(format string, args ...any) {
	o.st.Notes = append(o.st.Notes, fmt.Sprintf(format, args...))
}

func (o *offboarding) upsert(ctx workflow.Context, updates ...temporal.SearchAttributeUpdate) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		o.logger.Error("upsert search attributes", "error", err)
	}
}

func (o *offboarding) refreshDetails(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, o.summary())
}
