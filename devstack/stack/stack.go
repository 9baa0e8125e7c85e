package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	"go.temporal.io/sdk/converter"
	"golang.org/x/sync/errgroup"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/devstack/defaults"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/pace"
	"github.com/offboard/offboard/internal/workerproc"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
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
	// TemporalDB, when set, is the PostgreSQL URL Temporal keeps its runs in instead of SQLite
	// (TemporalOptions.Database).
	TemporalDB string
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
	// RequestsPerMinute is the emulator's rate limit per OAuth client and the worker's Genesys
	// budget; 0 is Genesys's default (genesys.DefaultRequestsPerMinute).
	RequestsPerMinute int
	// PolicyEnv overrides variables of DevPolicyEnv, e.g. for tests of a stricter policy.
	PolicyEnv map[string]string
	// Env is the operator's environment, read as the worker reads it: its policy variables,
	// OFFBOARD_POLICY_FILE, OFFBOARD_WEBHOOK_URL and the payload keyring win over the dev
	// defaults. Nil reads none.
	Env config.Env
	// WebhookURL receives the worker's notifications; empty runs the stack's own Receiver.
	WebhookURL string
	// Notices receives the lines of the stack's own receiver, one per notification; nil is standard output.
	Notices io.Writer
	// UnsignedDecisions lets decisions without a credential count (development only).
	UnsignedDecisions bool
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
		DataDir: o.DataDir, Database: o.TemporalDB, Host: o.Host, Port: o.TemporalPort, UIPort: o.UIPort, NoUI: o.NoUI,
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
	// Signer signs the HR API's decision credentials; SigningKeyPath is its key file.
	Signer         *credential.Signer
	SigningKeyPath string
	// Policy is the policy in force.
	Policy workflows.Policy
	// WebhookURL receives the worker's notifications; Receiver is the stack's own receiver, nil
	// when they go to the operator's URL. DevWebhookSecret says the dev secret signs them.
	WebhookURL       string
	Receiver         *Receiver
	DevWebhookSecret bool
	// EventSecret is DevEventSecret while the HR API's events use it; empty when the operator
	// configured the event secrets.
	EventSecret string
	// PayloadKeysPath is the payload keyring file (empty when the operator's environment gives
	// the keyring as text); CodecURL the HR API's codec server; UICodecURL the Web UI's codec
	// endpoint, empty without one (see UICodec).
	PayloadKeysPath, CodecURL, UICodecURL string

	// payloads encrypts every payload of the stack's clients.
	payloads converter.PayloadCodec

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
	o, err = o.resolved()
	if err != nil {
		return nil, err
	}
	keysPath, payloads, err := devPayloadKeys(o.DataDir, o.env())
	if err != nil {
		return nil, err
	}
	ls, err := bind(o)
	if err != nil {
		return nil, err
	}
	topts := o.TemporalOptions(o.Logger)
	topts.DataConverter, topts.UICodecEndpoint = config.DataConverter(payloads), uiCodecEndpoint(o, ls)
	tmp, err := StartTemporal(ctx, topts)
	if err != nil {
		ls.close()
		return nil, err
	}
	s := newStack(ctx, o, tmp, ls)
	s.PayloadKeysPath, s.payloads, s.UICodecURL = keysPath, payloads, topts.UICodecEndpoint
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	return s, s.startParts(ctx, o, ls)
}

// resolved fills in the logger and host and makes the data directory absolute.
func (o Options) resolved() (Options, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.DataDir == "" {
		return o, errors.New("the stack needs a data directory (--data-dir)")
	}
	if o.WebhookURL == "" && o.Env != nil {
		url, err := config.Source{Env: o.Env}.URL(config.EnvWebhookURL, "", "http", "https")
		if err != nil {
			return o, err
		}
		o.WebhookURL = url
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return o, fmt.Errorf("resolve --data-dir %s: %w", o.DataDir, err)
	}
	o.DataDir = dataDir
	return o, nil
}

// listeners are the stack's HTTP ports, bound before Temporal starts so that a taken port
// fails fast.
type listeners struct {
	emulator, api net.Listener
	// metricsAddr is the worker's metrics address, "off" without one.
	metricsAddr string
}

func bind(o Options) (*listeners, error) {
	emLn, err := listen(o.Host, o.EmulatorPort, "Genesys emulator", "--emulator-port")
	if err != nil {
		return nil, err
	}
	ls := &listeners{emulator: emLn, metricsAddr: "off"}
	ls.api, err = listen(o.Host, o.APIPort, "HR API", "--api-port")
	if err != nil {
		emLn.Close()
		return nil, err
	}
	if o.MetricsPort != 0 {
		if err := checkPortFree(o.Host, o.MetricsPort, "worker metrics", "--metrics-port"); err != nil {
			ls.close()
			return nil, err
		}
		ls.metricsAddr = net.JoinHostPort(o.Host, strconv.Itoa(o.MetricsPort))
	}
	return ls, nil
}

func (ls *listeners) close() {
	ls.emulator.Close()
	ls.api.Close()
}

// newStack is the stack around a started Temporal, before its other parts run.
func newStack(ctx context.Context, o Options, tmp *Temporal, ls *listeners) *Stack {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(runCtx)
	s := &Stack{
		Temporal:    tmp,
		EmulatorURL: "http://" + ls.emulator.Addr().String(),
		APIURL:      "http://" + ls.api.Addr().String(),
		CodecURL:    "http://" + ls.api.Addr().String() + "/codec",
		ExportDir:   filepath.Join(o.DataDir, "exports"),
		logger:      o.Logger,
		cancel:      cancel,
		group:       g,
		ctx:         gctx,
	}
	s.ExportURL = (&url.URL{Scheme: "file", Path: filepath.ToSlash(s.ExportDir)}).String()
	if ls.metricsAddr != "off" {
		s.MetricsURL = "http://" + ls.metricsAddr
	}
	// Stop with the caller's context too, unless the caller stops us first.
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-runCtx.Done():
		}
	}()
	return s
}

// startParts runs the emulator, the worker and the HR API, and waits for the API to answer.
func (s *Stack) startParts(ctx context.Context, o Options, ls *listeners) error {
	var err error
	s.Client, err = s.Temporal.Dial(ctx, s.logger)
	if err != nil {
		return err
	}
	s.Emulator = emulator.New(emulator.Options{
		Seed: o.Seed, Users: o.Users, Conversations: o.Conversations, RequestsPerMinute: o.budget(),
		Logger: s.logger.With("component", "emulator"),
	})
	serve(s.group, s.ctx, ls.emulator, s.Emulator, "Genesys emulator")

	s.Signer, s.SigningKeyPath, err = devSigner(o.DataDir)
	if err != nil {
		return err
	}
	policyEnv := DevPolicyEnv()
	policyEnv[workflows.EnvDecisionKeys] = credential.EncodePublicKey(s.Signer.PublicKey())
	if o.UnsignedDecisions {
		policyEnv[workflows.EnvUnsignedDecisions] = "true"
	}
	maps.Copy(policyEnv, o.PolicyEnv)
	policy, err := config.Source{Env: o.env()}.PolicyOver(policyEnv)
	if err != nil {
		return fmt.Errorf("the dev policy is invalid: %w", err)
	}
	s.Policy = policy
	secrets, links, err := s.notifications(o)
	if err != nil {
		return fmt.Errorf("notifications: %w", err)
	}
	wcfg := s.workerConfig(o, policy, ls.metricsAddr)
	wcfg.WebhookSecrets, wcfg.Links = secrets, links
	if wcfg.Reconcile, err = (config.Source{Env: o.env()}).Reconcile(); err != nil {
		return fmt.Errorf("reconciliation: %w", err)
	}
	s.group.Go(func() error {
		if err := workerproc.Run(s.ctx, wcfg); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		return nil
	})

	api, err := s.newHRAPI(o.env(), policy)
	if err != nil {
		return err
	}
	serve(s.group, s.ctx, ls.api, s.withUICodec(api), "HR API")
	if err := waitHealthy(ctx, hrclient.New(s.APIURL, "", nil)); err != nil {
		return fmt.Errorf("HR API: %s/healthz did not become ready: %w", s.APIURL, err)
	}
	return nil
}

// budget is the Genesys requests per minute of the emulator and the worker.
func (o Options) budget() int {
	if o.RequestsPerMinute > 0 {
		return o.RequestsPerMinute
	}
	return genesys.DefaultRequestsPerMinute
}

// workerConfig is the worker of the stack: the emulator as Genesys, the data directory as the
// export store.
func (s *Stack) workerConfig(o Options, policy workflows.Policy, metricsAddr string) workerproc.Config {
	return workerproc.Config{
		Temporal: client.Options{HostPort: s.Temporal.Address, Namespace: s.Temporal.Namespace, DataConverter: config.DataConverter(s.payloads)},
		Genesys: genesys.Config{
			ClientID: emulator.DevClientID, ClientSecret: genesys.Secret(emulator.DevClientSecret),
			APIURL: s.EmulatorURL, RequestsPerMinute: o.budget(),
		},
		ExportURL:  s.ExportURL,
		WebhookURL: s.WebhookURL,
		// The emulator fulfils jobs within a few polls; Genesys's own take seconds to minutes.
		Export:          activities.ExportOptions{PollInterval: 200 * time.Millisecond},
		Policy:          policy,
		Budget:          config.Budget{FleetRequestsPerMinute: o.budget(), Replicas: 1},
		Addr:            metricsAddr,
		ShutdownTimeout: 10 * time.Second,
		Development:     true,
		Logger:          s.logger.With("component", "worker"),
	}
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

// waitHealthy polls the HR API's /healthz until it answers, for up to 15 seconds, and returns
// the last failure if it never does.
func waitHealthy(ctx context.Context, api *hrclient.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var last error
	_, err := pace.Until(ctx, pace.Delays(100*time.Millisecond, 100*time.Millisecond, 0), pace.Sleep, func(ctx context.Context) (struct{}, bool, error) {
		last = api.Health(ctx)
		return struct{}{}, last == nil, nil
	})
	if err != nil && last != nil {
		return last
	}
	return err
}
