package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/devstack/defaults"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/workerproc"
	"github.com/offboard/offboard/workflows"
)

// Dev tokens of the HR API. They are public and only ever unlock the local stack.
const (
	TokenHR       = "dev-hr"
	TokenAlice    = "dev-alice"
	TokenBob      = "dev-bob"
	TokenAuditor  = "dev-auditor"
	IdentityHR    = "hr-system"
	IdentityAlice = "alice"
	IdentityBob   = "bob"
	// IdentityAuditor is the dev auditor's identity.
	IdentityAuditor = "auditor"
)

// DevTokens are the HR API's bearer tokens in the local stack.
func DevTokens() []config.Token {
	return []config.Token{
		config.NewToken(TokenHR, config.RoleHR, IdentityHR),
		config.NewToken(TokenAlice, config.RoleApprover, IdentityAlice),
		config.NewToken(TokenBob, config.RoleApprover, IdentityBob),
		config.NewToken(TokenAuditor, config.RoleAuditor, IdentityAuditor),
	}
}

// DevPolicyEnv is the worker policy of the local stack, as the variables internal/config reads:
// short enough that a delete with retention PT15S runs in a demo, strict enough to show the rules.
func DevPolicyEnv() map[string]string {
	return map[string]string{
		workflows.EnvApprovalsRequired: "1",
		workflows.EnvApprovers:         IdentityAlice + "," + IdentityBob,
		workflows.EnvApprovalTimeout:   "P1D",
		workflows.EnvRetentionDefault:  "PT1M",
		workflows.EnvRetentionMin:      "PT0S",
		workflows.EnvRetentionMax:      "P400D",
		// Few, long analytics jobs keep the export quick under the emulator's 300 requests/min.
		workflows.EnvExportWindow: "P400D",
	}
}

// Options configures Start. DefaultOptions gives the documented addresses.
type Options struct {
	// DataDir holds the Temporal database and the export bundles (exports/).
	DataDir string
	// Host is the IP every listener binds.
	Host string
	// Ports; 0 picks a free one (tests). MetricsPort 0 turns the worker's metrics server off.
	TemporalPort, UIPort, EmulatorPort, APIPort, MetricsPort int
	// NoUI leaves the Temporal Web UI out.
	NoUI bool
	// Seed, Users and Conversations shape the emulator's dataset.
	Seed          int64
	Users         int
	Conversations int
	// PolicyEnv overrides variables of DevPolicyEnv, e.g. for tests of a stricter policy.
	PolicyEnv map[string]string
	// WebhookURL receives the worker's notifications; empty disables them.
	WebhookURL string
	// Logger receives every component's logs; nil discards them.
	Logger *slog.Logger
}

// DefaultOptions are the devstack command's defaults.
func DefaultOptions() Options {
	return Options{
		DataDir:       defaults.DataDir,
		Host:          DefaultHost,
		TemporalPort:  DefaultTemporalPort,
		UIPort:        DefaultUIPort,
		EmulatorPort:  defaults.EmulatorPort,
		APIPort:       defaults.APIPort,
		MetricsPort:   defaults.MetricsPort,
		Seed:          1,
		Users:         50,
		Conversations: 5000,
	}
}

// TemporalOptions are the options of the stack's Temporal server.
func (o Options) TemporalOptions(logger *slog.Logger) TemporalOptions {
	return TemporalOptions{
		DataDir: o.DataDir, Host: o.Host, Port: o.TemporalPort, UIPort: o.UIPort, NoUI: o.NoUI,
		Logger: logger, PortFlag: "--temporal-port", UIPortFlag: "--ui-port",
	}
}

// Stack is the running local stack.
type Stack struct {
	// Temporal is the in-process server and its UI.
	Temporal *Temporal
	// Emulator is the seeded Genesys emulator the worker talks to; tests may inject faults.
	Emulator *emulator.Emulator
	// EmulatorURL, APIURL and MetricsURL are base URLs; MetricsURL is empty when off.
	EmulatorURL, APIURL, MetricsURL string
	// ExportURL is the worker's export store; ExportDir is its directory.
	ExportURL, ExportDir string
	// Client is a Temporal client of the stack's namespace, for the demo and tests.
	Client client.Client

	logger *slog.Logger
	cancel context.CancelFunc
	group  *errgroup.Group
	ctx    context.Context
	once   sync.Once
	err    error
}

// Start starts every part and returns once they all answer. The parts run until ctx is done,
// Stop is called or one of them fails; Wait reports which.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.DataDir == "" {
		return nil, errors.New("the stack needs a data directory (--data-dir)")
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve --data-dir %s: %w", o.DataDir, err)
	}
	o.DataDir = dataDir

	// Bind the HTTP ports first: a taken port then fails fast, before Temporal starts.
	emLn, err := listen(o.Host, o.EmulatorPort, "Genesys emulator", "--emulator-port")
	if err != nil {
		return nil, err
	}
	apiLn, err := listen(o.Host, o.APIPort, "HR API", "--api-port")
	if err != nil {
		emLn.Close()
		return nil, err
	}
	metricsAddr := "off"
	if o.MetricsPort != 0 {
		if err := checkPortFree(o.Host, o.MetricsPort, "worker metrics", "--metrics-port"); err != nil {
			emLn.Close()
			apiLn.Close()
			return nil, err
		}
		metricsAddr = net.JoinHostPort(o.Host, strconv.Itoa(o.MetricsPort))
	}

	tmp, err := StartTemporal(ctx, o.TemporalOptions(logger))
	if err != nil {
		emLn.Close()
		apiLn.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(runCtx)
	s := &Stack{
		Temporal:    tmp,
		EmulatorURL: "http://" + emLn.Addr().String(),
		APIURL:      "http://" + apiLn.Addr().String(),
		ExportDir:   filepath.Join(o.DataDir, "exports"),
		logger:      logger,
		cancel:      cancel,
		group:       g,
		ctx:         gctx,
	}
	s.ExportURL = (&url.URL{Scheme: "file", Path: filepath.ToSlash(s.ExportDir)}).String()
	if metricsAddr != "off" {
		s.MetricsURL = "http://" + metricsAddr
	}
	// Stop with the caller's context too, unless the caller stops us first.
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-runCtx.Done():
		}
	}()
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()

	s.Client, err = tmp.Dial(ctx, logger)
	if err != nil {
		return s, err
	}

	s.Emulator = emulator.New(emulator.Options{
		Seed: o.Seed, Users: o.Users, Conversations: o.Conversations,
		Logger: logger.With("component", "emulator"),
	})
	serve(g, gctx, emLn, s.Emulator, "Genesys emulator")

	policyEnv := DevPolicyEnv()
	maps.Copy(policyEnv, o.PolicyEnv)
	policy, err := config.Source{Env: config.MapEnv(policyEnv)}.Policy()
	if err != nil {
		return s, fmt.Errorf("the dev policy is invalid: %w", err)
	}
	wcfg := workerproc.Config{
		Temporal: client.Options{HostPort: tmp.Address, Namespace: tmp.Namespace},
		Genesys: genesys.Config{
			ClientID: emulator.DevClientID, ClientSecret: genesys.Secret(emulator.DevClientSecret),
			APIURL: s.EmulatorURL, RequestsPerMinute: genesys.DefaultRequestsPerMinute,
		},
		ExportURL:  s.ExportURL,
		WebhookURL: o.WebhookURL,
		// The emulator fulfils jobs within a few polls; Genesys's own take seconds to minutes.
		Export:          activities.ExportOptions{PollInterval: 200 * time.Millisecond},
		Policy:          policy,
		Budget:          config.Budget{FleetRequestsPerMinute: genesys.DefaultRequestsPerMinute, Replicas: 1},
		Addr:            metricsAddr,
		ShutdownTimeout: 10 * time.Second,
		Logger:          logger.With("component", "worker"),
	}
	g.Go(func() error {
		if err := workerproc.Run(gctx, wcfg); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		return nil
	})

	api, err := newHRAPI(s.Client, policy, logger.With("component", "hrapi"))
	if err != nil {
		return s, err
	}
	serve(g, gctx, apiLn, api, "HR API")

	if err := waitHTTP(ctx, s.APIURL+"/healthz"); err != nil {
		return s, fmt.Errorf("HR API: %w", err)
	}
	return s, nil
}

// Done is closed when the stack begins to stop: its context ended, Stop was called or a part failed.
func (s *Stack) Done() <-chan struct{} { return s.ctx.Done() }

// Wait blocks until the stack stops (its context ended or Stop) or a part fails, then stops
// every part. It returns the first failure; a requested stop is not one.
func (s *Stack) Wait() error {
	<-s.ctx.Done()
	return s.Stop()
}

// Stop stops every part: the HR API and the emulator, then the worker, then Temporal.
func (s *Stack) Stop() error {
	s.once.Do(func() {
		s.cancel()
		err := s.group.Wait()
		if s.Client != nil {
			s.Client.Close()
		}
		s.err = errors.Join(err, s.Temporal.Stop())
	})
	return s.err
}

// serve runs an HTTP server on ln in g until ctx is done, then shuts it down gracefully.
func serve(g *errgroup.Group, ctx context.Context, ln net.Listener, h http.Handler, what string) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("%s on %s: %w", what, ln.Addr(), err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
}

// waitHTTP polls url until it answers 200, for up to 15 seconds.
func waitHTTP(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not become ready: %w", url, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
