package workerproc

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/workflows"
)

var (
	exerciseOnce sync.Once
	exercised    map[string]bool // the series names /metrics shows
	exposition   string          // what /metrics shows
)

// exercisedMetrics runs one archive offboarding, with the real activities against the emulator
// (two 429s injected), through a test workflow environment reporting to the worker's metrics,
// and returns the series names its /metrics then shows.
func exercisedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	exerciseOnce.Do(func() { exercised, exposition = exercise(t) })
	require.NotEmpty(t, exercised, "the offboarding did not run")
	return exercised
}

func exercise(t *testing.T) (map[string]bool, string) {
	ctx := context.Background()
	discard := slog.New(slog.DiscardHandler)
	m := newMetrics(discard)
	m.reg.MustRegister(newRunsInStage(&stageCounts{counts: map[string]int64{string(workflows.StageAwaitingApproval): 1}}, discard))

	emu := emulator.New(emulator.Options{RequestsPerMinute: -1, Users: 3, Conversations: 40, JobPolls: 1})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	gc, err := genesys.New(ctx, genesys.Config{ClientID: emulator.DevClientID, ClientSecret: emulator.DevClientSecret,
		APIURL: srv.URL, RequestsPerMinute: 60000, Timeout: 5 * time.Second},
		genesys.WithObserver(m.genesys), genesys.WithLogger(discard))
	require.NoError(t, err)
	store, err := bundle.Open(ctx, "file://"+t.TempDir())
	require.NoError(t, err)
	defer store.Close()
	acts := &activities.Activities{Genesys: gc, Store: store, Export: activities.ExportOptions{PollInterval: time.Millisecond}}

	var user string
	for _, u := range emu.SeedUsers() {
		if u.State == string(genesys.StateActive) && u.Conversations > 0 {
			user = u.ID
		}
	}
	require.NotEmpty(t, user, "no active seeded user with conversations")
	emu.SetFaults(emulator.Faults{RateLimitBurst: 2, RetryAfter: 1})

	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(discard))
	s.SetMetricsHandler(m.handler)
	env := s.NewTestWorkflowEnvironment()
	policy := workflows.DefaultPolicy()
	policy.UnsignedDecisions = true
	Register(env, policy, acts)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.WorkflowID(user)})
	env.ExecuteWorkflow(workflows.WorkflowType, workflows.Request{
		UserID: user, Disposition: workflows.DispositionArchive, Reason: "left", RequestedBy: "hr-test", HREventID: "evt-metrics",
	})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.NoError(t, m.flush())

	series, body := scrape(t, m)
	assert.NotContains(t, body, user, "no metric label carries the user's ID")
	return series, body
}

// scrape reads /metrics as Prometheus would and returns the series names it shows (a
// histogram's name_bucket, name_sum and name_count, a counter's name).
func scrape(t *testing.T, m *metrics) (map[string]bool, string) {
	rec := httptest.NewRecorder()
	m.httpHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	series := map[string]bool{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series[line[:strings.IndexAny(line, "{ ")]] = true
	}
	return series, rec.Body.String()
}

func Test_GivenAnOffboardingRun_ShouldExportTheBusinessMetrics(t *testing.T) {
	got := exercisedMetrics(t)
	var names []string
	for n := range got {
		if strings.HasPrefix(n, "offboard_") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	t.Logf("offboard series: %v", names)
	for _, name := range []string{
		"offboard_stage_entered_total",
		"offboard_runs_finished_total",
		"offboard_exported_conversations_total",
		"offboard_exported_bytes_total",
		"offboard_genesys_requests_total",
		"offboard_genesys_rate_limited_total",
		"offboard_runs_in_stage",
	} {
		assert.True(t, got[name], "counter or gauge %s", name)
	}
	for _, name := range []string{
		"offboard_stage_duration_seconds",
		"offboard_genesys_request_duration_seconds",
		"offboard_genesys_limiter_wait_seconds",
	} {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			assert.True(t, got[name+suffix], "histogram series %s%s", name, suffix)
		}
	}
}

func Test_GivenAnOffboardingRun_ShouldCountEachStageAndTheOutcomeOnce(t *testing.T) {
	exercisedMetrics(t)
	for _, want := range []string{
		`offboard_stage_entered_total{[^}]*stage="checking"[^}]*} 1`,
		`offboard_stage_entered_total{[^}]*stage="exporting"[^}]*} 1`,
		`offboard_stage_entered_total{[^}]*stage="verifying"[^}]*} 1`,
		`offboard_runs_finished_total{[^}]*outcome="archived"[^}]*} 1`,
		`offboard_stage_duration_seconds_count{[^}]*stage="exporting"[^}]*} 1`,
		`offboard_runs_in_stage{stage="awaiting-approval"} 1`,
	} {
		assert.Regexp(t, "(?m)^"+want+"$", exposition)
	}
	assert.Regexp(t, `(?m)^offboard_runs_finished_total{disposition="archive",dry_run="false",`, exposition, "tagged with the disposition and dry_run")
}

func Test_GivenTheSDKRecordsATimer_ShouldExportAHistogramWithBuckets(t *testing.T) {
	m := newMetrics(slog.New(slog.DiscardHandler))
	// The SDK records its latencies (activity execution, workflow end to end) through this handler.
	m.handler.WithTags(map[string]string{"activity_type": "Check"}).Timer("temporal_activity_execution_latency").Record(3 * time.Second)
	require.NoError(t, m.flush())
	got, _ := scrape(t, m)
	assert.True(t, got["temporal_activity_execution_latency_seconds_bucket"], "the SDK's timers are histograms, not summaries")
	assert.False(t, got["temporal_activity_execution_latency_seconds"], "no summary quantile series")
}
