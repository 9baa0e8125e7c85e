package genesys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
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
	// The SDK's default client swallows 429/5xx bodies and logs to stderr (GENESYS.md, "SDK
	// quirk"): no retries, no logger, and every response passed through. Temporal retries.
	hc.RetryMax = 0
	hc.Logger = nil
	hc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	hc.CheckRetry = func(ctx context.Context, _ *http.Response, _ error) (bool, error) { return false, nil }
	hc.HTTPClient = &http.Client{Timeout: cfg.Timeout, Transport: cleanhttp.DefaultPooledTransport()}

	c := &SDKClient{
		cfg:      cfg,
		basePath: base,
		http:     hc,
		limiter:  newLimiter(cfg.RequestsPerMinute),
		log:      slog.Default(),
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

// callTransport is the SDK's HTTP client for one call. The SDK offers no context parameter and
// mutates its HTTP client on every call, so each call gets its own: it binds the request to
// the caller's context and ignores the SDK's per-call retry settings.
type callTransport struct {
	ctx  context.Context
	c    *retryablehttp.Client
	resp *http.Response
	// consume, if set, reads a successful response's body as it arrives; the SDK then gets an
	// empty body, so it never buffers the whole response.
	consume func(io.Reader) error
}

func (t *callTransport) Do(o *platformclientv2.HTTPRequestOptions) (*http.Response, error) {
	req, err := o.ToRetryableRequest()
	if err != nil {
		return nil, err
	}
	req.Request.Close = false // the SDK asks for a new connection per request; keep-alive is fine
	resp, err := t.c.Do(req.WithContext(t.ctx))
	t.resp = resp
	if err != nil || t.consume == nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, err
	}
	err = t.consume(resp.Body)
	_ = resp.Body.Close()
	resp.Body = http.NoBody
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (t *callTransport) SetRetryMax(int)                                                  {}
func (t *callTransport) SetRetryWaitMax(time.Duration)                                    {}
func (t *callTransport) SetRetryWaitMin(time.Duration)                                    {}
func (t *callTransport) SetRequestLogHook(func(retryablehttp.Logger, *http.Request, int)) {}
func (t *callTransport) SetResponseLogHook(func(retryablehttp.Logger, *http.Response))    {}
func (t *callTransport) SetCheckRetry(func(context.Context, *http.Response, error) (bool, error)) {
}
func (t *callTransport) SetTransport(*http.Transport)               {}
func (t *callTransport) SetHttpsAgent(*platformclientv2.ProxyAgent) {}

// sdkConfig builds a fresh SDK configuration for one call. It never calls
// platformclientv2.GetDefaultConfiguration (a process-wide singleton) nor NewConfiguration
// (which reads ~/.genesyscloudgo/config and rewrites the SDK's global loggers).
func (c *SDKClient) sdkConfig(ctx context.Context, token string) (*platformclientv2.Configuration, *callTransport) {
	t := &callTransport{ctx: ctx, c: c.http}
	cfg := &platformclientv2.Configuration{
		BasePath:             c.basePath,
		AccessToken:          token,
		UserAgent:            "offboard",
		LoggingConfiguration: &platformclientv2.LoggingConfiguration{LogLevel: platformclientv2.LNone},
	}
	// Install t before NewAPIClient, which would otherwise build (and drop) a default client
	// with its own connection pool on every call. SetHttpClient cannot fail for t.
	_ = cfg.APIClient.SetHttpClient(t)
	cfg.APIClient = platformclientv2.NewAPIClient(cfg)
	return cfg, t
}

// tokenMargin is how long before expiry a token is replaced.
func tokenMargin(ttl time.Duration) time.Duration {
	return min(ttl/10, 5*time.Minute)
}

// accessToken returns a valid token, logging in when there is none or it is about to expire.
func (c *SDKClient) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok, at := c.token, c.refreshAt
	c.mu.Unlock()
	if tok != "" && time.Now().Before(at) {
		return tok, nil
	}
	return c.login(ctx, tok)
}

// reauthorize discards stale (after a 401) and logs in again, unless another goroutine has
// already replaced it.
func (c *SDKClient) reauthorize(ctx context.Context, stale string) (string, error) {
	return c.login(ctx, stale)
}

func (c *SDKClient) login(ctx context.Context, stale string) (string, error) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	c.mu.Lock()
	tok, at := c.token, c.refreshAt
	c.mu.Unlock()
	if tok != "" && tok != stale && time.Now().Before(at) {
		return tok, nil // someone else logged in while we waited
	}

	const op = "login"
	if err := ctx.Err(); err != nil {
		return "", &Error{Kind: KindTransient, Op: op, Err: err}
	}
	if err := c.limiter.wait(ctx, op, c.maxWait); err != nil {
		return "", err
	}
	cfg, t := c.sdkConfig(ctx, "")
	started := time.Now()
	err := cfg.AuthorizeClientCredentials(c.cfg.ClientID, c.cfg.ClientSecret.Reveal())
	if t.resp != nil {
		c.limiter.observe(t.resp.Header)
	}
	if err != nil {
		return "", c.loginError(t.resp, err)
	}
	ttl := time.Duration(cfg.AccessTokenExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Hour
	}
	c.mu.Lock()
	c.token = cfg.AccessToken
	c.refreshAt = started.Add(ttl - tokenMargin(ttl))
	c.mu.Unlock()
	c.log.DebugContext(ctx, "genesys login", "client_id", c.cfg.ClientID, "expires_in", ttl)
	return cfg.AccessToken, nil
}

func (c *SDKClient) loginError(resp *http.Response, err error) error {
	const op = "login"
	if resp == nil {
		return transportError(op, err)
	}
	e := &Error{Op: op, Status: resp.StatusCode, CorrelationID: resp.Header.Get("Inin-Correlation-Id")}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = retryAfter(resp.Header, "")
		e.Message = "too many login requests"
		c.limiter.pause(e.RetryAfter)
	case resp.StatusCode >= 500:
		e.Kind, e.Message = KindTransient, "login service unavailable"
	case resp.StatusCode == http.StatusOK:
		e.Kind, e.Message = KindInvalid, "unexpected login response: "+err.Error()
	default:
		e.Kind = KindUnauthenticated
		e.Code = "invalid_client"
		e.Message = fmt.Sprintf("OAuth client %q was rejected; check %s and %s and that the client uses the Client Credentials grant in this region",
			c.cfg.ClientID, EnvClientID, EnvClientSecret)
	}
	return e
}

// sdkCall is one SDK invocation against a per-call configuration.
type sdkCall func(cfg *platformclientv2.Configuration) (*platformclientv2.APIResponse, error)

// do runs fn under the rate limiter with a valid token, re-authorizes once on a 401, and
// classifies any failure.
// do makes a call that is safe to repeat. A 5xx, a transport error or a 429 whose Retry-After
// fits the rate-limit wait is retried here a few times with backoff, so that one blip does not
// fail an activity and grow its Temporal backoff; what remains reaches the caller classified.
func (c *SDKClient) do(ctx context.Context, op string, fn sdkCall) (*platformclientv2.APIResponse, error) {
	return c.retrying(ctx, op, fn, true, nil)
}

// doUnsafe makes a call that may have taken effect despite a 5xx (creating a job): only a 429, which Genesys never acts on, is retried.
func (c *SDKClient) doUnsafe(ctx context.Context, op string, fn sdkCall) (*platformclientv2.APIResponse, error) {
	return c.retrying(ctx, op, fn, false, nil)
}

// doStreaming makes a safe call like do, but hands a successful response's body to consume as
// it arrives (RawBody stays empty). A body cut off in transit is retried like a 5xx, and
// consume then reads the repeated response from its start.
func (c *SDKClient) doStreaming(ctx context.Context, op string, consume func(io.Reader) error, fn sdkCall) (*platformclientv2.APIResponse, error) {
	return c.retrying(ctx, op, fn, true, consume)
}

// consumerError carries an error of a doStreaming consumer that is not about the body itself
// (the consumer's own failure), so that it reaches the caller unclassified and unretried.
type consumerError struct{ err error }

func (e consumerError) Error() string { return e.err.Error() }
func (e consumerError) Unwrap() error { return e.err }

func (c *SDKClient) retrying(ctx context.Context, op string, fn sdkCall, transient bool, consume func(io.Reader) error) (*platformclientv2.APIResponse, error) {
	backoff := 100 * time.Millisecond
	for try := 0; ; try++ {
		resp, err := c.call(ctx, op, fn, consume)
		if err == nil || try >= c.transientRetries || ctx.Err() != nil {
			return resp, err
		}
		switch KindOf(err) {
		case KindRateLimited:
			// The limiter holds the next call until Retry-After, or fails it at once when the
			// wait is longer than the caller may wait.
		case KindTransient:
			if !transient {
				return resp, err
			}
			wait := backoff + rand.N(backoff)
			backoff *= 2
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return resp, err
			}
		default:
			return resp, err
		}
	}
}

// call makes one call, re-authorizing once on a 401.
func (c *SDKClient) call(ctx context.Context, op string, fn sdkCall, consume func(io.Reader) error) (*platformclientv2.APIResponse, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, &Error{Kind: KindTransient, Op: op, Err: err}
		}
		tok, err := c.accessToken(ctx)
		if err != nil {
			return nil, err
		}
		if err := c.limiter.wait(ctx, op, c.maxWait); err != nil {
			return nil, err
		}
		cfg, t := c.sdkConfig(ctx, tok)
		t.consume = consume
		resp, err := fn(cfg)
		if t.resp != nil {
			// The SDK reads the body but never closes it, which holds the request's timer and
			// context until the client timeout.
			_ = t.resp.Body.Close()
		}
		var ce consumerError
		var ae *Error
		switch {
		case resp == nil && errors.As(err, &ce):
			return nil, ce.err
		case resp == nil && errors.As(err, &ae): // a body the consumer could not decode
			if t.resp != nil {
				ae.Status, ae.CorrelationID = t.resp.StatusCode, t.resp.Header.Get("Inin-Correlation-Id")
			}
			return nil, ae
		case resp == nil && t.consume != nil && err != nil:
			return nil, transportError(op, err) // the body was cut off in transit
		}
		if resp == nil && t.resp != nil && err != nil && t.resp.StatusCode >= 200 && t.resp.StatusCode < 300 {
			// The SDK failed after a good response (e.g. its own decoding).
			return nil, &Error{Kind: KindInvalid, Op: op, Status: t.resp.StatusCode, Message: "unreadable response: " + err.Error()}
		}
		if resp != nil {
			c.limiter.observe(resp.Header)
		}
		switch {
		case resp == nil && err != nil:
			return nil, transportError(op, err)
		case resp == nil:
			return nil, &Error{Kind: KindTransient, Op: op, Message: "no response"}
		case resp.IsSuccess && err != nil:
			return resp, &Error{Kind: KindInvalid, Op: op, Status: resp.StatusCode, CorrelationID: resp.CorrelationID,
				Message: "unreadable response: " + err.Error()}
		case resp.IsSuccess:
			return resp, nil
		case resp.StatusCode == http.StatusUnauthorized && attempt == 0:
			if _, err := c.reauthorize(ctx, tok); err != nil {
				return resp, err
			}
			continue
		}
		e := classify(op, resp)
		if e.Kind == KindRateLimited {
			c.limiter.pause(e.RetryAfter)
			c.log.WarnContext(ctx, "genesys rate limited", "op", op, "retry_after", e.RetryAfter, "correlation_id", e.CorrelationID)
		}
		return resp, e
	}
}

func transportError(op string, err error) *Error {
	e := &Error{Kind: KindTransient, Op: op, Err: err}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		e.Message = "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		e.Message = "timed out: " + err.Error()
	}
	return e
}

var (
	retryInRe = regexp.MustCompile(`(?i)retry the request in \[?(\d+)\]? seconds?`)
	permRe    = regexp.MustCompile(`[A-Za-z][\w-]*:[A-Za-z*][\w*-]*:[A-Za-z*][\w*-]*`)
)

// classify turns an unsuccessful response into a *Error.
func classify(op string, resp *platformclientv2.APIResponse) *Error {
	e := &Error{Op: op, Status: resp.StatusCode, CorrelationID: resp.CorrelationID}
	var body struct {
		Message           string         `json:"message"`
		MessageWithParams string         `json:"messageWithParams"`
		MessageParams     map[string]any `json:"messageParams"`
		Code              string         `json:"code"`
	}
	if len(resp.RawBody) > 0 && json.Unmarshal(resp.RawBody, &body) == nil {
		e.Code, e.Message = body.Code, body.Message
	} else if len(resp.RawBody) > 0 {
		e.Message = truncate(string(resp.RawBody), 200)
	} else {
		e.Message = resp.Status
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = retryAfter(resp.Response.Header, body.Message)
	case s >= 500 || s == http.StatusRequestTimeout:
		e.Kind = KindTransient
	case s == http.StatusConflict:
		e.Kind = KindConflict
	case s == http.StatusBadRequest && strings.Contains(strings.ToLower(body.Message), "does not match the current version"):
		e.Kind = KindConflict
	case s == http.StatusNotFound:
		e.Kind = KindNotFound
	case s == http.StatusForbidden:
		e.Kind = KindPermissionDenied
		e.MissingPermissions = missingPermissions(body.Message, body.MessageWithParams, body.MessageParams)
	case s == http.StatusUnauthorized:
		e.Kind = KindUnauthenticated
	default:
		e.Kind = KindInvalid
	}
	return e
}

// retryAfter reads Retry-After (seconds or an HTTP date), falling back to the 429 message
// "Retry the request in [N] seconds".
func retryAfter(h http.Header, msg string) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(0, time.Until(t).Round(time.Second))
		}
	}
	if m := retryInRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return time.Duration(n) * time.Second
	}
	return 0
}

// missingPermissions extracts domain:entity:action names from a 403's message and params.
func missingPermissions(msg, withParams string, params map[string]any) []string {
	var out []string
	add := func(s string) {
		for _, p := range permRe.FindAllString(s, -1) {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	add(msg)
	add(withParams)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch v := params[k].(type) {
		case string:
			add(v)
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					add(s)
				}
			}
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// wireTime formats t as Genesys wants it: UTC with a literal Z (the SDK turns "+00:00" into a
// zero time).
func wireTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func wireInterval(iv Interval) string { return wireTime(iv.Start) + "/" + wireTime(iv.End) }

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// Grants implements Client.
func (c *SDKClient) Grants(ctx context.Context) (Grants, error) {
	var info *platformclientv2.Tokeninfo
	if _, err := c.do(ctx, "get tokens/me", func(cfg *platformclientv2.Configuration) (r *platformclientv2.APIResponse, err error) {
		info, r, err = platformclientv2.NewTokensApiWithConfig(cfg).GetTokensMe(false)
		return r, err
	}); err != nil {
		return Grants{}, err
	}
	if info == nil || info.OAuthClient == nil || deref(info.OAuthClient.Id) == "" {
		return Grants{}, &Error{Kind: KindInvalid, Op: "get tokens/me",
			Message: "the token names no OAuth client; use a Client Credentials grant"}
	}
	clientID := *info.OAuthClient.Id

	var oc *platformclientv2.Oauthclient
	op := "get oauth client " + clientID
	if _, err := c.do(ctx, op, func(cfg *platformclientv2.Configuration) (r *platformclientv2.APIResponse, err error) {
		oc, r, err = platformclientv2.NewOAuthApiWithConfig(cfg).GetOauthClient(clientID)
		return r, err
	}); err != nil {
		return Grants{}, err
	}
	var roleIDs []string
	if oc != nil {
		for _, rd := range deref(oc.RoleDivisions) {
			if id := deref(rd.RoleId); id != "" && !slices.Contains(roleIDs, id) {
				roleIDs = append(roleIDs, id)
			}
		}
		for _, id := range deref(oc.RoleIds) {
			if id != "" && !slices.Contains(roleIDs, id) {
				roleIDs = append(roleIDs, id)
			}
		}
	}

	g := Grants{ClientID: clientID, Permissions: []string{}}
	for _, roleID := range roleIDs {
		var role *platformclientv2.Domainorganizationrole
		if _, err := c.do(ctx, "get role "+roleID, func(cfg *platformclientv2.Configuration) (r *platformclientv2.APIResponse, err error) {
			role, r, err = platformclientv2.NewAuthorizationApiWithConfig(cfg).GetAuthorizationRole(roleID, false, nil)
			return r, err
		}); err != nil {
			return Grants{}, err
		}
		if role == nil {
			continue
		}
		for _, p := range deref(role.PermissionPolicies) {
			for _, action := range deref(p.ActionSet) {
				g.Permissions = append(g.Permissions, deref(p.Domain)+":"+deref(p.EntityName)+":"+action)
			}
		}
		for _, p := range deref(role.Permissions) {
			if strings.Count(p, ":") == 2 {
				g.Permissions = append(g.Permissions, p)
			}
		}
	}
	slices.Sort(g.Permissions)
	g.Permissions = slices.Compact(g.Permissions)
	return g, nil
}

func toUser(u *platformclientv2.User) User {
	out := User{
		ID:      deref(u.Id),
		Name:    deref(u.Name),
		Email:   deref(u.Email),
		State:   UserState(deref(u.State)),
		Version: deref(u.Version),
	}
	if u.Division != nil {
		out.DivisionID, out.DivisionName = deref(u.Division.Id), deref(u.Division.Name)
	}
	if u.Authorization != nil {
		for _, r := range deref(u.Authorization.Roles) {
			out.Roles = append(out.Roles, Role{ID: deref(r.Id), Name: deref(r.Name)})
		}
	}
	return out
}

func (c *SDKClient) getUser(ctx context.Context, userID, state string) (User, error) {
	var u *platformclientv2.User
	op := "get user " + userID
	if state != "" {
		op += " (state=" + state + ")"
	}
	if _, err := c.do(ctx, op, func(cfg *platformclientv2.Configuration) (r *platformclientv2.APIResponse, err error) {
		u, r, err = platformclientv2.NewUsersApiWithConfig(cfg).GetUser(userID, []string{"authorization"}, "", state)
		return r, err
	}); err != nil {
		return User{}, err
	}
	if u == nil {
		return User{}, &Error{Kind: KindInvalid, Op: op, Message: "empty user body"}
	}
	return toUser(u), nil
}

// GetUser implements Client: the default lookup (active or inactive), then state=deleted.
func (c *SDKClient) GetUser(ctx context.Context, userID string) (User, error) {
	if userID == "" {
		return User{}, &Error{Kind: KindInvalid, Op: "get user", Message: "empty user ID"}
	}
	u, err := c.getUser(ctx, userID, "")
	if !IsNotFound(err) {
		return u, err
	}
	u, err2 := c.getUser(ctx, userID, string(StateDeleted))
	if IsNotFound(err2) {
		return User{}, err // the first 404 names the plain lookup
	}
	return u, err2
}

// SetUserState implements Client.
func (c *SDKClient) SetUserState(ctx context.Context, userID string, state UserState) (User, error) {
	if state == "" {
		return User{}, &Error{Kind: KindInvalid, Op: "set user state " + userID, Message: "empty target state"}
	}
	var lastErr error
	for range c.retries + 1 {
		u, err := c.GetUser(ctx, userID)
		if err != nil {
			return User{}, err
		}
		if u.State == state {
			return u, nil
		}
		patched, err := c.patchState(ctx, u, state)
		if KindOf(err) == KindConflict {
			lastErr = err
			c.log.DebugContext(ctx, "genesys version conflict; re-reading", "user_id", userID, "version", u.Version)
			continue
		}
		return patched, err
	}
	return User{}, fmt.Errorf("set user %s %s: gave up after %d version conflicts: %w", userID, state, c.retries+1, lastErr)
}

func (c *SDKClient) patchState(ctx context.Context, u User, state UserState) (User, error) {
	var out *platformclientv2.User
	op := fmt.Sprintf("patch user %s state %s->%s (version %d)", u.ID, u.State, state, u.Version)
	s, v := string(state), u.Version
	if _, err := c.do(ctx, op, func(cfg *platformclientv2.Configuration) (r *platformclientv2.APIResponse, err error) {
		out, r, err = platformclientv2.NewUsersApiWithConfig(cfg).PatchUser(u.ID, platformclientv2.Updateuser{State: &s, Version: &v})
		return r, err
	}); err != nil {
		return User{}, err
	}
	if out == nil {
		return User{}, &Error{Kind: KindInvalid, Op: op, Message: "empty user body"}
	}
	got := toUser(out)
	if got.Roles == nil {
		got.Roles = u.Roles // PATCH does not expand authorization
	}
	return got, nil
}

// DeleteUser implements Client.
func (c *SDKClient) DeleteUser(ctx context.Context, userID string) error {
	if userID == "" {
		return &Error{Kind: KindInvalid, Op: "delete user", Message: "empty user ID"}
	}
	_, err := c.do(ctx, "delete user "+userID, func(cfg *platformclientv2.Configuration) (*platformclientv2.APIResponse, error) {
		_, r, err := platformclientv2.NewUsersApiWithConfig(cfg).DeleteUser(userID)
		return r, err
	})
	if !IsNotFound(err) {
		return err
	}
	// Deleting a deleted user is a 404 too; tell it apart from an unknown one.
	u, gerr := c.getUser(ctx, userID, string(StateDeleted))
	switch {
	case gerr == nil && u.State == StateDeleted:
		return nil
	case gerr != nil && !IsNotFound(gerr):
		return gerr
	}
	return err
}

func userSegmentFilter(userID string) *[]platformclientv2.Segmentdetailqueryfilter {
	and, dim, opMatches, v := "and", "userId", "matches", userID
	return &[]platformclientv2.Segmentdetailqueryfilter{{
		VarType:    &and,
		Predicates: &[]platformclientv2.Segmentdetailquerypredicate{{Dimension: &dim, Operator: &opMatches, Value: &v}},
	}}
}

func checkInterval(op string, iv Interval) error {
	if iv.Start.IsZero() || iv.End.IsZero() || !iv.End.After(iv.Start) {
		return &Error{Kind: KindInvalid, Op: op, Message: fmt.Sprintf("interval %s/%s: start and end must be set and end after start",
			wireTime(iv.Start), wireTime(iv.End))}
	}
	return nil
}

// CreateConversationJob implements Client.
func (c *SDKClient) CreateConversationJob(ctx context.Context, userID string, iv Interval) (string, error) {
	op := "create conversation job for user " + userID
	if err := checkInterval(op, iv); err != nil {
		return "", err
	}
	interval, order, orderBy := wireInterval(iv), "asc", "conversationStart"
	q := platformclientv2.Asyncconversationquery{Interval: &interval, SegmentFilters: userSegmentFilter(userID), Order: &order, OrderBy: &orderBy}
	var res *platformclientv2.Asyncqueryresponse
	if _, err := c.doUnsafe(ctx, op, func(cfg *platformclientv2.Configuration) (r *platformclientv2.APIResponse, err error) {
		res, r, err = platformclientv2.NewAnalyticsApiWithConfig(cfg).PostAnalyticsConversationsDetailsJobs(q)
		return r, err
	}); err != nil {
		return "", err
	}
	if res == nil || deref(res.JobId) == "" {
		return "", &Error{Kind: KindInvalid, Op: op, Message: "no jobId in the response"}
	}
	return *res.JobId, nil
}

// ConversationJob implements Client.
func (c *SDKClient) ConversationJob(ctx context.Context, jobID string) (JobStatus, error) {
	var st *platformclientv2.Asyncquerystatus
	if _, err := c.do(ctx, "get conversation job "+jobID, func(cfg *platformclientv2.Configuration) (r *platformclientv2.APIResponse, err error) {
		st, r, err = platformclientv2.NewAnalyticsApiWithConfig(cfg).GetAnalyticsConversationsDetailsJob(jobID)
		return r, err
	}); err != nil {
		return JobStatus{}, err
	}
	if st == nil {
		return JobStatus{}, &Error{Kind: KindInvalid, Op: "get conversation job " + jobID, Message: "empty status body"}
	}
	return JobStatus{
		State:          JobState(deref(st.State)),
		ErrorMessage:   deref(st.ErrorMessage),
		SubmissionDate: deref(st.SubmissionDate).UTC(),
		ExpirationDate: deref(st.ExpirationDate).UTC(),
	}, nil
}

// ConversationJobResults implements Client.
func (c *SDKClient) ConversationJobResults(ctx context.Context, jobID, cursor string, pageSize int, each EachConversation) (ResultsPage, error) {
	if pageSize <= 0 {
		pageSize = c.cfg.PageSize
	}
	op := "get conversation job results " + jobID
	var page ResultsPage
	_, err := c.doStreaming(ctx, op, func(body io.Reader) (err error) {
		page, err = decodeResults(op, body, each)
		return err
	}, func(cfg *platformclientv2.Configuration) (*platformclientv2.APIResponse, error) {
		return undecoded(cfg, http.MethodGet, "/api/v2/analytics/conversations/details/jobs/"+url.PathEscape(jobID)+"/results",
			map[string]string{"cursor": cursor, "pageSize": strconv.Itoa(pageSize)}, nil)
	})
	if err != nil {
		return ResultsPage{}, err
	}
	return page, nil
}

// decodeResults reads a results page from body as it arrives and hands each conversation to
// each, holding one conversation at a time, in one buffer it reuses. A body that is not a
// results page is a KindInvalid *Error; a read error (a body cut off in transit) is returned as
// it is, and each's errors as consumerError.
func decodeResults(op string, body io.Reader, each EachConversation) (ResultsPage, error) {
	var page ResultsPage
	in := &readErrors{r: body}
	dec := json.NewDecoder(in)
	invalid := func(err error) error {
		if in.err != nil {
			return in.err // the body was cut off: what was read may be incomplete, not invalid
		}
		return &Error{Kind: KindInvalid, Op: op, Message: "decode results: " + err.Error()}
	}
	delim := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return invalid(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != want {
			return &Error{Kind: KindInvalid, Op: op, Message: fmt.Sprintf("decode results: found %v where %v was expected", tok, want)}
		}
		return nil
	}
	if err := delim('{'); err != nil {
		return page, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return page, invalid(err)
		}
		switch tok {
		case "conversations":
			tok, err := dec.Token()
			if err != nil {
				return page, invalid(err)
			}
			if tok == nil {
				continue // null: no conversations
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return page, &Error{Kind: KindInvalid, Op: op, Message: fmt.Sprintf("decode results: conversations is %v, not an array", tok)}
			}
			var raw json.RawMessage // reused: each must not keep Raw
			for ; dec.More(); page.Conversations++ {
				if err := dec.Decode(&raw); err != nil {
					return page, invalid(err)
				}
				conv, err := parseConversation(op, page.Conversations, raw)
				if err != nil {
					return page, err
				}
				if err := each(page.Conversations, conv); err != nil {
					return page, consumerError{err}
				}
			}
			if err := delim(']'); err != nil {
				return page, err
			}
		case "cursor":
			var cursor *string
			if err := dec.Decode(&cursor); err != nil {
				return page, invalid(err)
			}
			page.Cursor = deref(cursor)
		case "dataAvailabilityDate":
			var t *time.Time
			if err := dec.Decode(&t); err != nil {
				return page, invalid(err)
			}
			page.DataAvailabilityDate = deref(t).UTC()
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return page, invalid(err)
			}
		}
	}
	return page, delim('}')
}

// undecoded makes a call the way the SDK's generated method for it does (same path, query,
// headers and body, through the SDK's API client), but leaves the body undecoded. The generated
// methods for results pages decode every conversation into SDK types, several times over, and
// that was most of an export's CPU time; this client reads only each conversation's head.
func undecoded(cfg *platformclientv2.Configuration, method, path string, query map[string]string, body any) (*platformclientv2.APIResponse, error) {
	headers := map[string]string{}
	if cfg.AccessToken != "" {
		headers["Authorization"] = "Bearer " + cfg.AccessToken
	}
	for k, v := range cfg.DefaultHeader {
		headers[k] = v
	}
	headers["Content-Type"], headers["Accept"] = "application/json", "application/json"
	resp, err := cfg.APIClient.CallAPI(cfg.BasePath+path, method, body, headers, query, url.Values{}, "", nil, "other")
	if err == nil && resp.Error != nil {
		err = errors.New(resp.ErrorMessage)
	}
	return resp, err
}

func parseConversations(op string, raws []json.RawMessage) ([]Conversation, error) {
	out := make([]Conversation, 0, len(raws))
	for i, raw := range raws {
		c, err := parseConversation(op, i, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// readErrors remembers a read error other than io.EOF.
type readErrors struct {
	r   io.Reader
	err error
}

func (r *readErrors) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// parseConversation reads the head of the i-th conversation of a page.
func parseConversation(op string, i int, raw json.RawMessage) (Conversation, error) {
	var head struct {
		ID    string     `json:"conversationId"`
		Start *time.Time `json:"conversationStart"`
		End   *time.Time `json:"conversationEnd"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.ID == "" {
		msg := fmt.Sprintf("conversation %d has no conversationId", i)
		if err != nil {
			msg = fmt.Sprintf("decode conversation %d: %v", i, err)
		}
		return Conversation{}, &Error{Kind: KindInvalid, Op: op, Message: msg}
	}
	return Conversation{ID: head.ID, Start: deref(head.Start).UTC(), End: deref(head.End).UTC(), Raw: raw}, nil
}

// DeleteConversationJob implements Client.
func (c *SDKClient) DeleteConversationJob(ctx context.Context, jobID string) error {
	_, err := c.do(ctx, "delete conversation job "+jobID, func(cfg *platformclientv2.Configuration) (*platformclientv2.APIResponse, error) {
		return platformclientv2.NewAnalyticsApiWithConfig(cfg).DeleteAnalyticsConversationsDetailsJob(jobID)
	})
	if IsNotFound(err) {
		return nil
	}
	return err
}

// DataAvailability implements Client.
func (c *SDKClient) DataAvailability(ctx context.Context) (time.Time, error) {
	var res *platformclientv2.Dataavailabilityresponse
	if _, err := c.do(ctx, "get conversation jobs availability", func(cfg *platformclientv2.Configuration) (r *platformclientv2.APIResponse, err error) {
		res, r, err = platformclientv2.NewAnalyticsApiWithConfig(cfg).GetAnalyticsConversationsDetailsJobsAvailability()
		return r, err
	}); err != nil {
		return time.Time{}, err
	}
	if res == nil || res.DataAvailabilityDate == nil {
		return time.Time{}, &Error{Kind: KindInvalid, Op: "get conversation jobs availability", Message: "no dataAvailabilityDate in the response"}
	}
	return res.DataAvailabilityDate.UTC(), nil
}

// QueryConversations implements Client.
func (c *SDKClient) QueryConversations(ctx context.Context, userID string, iv Interval, pageSize, pageNumber int) (QueryPage, error) {
	op := fmt.Sprintf("query conversations of user %s page %d", userID, pageNumber)
	if err := checkInterval(op, iv); err != nil {
		return QueryPage{}, err
	}
	if pageSize <= 0 {
		pageSize = c.cfg.PageSize
	}
	if pageNumber <= 0 {
		pageNumber = 1
	}
	interval, order, orderBy := wireInterval(iv), "asc", "conversationStart"
	q := platformclientv2.Conversationquery{
		Interval: &interval, SegmentFilters: userSegmentFilter(userID), Order: &order, OrderBy: &orderBy,
		Paging: &platformclientv2.Pagingspec{PageSize: &pageSize, PageNumber: &pageNumber},
	}
	resp, err := c.do(ctx, op, func(cfg *platformclientv2.Configuration) (*platformclientv2.APIResponse, error) {
		return undecoded(cfg, http.MethodPost, "/api/v2/analytics/conversations/details/query", nil, &q)
	})
	if err != nil {
		return QueryPage{}, err
	}
	var body struct {
		Conversations []json.RawMessage `json:"conversations"`
		TotalHits     int               `json:"totalHits"`
	}
	if err := json.Unmarshal(resp.RawBody, &body); err != nil {
		return QueryPage{}, &Error{Kind: KindInvalid, Op: op, Status: resp.StatusCode, CorrelationID: resp.CorrelationID, Message: "decode query: " + err.Error()}
	}
	convs, err := parseConversations(op, body.Conversations)
	if err != nil {
		return QueryPage{}, err
	}
	return QueryPage{Conversations: convs, TotalHits: body.TotalHits}, nil
}
