package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/genesys/emulator"
)

// clock is a settable clock shared by the emulator and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var epoch = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// sdkHTTP adapts a retryablehttp client that passes 429/5xx responses through, as docs/genesys.md
// prescribes, to the SDK's AbstractHttpClient.
type sdkHTTP struct{ c *retryablehttp.Client }

func (h *sdkHTTP) Do(o *platformclientv2.HTTPRequestOptions) (*http.Response, error) {
	req, err := o.ToRetryableRequest()
	if err != nil {
		return nil, err
	}
	return h.c.Do(req)
}
func (h *sdkHTTP) SetRetryMax(int)                                                          {}
func (h *sdkHTTP) SetRetryWaitMax(time.Duration)                                            {}
func (h *sdkHTTP) SetRetryWaitMin(time.Duration)                                            {}
func (h *sdkHTTP) SetRequestLogHook(func(retryablehttp.Logger, *http.Request, int))         {}
func (h *sdkHTTP) SetResponseLogHook(func(retryablehttp.Logger, *http.Response))            {}
func (h *sdkHTTP) SetCheckRetry(func(context.Context, *http.Response, error) (bool, error)) {}
func (h *sdkHTTP) SetTransport(t *http.Transport)                                           { h.c.HTTPClient.Transport = t }
func (h *sdkHTTP) SetHttpsAgent(*platformclientv2.ProxyAgent)                               {}

type env struct {
	t     testing.TB
	emu   *emulator.Emulator
	url   string
	clock *clock
}

func newEnv(t testing.TB, opts emulator.Options) *env {
	t.Helper()
	c := &clock{t: epoch}
	if opts.Now == nil {
		opts.Now = c.Now
	}
	if opts.Users == 0 {
		opts.Users = 40
	}
	if opts.Conversations == 0 {
		opts.Conversations = 4000
	}
	emu := emulator.New(opts)
	srv := newServer(t, emu)
	return &env{t: t, emu: emu, url: srv, clock: c}
}

// config is an SDK configuration against the emulator, authorized as id/secret.
func (e *env) config(id, secret string) *platformclientv2.Configuration {
	e.t.Helper()
	cfg := e.unauthorized()
	if err := cfg.AuthorizeClientCredentials(id, secret); err != nil {
		e.t.Fatalf("authorize %s: %v", id, err)
	}
	return cfg
}

func (e *env) unauthorized() *platformclientv2.Configuration { return e.unauthorizedAt(e.url) }

// unauthorizedAt is an SDK configuration without a token against base (the emulator behind a proxy).
func (e *env) unauthorizedAt(base string) *platformclientv2.Configuration {
	cfg := platformclientv2.NewConfigurationWithConfigFile(filepath.Join(e.t.TempDir(), "absent.ini"), false)
	cfg.BasePath = base
	rc := retryablehttp.NewClient()
	rc.RetryMax = 0
	rc.Logger = nil
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.CheckRetry = func(context.Context, *http.Response, error) (bool, error) { return false, nil }
	if err := cfg.APIClient.SetHttpClient(&sdkHTTP{c: rc}); err != nil {
		e.t.Fatal(err)
	}
	return cfg
}

func (e *env) dev() *platformclientv2.Configuration {
	return e.config(emulator.DevClientID, emulator.DevClientSecret)
}

// wantStatus fails unless the SDK call ended with the given status and error code.
func wantStatus(t testing.TB, resp *platformclientv2.APIResponse, err error, status int, code string) {
	t.Helper()
	if resp == nil {
		t.Fatalf("want HTTP %d %s, got no response: %v", status, code, err)
	}
	if resp.StatusCode != status {
		t.Fatalf("want HTTP %d, got %d (%v)", status, resp.StatusCode, err)
	}
	if code != "" && (resp.Error == nil || resp.Error.Code != code) {
		t.Fatalf("want error code %q, got %+v", code, resp.Error)
	}
	if resp.CorrelationID == "" {
		t.Fatalf("response has no ININ-Correlation-Id")
	}
}

func ok(t testing.TB, resp *platformclientv2.APIResponse, err error) {
	t.Helper()
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("unexpected error (HTTP %d): %v", code, err)
	}
}

func ptr[T any](v T) *T { return &v }

func mustDecode(t testing.TB, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if w.Code >= 300 {
		t.Fatalf("HTTP %d: %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatal(err)
	}
}

func users(cfg *platformclientv2.Configuration) *platformclientv2.UsersApi {
	return platformclientv2.NewUsersApiWithConfig(cfg)
}

// activeUser picks a seeded active user with conversations.
func activeUser(t *testing.T, e *env) emulator.UserSummary {
	t.Helper()
	for _, u := range e.emu.SeedUsers() {
		if u.State == "active" && u.Conversations > 50 {
			return u
		}
	}
	t.Fatal("no active seeded user with conversations")
	return emulator.UserSummary{}
}
