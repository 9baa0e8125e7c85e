package genesys

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
)

// SDKClient implements Client over the official Genesys Cloud Go SDK. It is safe for
// concurrent use. Each SDKClient has its own SDK configuration, token and rate limiter, so
// several clients in one process never share credentials.
type SDKClient struct {
	cfg      Config
	basePath string
	http     *retryablehttp.Client
	limiter  *limiter
	log      *slog.Logger
	observer Observer
	maxWait  time.Duration
	retries  int
	// transientRetries bounds in-process retries of one call (see do).
	transientRetries int

	authMu    sync.Mutex // serialises logins
	mu        sync.Mutex // guards token and refreshAt
	token     string
	refreshAt time.Time
}

var _ Client = (*SDKClient)(nil)

// Option tunes New.
type Option func(*SDKClient)

// WithLogger sets the logger for login and rate-limit events (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *SDKClient) { c.log = l } }

// WithHTTPClient replaces the HTTP client, e.g. to add a proxy or custom TLS. Its Timeout
// should be set; Config.Timeout is not applied to it.
func WithHTTPClient(h *http.Client) Option {
	return func(c *SDKClient) { c.http.HTTPClient = h }
}

// WithMaxRateLimitWait bounds how long a call waits out an earlier 429's Retry-After before
// failing with KindRateLimited instead (default 5 s).
func WithMaxRateLimitWait(d time.Duration) Option { return func(c *SDKClient) { c.maxWait = d } }

// WithTransientRetries sets how often one call is retried in-process after a 5xx, a transport
// error or a short 429 before the error reaches the caller (default 3; 0 surfaces every failure).
func WithTransientRetries(n int) Option { return func(c *SDKClient) { c.transientRetries = n } }

// WithConflictRetries sets how often SetUserState re-reads and retries after a version
// conflict (default 5).
func WithConflictRetries(n int) Option { return func(c *SDKClient) { c.retries = n } }

// New validates cfg, builds a client and logs in with the client credentials. Bad credentials
// are an error; a rate-limited or failed login is retried by the first call.
func New(ctx context.Context, cfg Config, opts ...Option) (*SDKClient, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("genesys config: %w", err)
	}
	cfg = cfg.withDefaults()
	base, _ := cfg.BaseURL()

	hc := retryablehttp.NewClient()
	// The SDK's default client swallows 429/5xx bodies and logs to stderr (docs/genesys.md, "Login
	// and transport"): no retries, no logger, and every response passed through.
	hc.RetryMax = 0
	hc.Logger = nil
	hc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	hc.CheckRetry = func(ctx context.Context, _ *http.Response, _ error) (bool, error) { return false, nil }
	hc.HTTPClient = &http.Client{Timeout: cfg.Timeout, Transport: cleanhttp.DefaultPooledTransport()}

	c := &SDKClient{
		cfg:      cfg,
		basePath: base,
		http:     hc,
		limiter:  newLimiter(cfg.RequestsPerMinute, cfg.FleetRequestsPerMinute),
		log:      slog.Default(),
		observer: nopObserver{},
		maxWait:  5 * time.Second,
		retries:  5,

		transientRetries: 3,
	}
	for _, o := range opts {
		o(c)
	}
	// Log in now so that wrong credentials stop a worker at start. A rate limit or an outage is
	// no reason to stop: the first call logs in again.
	if _, err := c.accessToken(ctx); err != nil {
		if k := KindOf(err); k == KindUnauthenticated || !k.Retryable() {
			return nil, err
		}
		c.log.Warn("genesys login deferred to the first call", "error", err)
	}
	return c, nil
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
