package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// retain waits until retention ends, indefinitely while a legal hold lasts.
func (o *offboarding) retain(ctx workflow.Context) (Stage, string, error) {
	if o.st.Hold != nil {
		return StageRetention, "", o.wait(ctx, 0, "")
	}
	t := now(ctx)
	if !t.Before(o.st.RetentionUntil) {
		return StageDeleting, "retention ended", nil
	}
	return StageRetention, "", o.wait(ctx, o.st.RetentionUntil.Sub(t), "retention until "+formatTime(o.st.RetentionUntil))
}

// wait blocks until a message changes the state, d passes (0: no limit) or the run should
// continue as new, which it reports as errContinueAsNew. The timer's summary is what it waits
// for, and says so when the decision keys are due first.
func (o *offboarding) wait(ctx workflow.Context, d time.Duration, what string) error {
	if o.shouldContinueAsNew(ctx) {
		return errContinueAsNew
	}
	if o.credentials(ctx) {
		o.refreshKeys(ctx)
		if d <= 0 || d > keyRefresh {
			d, what = keyRefresh, keyRefreshSummary(what)
		}
	}
	seen := o.version
	cond := func() bool { return o.version != seen || o.shouldContinueAsNew(ctx) }
	if d <= 0 {
		return workflow.Await(ctx, cond)
	}
	_, err := workflow.AwaitWithOptions(ctx, timer(d, what), cond)
	return err
}

// keyRefreshSummary is the summary of a timer cut short so that the run takes up new decision keys.
func keyRefreshSummary(what string) string {
	if what == "" {
		return "key refresh"
	}
	return what + "; key refresh first"
}

// timer is an await's timeout of d, its timer shown in the UI as summary.
func timer(d time.Duration, summary string) workflow.AwaitOptions {
	return workflow.AwaitOptions{Timeout: d, TimerOptions: workflow.TimerOptions{Summary: summary}}
}

func (o *offboarding) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > maxEventsPerRun
}

// continueAsNew carries the state into a fresh run once handlers have finished.
func (o *offboarding) continueAsNew(ctx workflow.Context) (Result, error) {
	o.settle(ctx)
	next := o.req
	st := *o.st
	next.Resume = &st
	o.logger.Info("continuing as new", "stage", string(o.st.Stage), "runs", o.st.Runs)
	return Result{}, workflow.NewContinueAsNewError(ctx, WorkflowType, next)
}
