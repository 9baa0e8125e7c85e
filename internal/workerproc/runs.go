package workerproc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/offboard/offboard/workflows"
)

// runCounter counts the running offboardings at a stage (client.Client.CountWorkflow).
type runCounter interface {
	CountWorkflow(ctx context.Context, request *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error)
}

// runsInStage is the gauge offboard_runs_in_stage: how many runs are at each stage now, from
// Temporal's visibility, since no one process sees every run. Approvals waiting are the runs at
// awaiting-approval. Every worker of a namespace exports the same numbers; dashboards take max.
// Counts are kept for maxAge, so that scrapes do not load visibility.
type runsInStage struct {
	counter runCounter
	logger  *slog.Logger
	desc    *prom.Desc
	maxAge  time.Duration

	mu     sync.Mutex
	at     time.Time
	counts map[workflows.Stage]int64
}

func newRunsInStage(c runCounter, logger *slog.Logger) *runsInStage {
	return &runsInStage{
		counter: c, logger: logger, maxAge: 30 * time.Second,
		desc: prom.NewDesc("offboard_runs_in_stage",
			"Running offboardings at each stage, from Temporal visibility (the same on every worker: take max).", []string{"stage"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (r *runsInStage) Describe(ch chan<- *prom.Desc) { ch <- r.desc }

// Collect implements prometheus.Collector. A stage whose count failed is left out.
func (r *runsInStage) Collect(ch chan<- prom.Metric) {
	for stage, n := range r.current() {
		ch <- prom.MustNewConstMetric(r.desc, prom.GaugeValue, float64(n), string(stage))
	}
}

func (r *runsInStage) current() map[workflows.Stage]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts != nil && time.Since(r.at) < r.maxAge {
		return r.counts
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := map[workflows.Stage]int64{}
	for _, stage := range workflows.Stages() {
		if stage.Final() {
			continue
		}
		q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s'", workflows.WorkflowType, workflows.SAStage, stage)
		resp, err := r.counter.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		if err != nil {
			r.logger.Warn("count offboardings by stage for metrics", "stage", string(stage), "error", err)
			continue
		}
		counts[stage] = resp.GetCount()
	}
	r.counts, r.at = counts, time.Now()
	return counts
}
