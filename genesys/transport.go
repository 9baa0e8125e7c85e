package genesys

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/internal/pace"
)

// Short names for the SDK types that every call spells.
type (
	sdkConfiguration = platformclientv2.Configuration
	sdkResponse      = platformclientv2.APIResponse
)

// callTransport is the SDK's HTTP client for one call. The SDK offers no context parameter and
// mutates its HTTP client on every call, so each call gets its own: it binds the request to
// the caller's context and ignores the SDK's per-call retry settings.
type callTransport struct {
	ctx      context.Context
	c        *retryablehttp.Client
	observer Observer
	resp     *http.Response
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
	started := time.Now()
	resp, err := t.c.Do(req.WithContext(t.ctx))
	t.observe(req.Method, req.URL.Path, resp, time.Since(started))
	t.resp = resp
	if err != nil || t.consume == nil || !succeeded(resp) {
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

// observe reports a request to the observer; a request that got no response has status 0.
func (t *callTransport) observe(method, path string, resp *http.Response, took time.Duration) {
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	t.observer.Request(Endpoint(method, path), status, took)
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

func succeeded(resp *http.Response) bool {
	return resp != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299
}

// sdkConfig builds a fresh SDK configuration for one call. It never calls
// platformclientv2.GetDefaultConfiguration (a process-wide singleton) nor NewConfiguration
// (which reads ~/.genesyscloudgo/config and rewrites the SDK's global loggers).
func (c *SDKClient) sdkConfig(ctx context.Context, token string) (*sdkConfiguration, *callTransport) {
	t := &callTransport{ctx: ctx, c: c.http, observer: c.observer}
	cfg := &sdkConfiguration{
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

// sdkCall is one SDK invocation against a per-call configuration.
type sdkCall func(cfg *sdkConfiguration) (*sdkResponse, error)

// sender makes a call: c.do for a safe one, c.doUnsafe for one that must not repeat after a 5xx.
type sender func(ctx context.Context, op string, fn sdkCall) (*sdkResponse, error)

// fetch makes a call with send through a generated SDK method and returns the body the method
// decoded; a successful response without a body is KindInvalid.
func fetch[T any](ctx context.Context, send sender, op string, method func(cfg *sdkConfiguration) (*T, *sdkResponse, error)) (*T, error) {
	var body *T
	_, err := send(ctx, op, func(cfg *sdkConfiguration) (r *sdkResponse, err error) {
		body, r, err = method(cfg)
		return r, err
	})
	if err != nil {
		return nil, err
	}
	if body == nil {
		return nil, &Error{Kind: KindInvalid, Op: op, Message: "empty response body"}
	}
	return body, nil
}

// ignoreBody adapts a generated SDK method whose response body the client does not read to an
// sdkCall's results.
func ignoreBody[T any](_ *T, r *sdkResponse, err error) (*sdkResponse, error) { return r, err }

// do makes a call that is safe to repeat. A 5xx, a transport error or a 429 whose Retry-After
// fits the rate-limit wait is retried here a few times with backoff, so that one blip does not
// fail an activity and grow its Temporal backoff; what remains reaches the caller classified.
func (c *SDKClient) do(ctx context.Context, op string, fn sdkCall) (*sdkResponse, error) {
	return c.retrying(ctx, op, fn, true, nil)
}

// doUnsafe makes a call that may have taken effect despite a 5xx (creating a job): only a 429,
// which Genesys never acts on, is retried.
func (c *SDKClient) doUnsafe(ctx context.Context, op string, fn sdkCall) (*sdkResponse, error) {
	return c.retrying(ctx, op, fn, false, nil)
}

// doStreaming makes a safe call like do, but hands a successful response's body to consume as
// it arrives (RawBody stays empty). A body cut off in transit is retried like a 5xx, and
// consume then reads the repeated response from its start.
func (c *SDKClient) doStreaming(ctx context.Context, op string, consume func(io.Reader) error, fn sdkCall) (*sdkResponse, error) {
	return c.retrying(ctx, op, fn, true, consume)
}

// consumerError carries an error of a doStreaming consumer that is not about the body itself
// (the consumer's own failure), so that it reaches the caller unclassified and unretried.
type consumerError struct{ err error }

func (e consumerError) Error() string { return e.err.Error() }
func (e consumerError) Unwrap() error { return e.err }

// Backoff between in-process retries of a transient failure: the first wait is 100 to 200 ms,
// and each later one twice as long.
const (
	retryDelay  = 150 * time.Millisecond
	retryJitter = 1.0 / 3
)

// retrying makes the call, repeating it up to transientRetries times: at once after a 429 (the
// limiter holds the next call until Retry-After, or fails it when the wait is longer than the
// caller may wait), and after a backoff for a transient failure when safe is set.
func (c *SDKClient) retrying(ctx context.Context, op string, fn sdkCall, safe bool, consume func(io.Reader) error) (*sdkResponse, error) {
	delays := pace.Delays(retryDelay, 0, retryJitter)
	for try := 0; ; try++ {
		resp, err := c.call(ctx, op, fn, consume)
		if err == nil || try >= c.transientRetries || ctx.Err() != nil {
			return resp, err
		}
		switch KindOf(err) {
		case KindRateLimited: // again at once: the limiter does the waiting
		case KindTransient:
			if !safe || pace.Sleep(ctx, delays.NextBackOff()) != nil {
				return resp, err
			}
		default:
			return resp, err
		}
	}
}

// call makes one call, re-authorizing once if Genesys rejects the token with a 401.
func (c *SDKClient) call(ctx context.Context, op string, fn sdkCall, consume func(io.Reader) error) (*sdkResponse, error) {
	resp, token, err := c.attempt(ctx, op, fn, consume)
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if _, err := c.reauthorize(ctx, token); err != nil {
		return resp, err
	}
	resp, _, err = c.attempt(ctx, op, fn, consume)
	return resp, err
}

// attempt sends one request with a valid token under the rate limiter and interprets its
// outcome. It returns the token it used, so that a 401 can discard that one.
func (c *SDKClient) attempt(ctx context.Context, op string, fn sdkCall, consume func(io.Reader) error) (*sdkResponse, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", &Error{Kind: KindTransient, Op: op, Err: err}
	}
	token, err := c.accessToken(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := c.limiter.wait(ctx, op, c.maxWait); err != nil {
		return nil, token, err
	}
	resp, raw, err := c.send(ctx, token, fn, consume)
	if resp == nil {
		return nil, token, noResponse(op, raw, err, consume != nil)
	}
	resp, err = c.interpret(ctx, op, resp, err)
	return resp, token, err
}

// send makes one SDK call with token. It returns the SDK's response and the HTTP response
// underneath, whose body it closes.
func (c *SDKClient) send(ctx context.Context, token string, fn sdkCall, consume func(io.Reader) error) (*sdkResponse, *http.Response, error) {
	cfg, t := c.sdkConfig(ctx, token)
	t.consume = consume
	resp, err := fn(cfg)
	if t.resp != nil {
		// The SDK reads the body but never closes it, which holds the request's timer and
		// context until the client timeout.
		_ = t.resp.Body.Close()
	}
	return resp, t.resp, err
}

// noResponse classifies a call that gave no SDK response: raw is the HTTP response, if one
// came, and streaming says whether a consumer read its body.
func noResponse(op string, raw *http.Response, err error, streaming bool) error {
	var ce consumerError
	var ae *Error
	switch {
	case errors.As(err, &ce):
		return ce.err
	case errors.As(err, &ae): // a body the consumer could not decode
		if raw != nil {
			ae.Status, ae.CorrelationID = raw.StatusCode, raw.Header.Get("Inin-Correlation-Id")
		}
		return ae
	case streaming && err != nil:
		return transportError(op, err) // the body was cut off in transit
	case err != nil && succeeded(raw):
		// The SDK failed after a good response (e.g. its own decoding).
		return &Error{Kind: KindInvalid, Op: op, Status: raw.StatusCode, Message: "unreadable response: " + err.Error()}
	case err != nil:
		return transportError(op, err)
	}
	return &Error{Kind: KindTransient, Op: op, Message: "no response"}
}

// interpret turns a response into the call's result: the response, and a classified error
// unless it succeeded. It feeds the rate limiter the response's budget headers and a 429's
// Retry-After.
func (c *SDKClient) interpret(ctx context.Context, op string, resp *sdkResponse, err error) (*sdkResponse, error) {
	c.limiter.observe(resp.Header)
	switch {
	case resp.IsSuccess && err != nil:
		return resp, &Error{Kind: KindInvalid, Op: op, Status: resp.StatusCode, CorrelationID: resp.CorrelationID,
			Message: "unreadable response: " + err.Error()}
	case resp.IsSuccess:
		return resp, nil
	}
	e := classify(op, resp)
	if e.Kind == KindRateLimited {
		c.limiter.pause(e.RetryAfter)
		c.log.WarnContext(ctx, "genesys rate limited", "op", op, "retry_after", e.RetryAfter, "correlation_id", e.CorrelationID)
	}
	return resp, e
}

// undecoded makes a call the way the SDK's generated method for it does (same path, query,
// headers and body, through the SDK's API client), but leaves the body undecoded. The generated
// methods for results pages decode every conversation into SDK types, several times over, and
// that was most of an export's CPU time; this client reads only each conversation's head.
func undecoded(cfg *sdkConfiguration, method, path string, query map[string]string, body any) (*sdkResponse, error) {
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
