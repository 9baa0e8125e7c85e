package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"
)

// checkBatchRequester proves the requester of a run that a batch started: its parent must be
// that batch, and the batch's own start credential (which the batch verified against its items)
// must name the same requester. A batch that the worker's reconciliation started carries no
// credential: the worker's policy asked, not a caller.
func (o *offboarding) checkBatchRequester(ctx workflow.Context) error {
	b := o.req.Batch
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if parent == nil || parent.ID != BatchWorkflowID(b.ID) {
		return fmt.Errorf("the request names batch %q, but that batch did not start this run: submit batches through the HR API (POST /v1/batches)", truncate(b.ID, 64))
	}
	if b.Credential == "" {
		switch {
		case o.req.RequestedBy == ReconciliationRequester:
			o.noteForAudit("started by batch %s, which the worker's reconciliation started by its policy", b.ID)
			return nil
		case o.st.Policy.UnsignedDecisions:
			o.noteForAudit("batch %s carries no start credential: requestedBy %q is only what the caller claimed (unsigned decisions allowed)", b.ID, o.req.RequestedBy)
			return nil
		}
		return errors.New("the batch that started this run carries no start credential, so nothing proves who asked: submit batches through the HR API")
	}
	keys, err := o.keySet()
	if err != nil {
		return fmt.Errorf("the run's decision keys are unusable: %w", err)
	}
	if err := verifyStart(keys, b.Credential, b.AcceptedAt, parent.ID, b.Digest, o.req.RequestedBy); err != nil {
		return fmt.Errorf("batch %s: %w", b.ID, err)
	}
	return nil
}

// What a run tells its batch, once each (State.ToldBatch).
const (
	toldAccess  = "access"
	toldWaiting = "waiting"
)

// waitingStages are the stages at which a run waits on time or people, and so no longer counts
// as in flight for its batch.
var waitingStages = []Stage{StageScheduled, StageAwaitingApproval, StageRetention}

// tellBatch tells the run's batch, if it has one, what changed on entering stage: that access
// has ended, that it now waits, or (for an outcome) how it ended. The signal is best effort: a
// batch that has ended or was terminated does not stop the run.
func (o *offboarding) tellBatch(ctx workflow.Context, stage Stage, errText string) {
	if o.req.Batch == nil || o.req.DryRun && !stage.Final() {
		return
	}
	if parent := workflow.GetInfo(ctx).ParentWorkflowExecution; parent == nil || parent.ID != BatchWorkflowID(o.req.Batch.ID) {
		return // only the batch that started the run hears from it
	}
	p := BatchProgress{Line: o.req.Batch.Line, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		RunID: o.st.FirstRunID, Stage: stage, AccessEndedAt: o.st.AccessEndedAt}
	switch {
	case stage.Final():
		p.Outcome, p.Error = stage, truncate(errText, 200)
	case slices.Contains(waitingStages, stage) && o.once(toldWaiting):
		p.Waiting = true
	case !o.st.AccessEndedAt.IsZero() && o.once(toldAccess):
	default:
		return
	}
	f := workflow.SignalExternalWorkflow(ctx, BatchWorkflowID(o.req.Batch.ID), "", SignalBatchProgress, p)
	if !stage.Final() {
		return
	}
	// The outcome is the last thing the run says: wait for it to be delivered, briefly.
	wctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sent := false
	workflow.Go(wctx, func(gctx workflow.Context) {
		_ = f.Get(gctx, nil)
		sent = true
	})
	if ok, _ := workflow.AwaitWithTimeout(ctx, time.Minute, func() bool { return sent }); !ok {
		o.logger.Warn("the batch did not take the run's outcome within a minute", "batch", o.req.Batch.ID)
	}
}

// once reports whether what has not been told yet, and marks it told.
func (o *offboarding) once(what string) bool {
	if slices.Contains(o.st.ToldBatch, what) {
		return false
	}
	o.st.ToldBatch = append(o.st.ToldBatch, what)
	return true
}
