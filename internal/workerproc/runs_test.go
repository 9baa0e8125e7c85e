package workerproc

import (
	"context"
	"log/slog"
	"regexp"
	"testing"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/offboard/offboard/workflows"
)

// stageCounts answers visibility counts by the stage its query names; queries holds the queries.
type stageCounts struct {
	counts  map[string]int64
	queries []string
}

var stageInQuery = regexp.MustCompile(workflows.SAStage + ` = '([a-z-]+)'$`)

func (s *stageCounts) CountWorkflow(_ context.Context, r *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	s.queries = append(s.queries, r.GetQuery())
	m := stageInQuery.FindStringSubmatch(r.GetQuery())
	if m == nil {
		return &workflowservice.CountWorkflowExecutionsResponse{}, nil
	}
	return &workflowservice.CountWorkflowExecutionsResponse{Count: s.counts[m[1]]}, nil
}

func Test_GivenRunsAwaitingApproval_ShouldExportThemAsRunsInStage(t *testing.T) {
	counts := &stageCounts{counts: map[string]int64{string(workflows.StageAwaitingApproval): 2, string(workflows.StageRetention): 5}}
	reg := prom.NewRegistry()
	reg.MustRegister(newRunsInStage(counts, slog.New(slog.DiscardHandler)))

	got := gaugeByStage(t, reg)
	assert.Equal(t, 2.0, got[string(workflows.StageAwaitingApproval)])
	assert.Equal(t, 5.0, got[string(workflows.StageRetention)])
	assert.Contains(t, got, string(workflows.StageExporting), "every stage a run can be at is shown, zero or not")
	assert.NotContains(t, got, string(workflows.OutcomeDeleted), "outcomes are not stages a run is at")
	for _, q := range counts.queries {
		assert.Contains(t, q, "ExecutionStatus = 'Running'")
	}

	asked := len(counts.queries)
	gaugeByStage(t, reg)
	assert.Equal(t, asked, len(counts.queries), "a second scrape soon after uses the counts it has")
}

func gaugeByStage(t *testing.T, reg *prom.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, families, 1)
	got := map[string]float64{}
	for _, m := range families[0].GetMetric() {
		got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
	}
	return got
}
