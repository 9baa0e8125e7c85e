package workerproc

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dashboardPath is the Grafana dashboard shipped for the worker's metrics.
const dashboardPath = "../../deploy/grafana/offboard-dashboard.json"

// dashboardPanel is what the test reads of a Grafana panel: its queries, and a row's panels.
type dashboardPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

func dashboardQueries(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	require.NoError(t, err)
	var d struct {
		Panels []dashboardPanel `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &d))
	out := map[string][]string{}
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out[p.Title] = append(out[p.Title], tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// The parts of a PromQL expression that are not metric names: strings, label matchers, ranges,
// Grafana variables, grouping clauses, function names (an identifier before "("), numbers and
// keywords.
var (
	promqlNoise = []*regexp.Regexp{
		regexp.MustCompile(`"(?:[^"\\]|\\.)*"`),
		regexp.MustCompile(`\{[^}]*\}`),
		regexp.MustCompile(`\[[^\]]*\]`),
		regexp.MustCompile(`\$\{?\w+\}?`),
		regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`),
		regexp.MustCompile(`\b[a-zA-Z_][a-zA-Z0-9_]*\s*\(`),
	}
	promqlIdentifier = regexp.MustCompile(`\b[a-zA-Z_:][a-zA-Z0-9_:]*\b`)
	promqlKeywords   = []string{"and", "or", "unless", "bool", "offset", "inf", "nan"}
)

// metricNames are the metric names a PromQL expression selects, as written (a histogram's
// name_bucket, name_sum or name_count).
func metricNames(expr string) []string {
	for _, re := range promqlNoise {
		expr = re.ReplaceAllString(expr, " ")
	}
	var names []string
	for _, id := range promqlIdentifier.FindAllString(expr, -1) {
		if !slices.Contains(promqlKeywords, id) {
			names = append(names, id)
		}
	}
	return names
}

func Test_GivenAPromQLExpression_ShouldFindTheMetricsItSelects(t *testing.T) {
	got := metricNames(`histogram_quantile(0.95, sum by (le, endpoint) (rate(offboard_genesys_request_duration_seconds_bucket{status="429", x=~"a|b"}[$__rate_interval]))) / on (job) group_left(instance) up > bool 0`)
	assert.Equal(t, []string{"offboard_genesys_request_duration_seconds_bucket", "up"}, got)
}

func Test_GivenTheGrafanaDashboard_ShouldQueryOnlyMetricsTheWorkerExports(t *testing.T) {
	exported := exercisedMetrics(t)
	queries := dashboardQueries(t)
	require.NotEmpty(t, queries)
	for title, exprs := range queries {
		for _, expr := range exprs {
			names := metricNames(expr)
			assert.NotEmpty(t, names, "panel %q: %s selects no metric", title, expr)
			for _, name := range names {
				// Series names as /metrics shows them: a histogram's _bucket, _sum and _count,
				// so that a quantile over a counter or a summary fails here.
				assert.True(t, exported[name], "panel %q queries %s, which the worker does not export", title, name)
			}
		}
	}
}
