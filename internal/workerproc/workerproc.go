// Package workerproc runs an Offboard worker: the Temporal worker with the Offboarding workflow
// and its activities, a Genesys request budget, health and Prometheus metrics, and a graceful
// stop. The worker binary and devstack both call Run.
package workerproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/webhook"
	"github.com/offboard/offboard/workflows"
)

// Config is everything Run needs.
type Config struct {
	// Temporal are the client options; Logger and MetricsHandler are filled in by Run. Its
	// DataConverter must be set (config.DataConverter): config.ConnectTemporal refuses to
	// connect without one.
	Temporal client.Options
	// Genesys reaches the Genesys org. Ignored when GenesysClient is set.
	Genesys genesys.Config
	// GenesysClient, when set, is used instead of building one from Genesys (tests); its
	// requests are then not in the offboard_genesys_* metrics.
	GenesysClient genesys.Client
	// ExportURL is the export store URL.
	ExportURL string
	// WebhookURL receives notifications; empty disables them.
	WebhookURL string
	// WebhookSecrets sign the notifications (the first signs); Run refuses a webhook without one.
	WebhookSecrets []webhook.Secret
	// Links makes the approval links of approval notifications; Run refuses a signing key the
	// policy's decision keys do not hold.
	Links activities.Links
	// Export tunes the export activity; zero values are the defaults.
	Export activities.ExportOptions
	// Policy is the offboarding policy; Run refuses an invalid one.
	Policy workflows.Policy
	// Reconcile is the reconciliation's policy and timing; with a roster URL, Run keeps its
	// Schedule in line.
	Reconcile config.Reconcile
	// Budget is the fleet's Genesys request budget.
	Budget config.Budget
	// Deployment is the worker's Worker Deployment version; without a build ID it is unversioned.
	Deployment config.Deployment
	// Addr serves /healthz, /readyz and /metrics; empty or "off" disables it.
	Addr string
	// ShutdownTimeout is how long a stop waits for in-flight activities.
	ShutdownTimeout time.Duration
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Development allows a policy of unsigned decisions: the devstack sets it, production never.
	Development bool
	// OnListen, when set, is called with the health server's bound address (useful with ":0").
	OnListen func(addr string)
}

// FromSource reads a worker Config from the environment and flags. Every error names its setting.
func FromSource(src config.Source, logger *slog.Logger) (Config, error) {
	cfg := Config{Addr: src.String(config.EnvWorkerAddr, config.DefaultWorkerAddr), Logger: logger}
	var errs [11]error
	cfg.Temporal, errs[0] = src.Temporal()
	cfg.Policy, errs[1] = src.Policy()
	cfg.Budget, errs[2] = src.Budget()
	cfg.Genesys, errs[3] = src.Genesys(cfg.Budget)
	cfg.ExportURL, errs[4] = src.URL(config.EnvExportURL, config.DefaultExportURL, "file", "s3", "gs", "azblob", "mem")
	cfg.WebhookURL, errs[5] = src.URL(config.EnvWebhookURL, "", "http", "https")
	cfg.ShutdownTimeout, errs[6] = src.Duration(config.EnvShutdownTimeout, config.DefaultShutdownTimeout)
	cfg.WebhookSecrets, errs[7] = src.WebhookSecrets()
	cfg.Links, errs[8] = src.Links()
	cfg.Deployment, errs[9] = src.Deployment()
	cfg.Reconcile, errs[10] = src.Reconcile()
	if err := errors.Join(errs[:]...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Register registers the Offboarding workflow under workflows.WorkflowType, ResolvePerson, each
// with its VersioningBehaviours entry, and every activity method of acts on r. Tests use it to
// build a worker of their own.
func Register(r worker.Registry, policy workflows.Policy, acts *activities.Activities) {
	registerWorkflows(r, &workflows.Workflows{Policy: policy}, acts)
}

func registerWorkflows(r worker.Registry, w *workflows.Workflows, acts *activities.Activities) {
	w.Register(behaviourRegistry{r})
	r.RegisterActivity(acts)
}

// WorkerOptions are the worker options for the budget, stop timeout and deployment version. The
// task queue rate is enforced by the server across every worker of the queue; one worker may
// start as many, so that a busy one takes what idle ones leave. Both count activity starts; the
// Genesys client's limiter keeps the fleet's requests inside them under the budget.
func WorkerOptions(b config.Budget, stopTimeout time.Duration, d config.Deployment) worker.Options {
	fleet := float64(b.FleetRequestsPerMinute) / 60
	return worker.Options{
		TaskQueueActivitiesPerSecond: fleet,
		WorkerActivitiesPerSecond:    fleet,
		WorkerStopTimeout:            stopTimeout,
		// Export activities heartbeat; throttling keeps heartbeats cheap but timely.
		MaxHeartbeatThrottleInterval: 10 * time.Second,
		DeploymentOptions:            deploymentOptions(d),
		Interceptors:                 []interceptor.WorkerInterceptor{&priorityInterceptor{}},
	}
}

// Run connects to Temporal, runs the worker until ctx is done, then stops it gracefully:
// polling stops, and in-flight activities get ShutdownTimeout to finish or heartbeat before
// their contexts are cancelled (they are then retried by another worker, resuming from the
// last heartbeat).
func Run(ctx context.Context, cfg Config) error {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := cfg.Policy.Validate(); err != nil {
		return fmt.Errorf("refusing to start with an invalid policy: %w", err)
	}
	if err := cfg.Policy.CheckDecisionTrust(cfg.Development); err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}
	if err := checkNotifications(cfg); err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}
	if cfg.Budget.FleetRequestsPerMinute <= 0 {
		cfg.Budget = config.Budget{FleetRequestsPerMinute: genesys.DefaultRequestsPerMinute, Replicas: 1}
	}

	m := newMetrics(logger)
	defer func() { _ = m.flush() }()

	opts := cfg.Temporal
	opts.Logger = tlog.NewStructuredLogger(logger)
	opts.MetricsHandler = m.handler
	c, err := config.ConnectTemporal(ctx, opts, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	m.reg.MustRegister(newRunsInStage(c, logger))

	gc := cfg.GenesysClient
	if gc == nil {
		g, err := genesys.New(ctx, cfg.Genesys, genesys.WithObserver(m.genesys))
		if err != nil {
			return fmt.Errorf("build the Genesys client: %w", err)
		}
		gc = g
	}
	store, err := bundle.Open(ctx, cfg.ExportURL)
	if err != nil {
		return fmt.Errorf("%s: %w", config.EnvExportURL, err)
	}
	defer store.Close()

	acts := &activities.Activities{Genesys: gc, Store: store, WebhookURL: cfg.WebhookURL, WebhookSecrets: cfg.WebhookSecrets,
		Links: cfg.Links, Export: cfg.Export, Temporal: c}
	w := worker.New(c, workflows.TaskQueue, WorkerOptions(cfg.Budget, cfg.ShutdownTimeout, cfg.Deployment))
	registerWorkflows(w, &workflows.Workflows{Policy: cfg.Policy, Reconcile: cfg.Reconcile.Settings}, acts)
	if err := keepReconcileSchedule(ctx, c, cfg.Reconcile, logger); err != nil {
		return err
	}

	var running atomic.Bool
	srv, addr, err := serveHealth(cfg.Addr, m.httpHandler(), c, &running, logger)
	if err != nil {
		return err
	}
	if srv != nil {
		if cfg.OnListen != nil {
			cfg.OnListen(addr)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}

	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %s: %w", workflows.TaskQueue, err)
	}
	running.Store(true)
	logger.Info("worker started",
		"taskQueue", workflows.TaskQueue, "namespace", opts.Namespace, "temporal", opts.HostPort,
		"fleetRequestsPerMinute", cfg.Budget.FleetRequestsPerMinute, "fallbackRequestsPerMinute", cfg.Budget.PerProcess(),
		"healthAddr", addr, "deploymentVersion", cfg.Deployment.String())
	reportRouting(ctx, c, cfg.Deployment, logger)
	<-ctx.Done()
	running.Store(false)
	logger.Info("stopping worker: waiting for in-flight activities", "timeout", cfg.ShutdownTimeout)
	w.Stop()
	logger.Info("worker stopped")
	return nil
}

// serveHealth serves /healthz (process alive), /readyz (worker running and Temporal reachable)
// and /metrics. It returns a nil server when addr is empty or "off".
func serveHealth(addr string, metrics http.Handler, c client.Client, running *atomic.Bool, logger *slog.Logger) (*http.Server, string, error) {
	if addr == "" || addr == "off" {
		return nil, "", nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if !running.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"status":"worker not running"}`)
			return
		}
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"status":"temporal unreachable"}`)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ready"}`)
	})
	mux.Handle("GET /metrics", metrics)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("%s=%s: listen: %w", config.EnvWorkerAddr, addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("health server stopped", "error", err)
		}
	}()
	return srv, ln.Addr().String(), nil
}

// checkNotifications refuses notifications their receivers could not trust or use: unsigned
// ones, and links signed by a key the runs would refuse.
func checkNotifications(cfg Config) error {
	if cfg.WebhookURL != "" && len(cfg.WebhookSecrets) == 0 {
		return fmt.Errorf("%s is set but no secret signs the notifications, and a receiver cannot trust an unsigned one: set %s (a whsec_ secret the receiver shares; generate one with: echo whsec_$(openssl rand -base64 32))",
			config.EnvWebhookURL, config.EnvWebhookSecretFile)
	}
	if s := cfg.Links.Signer; s != nil && !slices.Contains(cfg.Policy.DecisionKeys, credential.EncodePublicKey(s.PublicKey())) {
		return fmt.Errorf("the decision signing key %s is not in %s, so every approval link it signs would be refused: add %s to it",
			s.KeyID(), workflows.EnvDecisionKeys, credential.EncodePublicKey(s.PublicKey()))
	}
	return nil
}
