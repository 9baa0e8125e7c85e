package workerproc

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"

	"github.com/offboard/offboard/genesys"
)

// timerBuckets are the upper bounds, in seconds, of every histogram the Temporal SDK and the
// workflow record: from the SDK's millisecond latencies up to the days a run spends awaiting
// approval or in retention.
var timerBuckets = []float64{
	0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10,
	30, 60, 300, 900, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400,
}

// genesysBuckets are the upper bounds, in seconds, of a Genesys request and a limiter wait.
var genesysBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// metrics is the worker's Prometheus registry and what feeds it: the Temporal SDK's handler
// (which the workflow and activities also report through) and the Genesys client's observer.
type metrics struct {
	reg     *prom.Registry
	handler client.MetricsHandler
	genesys *genesysMetrics
	// flush reports what the SDK's scope holds and stops it.
	flush func() error
}

// newMetrics builds the registry. The SDK's timers come out as histograms (with _bucket
// series, which histogram_quantile needs) rather than tally's default summaries.
func newMetrics(logger *slog.Logger) *metrics {
	reg := prom.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              reg,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: timerBuckets,
		OnRegisterError:         func(err error) { logger.Warn("metric registration failed", "error", err) },
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	return &metrics{
		reg:     reg,
		handler: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
		genesys: newGenesysMetrics(reg),
		flush:   closer.Close,
	}
}

func (m *metrics) httpHandler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// genesysMetrics implements genesys.Observer with Prometheus metrics.
type genesysMetrics struct {
	requests    *prom.CounterVec
	latency     *prom.HistogramVec
	rateLimited *prom.CounterVec
	waits       *prom.HistogramVec
}

var _ genesys.Observer = (*genesysMetrics)(nil)

func newGenesysMetrics(reg prom.Registerer) *genesysMetrics {
	m := &genesysMetrics{
		requests: prom.NewCounterVec(prom.CounterOpts{Name: "offboard_genesys_requests_total",
			Help: "Genesys Cloud requests by endpoint (method and path without IDs) and status (0: no response)."}, []string{"endpoint", "status"}),
		latency: prom.NewHistogramVec(prom.HistogramOpts{Name: "offboard_genesys_request_duration_seconds",
			Help: "Genesys Cloud request latency by endpoint.", Buckets: genesysBuckets}, []string{"endpoint"}),
		rateLimited: prom.NewCounterVec(prom.CounterOpts{Name: "offboard_genesys_rate_limited_total",
			Help: "Genesys Cloud 429 responses by endpoint."}, []string{"endpoint"}),
		waits: prom.NewHistogramVec(prom.HistogramOpts{Name: "offboard_genesys_limiter_wait_seconds",
			Help: "How long the client's rate limiter held a request, by reason (rate, retry-after).", Buckets: genesysBuckets}, []string{"reason"}),
	}
	reg.MustRegister(m.requests, m.latency, m.rateLimited, m.waits)
	return m
}

// Request implements genesys.Observer.
func (m *genesysMetrics) Request(endpoint string, status int, took time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(endpoint).Observe(took.Seconds())
	if status == http.StatusTooManyRequests {
		m.rateLimited.WithLabelValues(endpoint).Inc()
	}
}

// LimiterWait implements genesys.Observer.
func (m *genesysMetrics) LimiterWait(reason string, held time.Duration) {
	m.waits.WithLabelValues(reason).Observe(held.Seconds())
}
