package workflows

import (
	"strconv"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Metrics the workflow reports through workflow.GetMetricsHandler, which records nothing while a
// history replays, so that a replayed or recovered run never counts twice. The worker's
// Prometheus naming adds _total to counters and _seconds to timers (histograms). Their tags are
// stage, outcome, disposition and dry_run: never a user's ID.
const (
	// MetricStageEntered counts runs entering each stage (tag stage).
	MetricStageEntered = "offboard_stage_entered"
	// MetricStageDuration is how long runs spent in a stage they left (tag stage).
	MetricStageDuration = "offboard_stage_duration"
	// MetricRunsFinished counts runs reaching an outcome (tag outcome).
	MetricRunsFinished = "offboard_runs_finished"
)

// observeStage reports the move from the current stage to next: the time spent in the current
// one, and next entered or, for an outcome, the run finished. enterStage calls it first.
func (o *offboarding) observeStage(ctx workflow.Context, next Stage) {
	m := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{
		"disposition": string(o.req.Disposition), "dry_run": strconv.FormatBool(o.req.DryRun),
	})
	if since, ok := o.stageEnteredAt(); ok && o.st.Stage != next {
		m.WithTags(map[string]string{"stage": string(o.st.Stage)}).Timer(MetricStageDuration).Record(now(ctx).Sub(since))
	}
	switch {
	case next.Final():
		m.WithTags(map[string]string{"outcome": string(next)}).Counter(MetricRunsFinished).Inc(1)
	case next != o.st.Stage:
		m.WithTags(map[string]string{"stage": string(next)}).Counter(MetricStageEntered).Inc(1)
	}
}

// stageEnteredAt is when the run entered its current stage: the first of the history's last
// entries at that stage.
func (o *offboarding) stageEnteredAt() (time.Time, bool) {
	var at time.Time
	for i := len(o.st.History) - 1; i >= 0 && o.st.History[i].Stage == string(o.st.Stage); i-- {
		at = o.st.History[i].At
	}
	return at, !at.IsZero()
}
