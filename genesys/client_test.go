package genesys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// fixture is an emulator on a loopback test server.
type fixture struct {
	emu *emulator.Emulator
	srv *httptest.Server
}

func newFixture(t testing.TB, opts emulator.Options) *fixture {
	t.Helper()
	if opts.RequestsPerMinute == 0 {
		opts.RequestsPerMinute = -1 // most tests are not about the server-side limit
	}
	if opts.Conversations == 0 {
		opts.Conversations = 2000
	}
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &fixture{emu: emu, srv: srv}
}

func (f *fixture) config(id, secret string) genesys.Config {
	return genesys.Config{ClientID: id, ClientSecret: genesys.Secret(secret), APIURL: f.srv.URL,
		RequestsPerMinute: 60000, Timeout: 10 * time.Second}
}

func (f *fixture) client(t testing.TB, id, secret string, opts ...genesys.Option) *genesys.SDKClient {
	t.Helper()
	c, err := genesys.New(context.Background(), f.config(id, secret), opts...)
	require.NoError(t, err)
	return c
}

func (f *fixture) dev(t testing.TB, opts ...genesys.Option) *genesys.SDKClient {
	return f.client(t, emulator.DevClientID, emulator.DevClientSecret, opts...)
}

// userIn returns a seeded user in state with at least minConvs conversations.
func (f *fixture) userIn(t testing.TB, state string, minConvs int) emulator.UserSummary {
	t.Helper()
	for _, u := range f.emu.SeedUsers() {
		if u.State == state && u.Conversations >= minConvs {
			return u
		}
	}
	t.Fatalf("no seeded %s user with %d conversations", state, minConvs)
	return emulator.UserSummary{}
}

func (f *fixture) calls(method, pathPrefix string) []emulator.Call {
	var out []emulator.Call
	for _, c := range f.emu.Calls() {
		if c.Method == method && strings.HasPrefix(c.Path, pathPrefix) {
			out = append(out, c)
		}
	}
	return out
}

func requireKind(t *testing.T, err error, kind genesys.Kind) *genesys.Error {
	t.Helper()
	require.Error(t, err)
	var ge *genesys.Error
	require.True(t, errors.As(err, &ge), "want *genesys.Error, got %T: %v", err, err)
	require.Equal(t, kind, ge.Kind, "error: %v", err)
	assert.NotContains(t, err.Error(), emulator.DevClientSecret)
	assert.NotContains(t, err.Error(), emulator.ReadOnlyClientSecret)
	return ge
}

const unknownUser = "00000000-0000-4000-8000-000000000000"

func TestConfigFromEnv(t *testing.T) {
	t.Run("region", func(t *testing.T) {
		t.Setenv(genesys.EnvClientID, "id")
		t.Setenv(genesys.EnvClientSecret, "s3cret")
		t.Setenv(genesys.EnvRegion, "mypurecloud.ie")
		t.Setenv(genesys.EnvAPIURL, "")
		t.Setenv(genesys.EnvRequestsPerMinute, "")
		cfg, err := genesys.ConfigFromEnv()
		require.NoError(t, err)
		base, err := cfg.BaseURL()
		require.NoError(t, err)
		assert.Equal(t, "https://api.mypurecloud.ie", base)
		assert.Equal(t, genesys.DefaultRequestsPerMinute, cfg.RequestsPerMinute)
	})
	t.Run("aws region name", func(t *testing.T) {
		base, err := genesys.Config{Region: "eu-central-1"}.BaseURL()
		require.NoError(t, err)
		assert.Equal(t, "https://api.mypurecloud.de", base)
	})
	t.Run("api url wins", func(t *testing.T) {
		t.Setenv(genesys.EnvClientID, "id")
		t.Setenv(genesys.EnvClientSecret, "s3cret")
		t.Setenv(genesys.EnvRegion, "mypurecloud.com")
		t.Setenv(genesys.EnvAPIURL, "http://127.0.0.1:9090/")
		t.Setenv(genesys.EnvRequestsPerMinute, "120")
		cfg, err := genesys.ConfigFromEnv()
		require.NoError(t, err)
		base, _ := cfg.BaseURL()
		assert.Equal(t, "http://127.0.0.1:9090", base)
		assert.Equal(t, 120, cfg.RequestsPerMinute)
	})
	t.Run("missing names every variable", func(t *testing.T) {
		for _, k := range []string{genesys.EnvClientID, genesys.EnvClientSecret, genesys.EnvRegion, genesys.EnvAPIURL, genesys.EnvRequestsPerMinute} {
			t.Setenv(k, "")
		}
		_, err := genesys.ConfigFromEnv()
		require.Error(t, err)
		for _, k := range []string{genesys.EnvClientID, genesys.EnvClientSecret, genesys.EnvRegion, genesys.EnvAPIURL} {
			assert.Contains(t, err.Error(), k)
		}
	})
	t.Run("bad values", func(t *testing.T) {
		t.Setenv(genesys.EnvClientID, "id")
		t.Setenv(genesys.EnvClientSecret, "s3cret")
		t.Setenv(genesys.EnvRegion, "")
		t.Setenv(genesys.EnvAPIURL, "ftp://x")
		t.Setenv(genesys.EnvRequestsPerMinute, "lots")
		_, err := genesys.ConfigFromEnv()
		require.ErrorContains(t, err, genesys.EnvRequestsPerMinute)
		t.Setenv(genesys.EnvRequestsPerMinute, "")
		_, err = genesys.ConfigFromEnv()
		require.ErrorContains(t, err, genesys.EnvAPIURL)
		assert.NotContains(t, err.Error(), "s3cret")
	})
}

func TestSecretIsRedactedEverywhere(t *testing.T) {
	const secret = "hunter2-very-secret"
	cfg := genesys.Config{ClientID: "id", ClientSecret: genesys.Secret(secret), Region: "mypurecloud.com"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg, "secret", cfg.ClientSecret)
	js, err := json.Marshal(cfg)
	require.NoError(t, err)
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s|%q|%x", cfg.ClientSecret, cfg.ClientSecret, cfg.ClientSecret),
		string(js), logged.String(),
	} {
		assert.NotContains(t, s, secret)
	}
	assert.Equal(t, secret, cfg.ClientSecret.Reveal())
}

func TestLoginWithBadSecretIsUnauthenticated(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	_, err := genesys.New(context.Background(), f.config(emulator.DevClientID, "wrong-secret-value"))
	ge := requireKind(t, err, genesys.KindUnauthenticated)
	assert.Equal(t, http.StatusUnauthorized, ge.Status)
	assert.NotContains(t, err.Error(), "wrong-secret-value")
	assert.Contains(t, err.Error(), genesys.EnvClientSecret)
}

func TestTokenIsRenewedBeforeExpiry(t *testing.T) {
	f := newFixture(t, emulator.Options{TokenTTL: time.Second})
	c := f.dev(t)
	u := f.userIn(t, "active", 0)
	_, err := c.GetUser(context.Background(), u.ID)
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond)
	_, err = c.GetUser(context.Background(), u.ID)
	require.NoError(t, err)
	assert.Len(t, f.calls(http.MethodPost, "/oauth/token"), 2)
	for _, call := range f.emu.Calls() {
		assert.NotEqual(t, http.StatusUnauthorized, call.Status, "token should be renewed before it expires: %+v", call)
	}
}

func TestUnauthorizedReauthorizesOnce(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	u := f.userIn(t, "active", 0)
	f.emu.SetFaults(emulator.Faults{ExpireTokens: true})
	got, err := c.GetUser(context.Background(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	var statuses []int
	for _, call := range f.emu.Calls() {
		statuses = append(statuses, call.Status)
	}
	assert.Equal(t, []int{200, 401, 200, 200}, statuses, "login, 401, re-login, retried call")
}

func TestGrants(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	ctx := context.Background()
	dev, err := f.dev(t).Grants(ctx)
	require.NoError(t, err)
	assert.Equal(t, emulator.DevClientID, dev.ClientID)
	assert.Empty(t, dev.Missing(genesys.PermUserEdit, genesys.PermUserDelete, genesys.PermConversationDetail))

	// A second client in the same process keeps its own token and grants.
	ro, err := f.client(t, emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret).Grants(ctx)
	require.NoError(t, err)
	assert.Equal(t, emulator.ReadOnlyClientID, ro.ClientID)
	assert.Equal(t, []string{genesys.PermUserEdit, genesys.PermUserDelete},
		ro.Missing(genesys.PermUserEdit, genesys.PermUserDelete, genesys.PermConversationDetail))

	f.emu.AddClient("wild", "wild-secret", "directory:*:*", "oauth:client:view", "authorization:role:view")
	w, err := f.client(t, "wild", "wild-secret").Grants(ctx)
	require.NoError(t, err)
	assert.True(t, w.Has(genesys.PermUserDelete))
	assert.Contains(t, w.Permissions, "directory:*:*", "wildcards are kept")
	assert.False(t, w.Has(genesys.PermConversationDetail))
}

func TestGrantsWithoutRoleViewIsPermissionDenied(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.emu.AddClient("blind", "blind-secret", emulator.PermUserView, emulator.PermUserEdit)
	_, err := f.client(t, "blind", "blind-secret").Grants(context.Background())
	ge := requireKind(t, err, genesys.KindPermissionDenied)
	assert.Contains(t, ge.MissingPermissions, emulator.PermOAuthClientView)
}

func TestPermissionDeniedNamesThePermission(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	ro := f.client(t, emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret)
	u := f.userIn(t, "active", 0)
	_, err := ro.SetUserState(context.Background(), u.ID, genesys.StateInactive)
	ge := requireKind(t, err, genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermUserEdit}, ge.MissingPermissions)
	assert.Equal(t, http.StatusForbidden, ge.Status)
	assert.NotEmpty(t, ge.CorrelationID)
	assert.Contains(t, err.Error(), genesys.PermUserEdit)

	err = ro.DeleteUser(context.Background(), u.ID)
	ge = requireKind(t, err, genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermUserDelete}, ge.MissingPermissions)
	rec, _ := f.emu.User(u.ID)
	assert.Equal(t, "active", rec.State, "nothing changed")
}

func TestGetUser(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	ctx := context.Background()

	active := f.userIn(t, "active", 0)
	got, err := c.GetUser(ctx, active.ID)
	require.NoError(t, err)
	rec, _ := f.emu.User(active.ID)
	assert.Equal(t, genesys.User{ID: rec.ID, Name: rec.Name, Email: rec.Email, DivisionID: rec.DivisionID, DivisionName: rec.DivisionName,
		State: genesys.StateActive, Version: rec.Version, Roles: got.Roles}, got)
	require.Len(t, got.Roles, len(rec.RoleIDs))
	for i, r := range got.Roles {
		assert.Equal(t, rec.RoleIDs[i], r.ID)
		assert.NotEmpty(t, r.Name)
	}

	inactive := f.userIn(t, "inactive", 0)
	got, err = c.GetUser(ctx, inactive.ID)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateInactive, got.State)

	deleted := f.userIn(t, "deleted", 0)
	got, err = c.GetUser(ctx, deleted.ID)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateDeleted, got.State)
	assert.Equal(t, deleted.ID, got.ID)

	_, err = c.GetUser(ctx, unknownUser)
	ge := requireKind(t, err, genesys.KindNotFound)
	assert.Equal(t, http.StatusNotFound, ge.Status)
}

func TestSetUserStateIsIdempotent(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	ctx := context.Background()
	u := f.userIn(t, "active", 0)
	before, _ := f.emu.User(u.ID)

	got, err := c.SetUserState(ctx, u.ID, genesys.StateInactive)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateInactive, got.State)
	assert.Equal(t, before.Version+1, got.Version)

	again, err := c.SetUserState(ctx, u.ID, genesys.StateInactive)
	require.NoError(t, err)
	assert.Equal(t, got.Version, again.Version)
	assert.Len(t, f.calls(http.MethodPatch, "/api/v2/users/"), 1, "the second call must not patch")
	rec, _ := f.emu.User(u.ID)
	assert.Equal(t, "inactive", rec.State)
}

func TestSetUserStateRetriesOnVersionConflict(t *testing.T) {
	emu := emulator.New(emulator.Options{RequestsPerMinute: -1, Conversations: 100})
	direct := httptest.NewServer(emu)
	t.Cleanup(direct.Close)
	f := &fixture{emu: emu, srv: direct}
	other := f.dev(t) // patches behind the first client's back
	u := f.userIn(t, "active", 0)

	var interfered atomic.Bool
	proxied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && interfered.CompareAndSwap(false, true) {
			// Between the client's read and its PATCH, someone else bumps the version twice.
			_, err := other.SetUserState(r.Context(), u.ID, genesys.StateInactive)
			assert.NoError(t, err)
			_, err = other.SetUserState(r.Context(), u.ID, genesys.StateActive)
			assert.NoError(t, err)
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(proxied.Close)
	cfg := f.config(emulator.DevClientID, emulator.DevClientSecret)
	cfg.APIURL = proxied.URL
	c, err := genesys.New(context.Background(), cfg)
	require.NoError(t, err)

	before, _ := emu.User(u.ID)
	got, err := c.SetUserState(context.Background(), u.ID, genesys.StateInactive)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateInactive, got.State)
	assert.Equal(t, before.Version+3, got.Version)
	var patches []int
	for _, call := range f.calls(http.MethodPatch, "/api/v2/users/") {
		patches = append(patches, call.Status)
	}
	assert.Equal(t, []int{200, 200, 409, 200}, patches, "two interfering patches, the client's stale one, its retry")
}

func TestSetUserStateRejectsArchived(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	u := f.userIn(t, "active", 0)
	_, err := f.dev(t).SetUserState(context.Background(), u.ID, "archived")
	ge := requireKind(t, err, genesys.KindInvalid)
	assert.Equal(t, http.StatusBadRequest, ge.Status)
	assert.False(t, ge.Kind.Retryable())
}

func TestDeleteUserIsIdempotentAndRestorable(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	ctx := context.Background()
	u := f.userIn(t, "active", 0)

	require.NoError(t, c.DeleteUser(ctx, u.ID))
	rec, _ := f.emu.User(u.ID)
	assert.Equal(t, "deleted", rec.State)
	require.NoError(t, c.DeleteUser(ctx, u.ID), "deleting a deleted user succeeds")

	requireKind(t, c.DeleteUser(ctx, unknownUser), genesys.KindNotFound)

	restored, err := c.SetUserState(ctx, u.ID, genesys.StateActive)
	require.NoError(t, err)
	assert.Equal(t, genesys.StateActive, restored.State)
	rec, _ = f.emu.User(u.ID)
	assert.Equal(t, "active", rec.State)
}

func TestConversationJobFlowToTheEnd(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	ctx := context.Background()
	u := f.userIn(t, "active", 30)
	iv := genesys.Interval{Start: time.Now().AddDate(-5, 0, 0), End: time.Now().Add(time.Hour)}

	jobID, err := c.CreateConversationJob(ctx, u.ID, iv)
	require.NoError(t, err)
	var states []genesys.JobState
	for {
		st, err := c.ConversationJob(ctx, jobID)
		require.NoError(t, err)
		states = append(states, st.State)
		if st.State == genesys.JobFulfilled {
			assert.False(t, st.SubmissionDate.IsZero())
			break
		}
		require.Contains(t, []genesys.JobState{genesys.JobQueued, genesys.JobPending}, st.State)
		require.Less(t, len(states), 20)
	}
	assert.Equal(t, []genesys.JobState{genesys.JobQueued, genesys.JobPending, genesys.JobFulfilled}, states)

	seen := map[string]bool{}
	cursor, pages := "", 0
	var last time.Time
	for {
		var convs []genesys.Conversation
		page, err := c.ConversationJobResults(ctx, jobID, cursor, 7, func(i int, c genesys.Conversation) error {
			require.Len(t, convs, i, "indexes count up from 0 on an unbroken page")
			c.Raw = bytes.Clone(c.Raw) // the client reuses the buffer
			convs = append(convs, c)
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, len(convs), page.Conversations)
		pages++
		for _, conv := range convs {
			require.False(t, seen[conv.ID], "duplicate %s", conv.ID)
			seen[conv.ID] = true
			assert.False(t, conv.Start.Before(last), "results are ordered by start")
			last = conv.Start
			var raw map[string]any
			require.NoError(t, json.Unmarshal(conv.Raw, &raw))
			assert.Equal(t, conv.ID, raw["conversationId"])
			assert.Equal(t, conv.Start.Format("2006-01-02T15:04:05.000Z"), raw["conversationStart"])
			assert.Contains(t, string(conv.Raw), u.ID)
		}
		if page.Cursor == "" {
			break
		}
		cursor = page.Cursor
	}
	assert.Equal(t, u.Conversations, len(seen), "no gaps")
	assert.Equal(t, (u.Conversations+6)/7, pages)

	avail, err := c.DataAvailability(ctx)
	require.NoError(t, err)
	assert.False(t, avail.IsZero())

	require.NoError(t, c.DeleteConversationJob(ctx, jobID))
	_, err = c.ConversationJob(ctx, jobID)
	requireKind(t, err, genesys.KindNotFound)
	require.NoError(t, c.DeleteConversationJob(ctx, jobID), "deleting an unknown job succeeds")
}

func TestQueryConversationsPaging(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	ctx := context.Background()
	u := f.userIn(t, "active", 30)
	end := time.Now().UTC().Truncate(24 * time.Hour)
	iv := genesys.Interval{Start: end.AddDate(-2, 0, 0), End: end}
	want := f.emu.ConversationCount(u.ID, iv.Start, iv.End)
	require.Positive(t, want)

	const size = 10
	seen := map[string]bool{}
	inWindow := 0
	var last time.Time
	for page := 1; ; page++ {
		p, err := c.QueryConversations(ctx, u.ID, iv, size, page)
		require.NoError(t, err)
		for _, conv := range p.Conversations {
			require.False(t, seen[conv.ID], "duplicate %s", conv.ID)
			seen[conv.ID] = true
			assert.False(t, conv.Start.Before(last), "ordered by conversationStart")
			last = conv.Start
			if !conv.Start.Before(iv.Start) && conv.Start.Before(iv.End) {
				inWindow++
			}
			assert.True(t, json.Valid(conv.Raw))
		}
		if len(p.Conversations) < size {
			assert.GreaterOrEqual(t, p.TotalHits, want)
			break
		}
		require.Less(t, page, 1000)
	}
	assert.Equal(t, want, inWindow)

	past, err := c.QueryConversations(ctx, u.ID, iv, size, 10000)
	require.NoError(t, err)
	assert.Empty(t, past.Conversations, "past the last page")

	_, err = c.QueryConversations(ctx, u.ID, genesys.Interval{Start: end, End: end}, size, 1)
	requireKind(t, err, genesys.KindInvalid)
}

func TestRateLimitedCarriesRetryAfterAndPausesTheClient(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t, genesys.WithTransientRetries(0))
	u := f.userIn(t, "active", 0)
	f.emu.SetFaults(emulator.Faults{RateLimitBurst: 1, RetryAfter: 2})

	_, err := c.GetUser(context.Background(), u.ID)
	ge := requireKind(t, err, genesys.KindRateLimited)
	assert.Equal(t, 2*time.Second, ge.RetryAfter)
	assert.Equal(t, "too.many.requests.retry.after", ge.Code)
	assert.True(t, ge.Kind.Retryable())
	sent := len(f.emu.Calls())

	// While Retry-After lasts, a caller that cannot wait is refused without a request.
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = c.GetUser(short, u.ID)
	ge = requireKind(t, err, genesys.KindRateLimited)
	assert.Greater(t, ge.RetryAfter, time.Second)
	assert.Len(t, f.emu.Calls(), sent, "no request while paused")

	// A caller that can wait is held until Retry-After has passed, then succeeds.
	start := time.Now()
	_, err = c.GetUser(context.Background(), u.ID)
	require.NoError(t, err)
	assert.Greater(t, time.Since(start), time.Second)
}

func TestServerErrorsAreTransient(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t, genesys.WithTransientRetries(0))
	u := f.userIn(t, "active", 0)
	f.emu.SetFaults(emulator.Faults{Burst5xx: 1})
	_, err := c.GetUser(context.Background(), u.ID)
	ge := requireKind(t, err, genesys.KindTransient)
	assert.Equal(t, http.StatusServiceUnavailable, ge.Status)
	assert.NotEmpty(t, ge.CorrelationID)
	_, err = c.GetUser(context.Background(), u.ID)
	require.NoError(t, err)
}

func TestConnectionErrorsAreTransient(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	f.srv.Close()
	_, err := c.GetUser(context.Background(), unknownUser)
	requireKind(t, err, genesys.KindTransient)
}

func TestTimeoutIsTransient(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	cfg := f.config(emulator.DevClientID, emulator.DevClientSecret)
	cfg.Timeout = 200 * time.Millisecond
	c, err := genesys.New(context.Background(), cfg)
	require.NoError(t, err)
	f.emu.SetFaults(emulator.Faults{Latency: time.Second})
	_, err = c.GetUser(context.Background(), unknownUser)
	requireKind(t, err, genesys.KindTransient)
}

func TestConcurrentCallsShareOneLogin(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	users := f.emu.SeedUsers()
	f.emu.SetFaults(emulator.Faults{ExpireTokens: true})
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			_, err := c.GetUser(context.Background(), users[i%len(users)].ID)
			errs <- err
		}()
	}
	for range 16 {
		require.NoError(t, <-errs)
	}
	// One initial login, then at most a few re-logins however many calls saw the 401.
	assert.LessOrEqual(t, len(f.calls(http.MethodPost, "/oauth/token")), 3)
}

// BenchmarkGetUser measures client calls per second against the emulator on loopback.
func BenchmarkGetUser(b *testing.B) {
	f := newFixture(b, emulator.Options{Conversations: 100})
	cfg := f.config(emulator.DevClientID, emulator.DevClientSecret)
	cfg.RequestsPerMinute = 1 << 30
	c, err := genesys.New(context.Background(), cfg)
	require.NoError(b, err)
	u := f.userIn(b, "active", 0)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.GetUser(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.GetUser(ctx, u.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
	})
}

func TestNew_GivenRateLimitedLogin_ShouldStartAndLogInOnFirstCall(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.emu.SetFaults(emulator.Faults{RateLimitBurst: 1, RetryAfter: 1})

	c, err := genesys.New(context.Background(), f.config(emulator.DevClientID, emulator.DevClientSecret))
	require.NoError(t, err, "a rate-limited login must not stop a worker from starting")

	u := f.userIn(t, "active", 0)
	got, err := c.GetUser(context.Background(), u.ID)
	require.NoError(t, err)
	require.Equal(t, u.ID, got.ID)
}

func TestNew_GivenWrongSecret_ShouldFailAtOnceWithoutTheSecret(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	_, err := genesys.New(context.Background(), f.config(emulator.DevClientID, "not-the-secret"))
	require.Error(t, err)
	require.Equal(t, genesys.KindUnauthenticated, genesys.KindOf(err))
	require.NotContains(t, err.Error(), "not-the-secret")
}

func TestDo_GivenA5xxBlip_ShouldRetryInProcessAndSucceed(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	u := f.userIn(t, "active", 0)
	f.emu.SetFaults(emulator.Faults{Burst5xx: 2})

	got, err := c.GetUser(context.Background(), u.ID)
	require.NoError(t, err, "two 5xx in a row are within the client's own retries")
	require.Equal(t, u.ID, got.ID)
	require.Len(t, f.calls(http.MethodGet, "/api/v2/users/"+u.ID), 3)
}

func TestDo_GivenA5xxOnJobCreation_ShouldNotRepeatTheUnsafeRequest(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	u := f.userIn(t, "active", 1)
	f.emu.SetFaults(emulator.Faults{Burst5xx: 1})

	_, err := c.CreateConversationJob(context.Background(), u.ID, genesys.Interval{
		Start: time.Now().AddDate(-1, 0, 0).UTC().Truncate(24 * time.Hour), End: time.Now().UTC().Truncate(24 * time.Hour)})
	require.Equal(t, genesys.KindTransient, genesys.KindOf(err), "a 5xx may hide a created job: the caller decides")
	require.Len(t, f.calls(http.MethodPost, "/api/v2/analytics/conversations/details/jobs"), 1)
}

// resultsProxy serves the emulator, except that it rewrites the first results response it
// sees with tamper (which gets the emulator's body and writes the response itself).
func resultsProxy(t *testing.T, emu *emulator.Emulator, tamper func(w http.ResponseWriter, body []byte)) *genesys.SDKClient {
	t.Helper()
	var tampered atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/results") || !tampered.CompareAndSwap(false, true) {
			emu.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, r)
		require.Equal(t, http.StatusOK, rec.Code)
		tamper(w, rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	c, err := genesys.New(context.Background(), genesys.Config{ClientID: emulator.DevClientID, ClientSecret: emulator.DevClientSecret, APIURL: srv.URL})
	require.NoError(t, err)
	return c
}

// fulfilledJob creates a job over all of u's conversations and waits until it is fulfilled.
func fulfilledJob(t *testing.T, c genesys.Client, userID string) string {
	t.Helper()
	ctx := context.Background()
	id, err := c.CreateConversationJob(ctx, userID, genesys.Interval{Start: time.Now().AddDate(-5, 0, 0), End: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := c.ConversationJob(ctx, id)
		require.NoError(t, err)
		return st.State == genesys.JobFulfilled
	}, 10*time.Second, time.Millisecond)
	return id
}

// collect reads one results page, keeping conversations by index as EachConversation asks.
func collect(c genesys.Client, jobID string, pageSize int, indexes *[]int) ([]genesys.Conversation, genesys.ResultsPage, error) {
	var convs []genesys.Conversation
	page, err := c.ConversationJobResults(context.Background(), jobID, "", pageSize, func(i int, conv genesys.Conversation) error {
		if indexes != nil {
			*indexes = append(*indexes, i)
		}
		conv.Raw = bytes.Clone(conv.Raw)
		convs = append(convs[:i], conv)
		return nil
	})
	return convs, page, err
}

func TestConversationJobResults_GivenABodyCutOffInTransit_ShouldReadThePageAgainFromItsStart(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	u := f.userIn(t, "active", 20)
	c := resultsProxy(t, f.emu, func(w http.ResponseWriter, body []byte) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body[:len(body)*2/3])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection drops two thirds into the page
	})
	jobID := fulfilledJob(t, c, u.ID)
	want, wantPage, err := collect(f.dev(t), jobID, 20, nil)
	require.NoError(t, err)
	require.Len(t, want, 20)

	var indexes []int
	got, page, err := collect(c, jobID, 20, &indexes)
	require.NoError(t, err, "a cut-off body is retried in the client")
	assert.Equal(t, want, got)
	assert.Equal(t, wantPage, page)
	assert.Equal(t, 0, indexes[len(indexes)-20], "the repeated page starts again at index 0")
	assert.Greater(t, len(indexes), 20, "the first read delivered some conversations before it broke")
	assert.Len(t, f.calls(http.MethodGet, "/api/v2/analytics/conversations/details/jobs/"+jobID+"/results"), 3,
		"the tampered read (through the emulator), the retry and the reference read")
}

func TestConversationJobResults_GivenABodyThatIsNotAResultsPage_ShouldBeInvalid(t *testing.T) {
	for name, body := range map[string]string{
		"truncated JSON":         `{"conversations":[{"conversationId":"a","conversationStart":"2026-01-01T00:00:00.000Z"},`,
		"conversations not list": `{"conversations":{"x":1}}`,
		"conversation no id":     `{"conversations":[{"conversationStart":"2026-01-01T00:00:00.000Z"}]}`,
		"not an object":          `[1,2]`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, emulator.Options{})
			u := f.userIn(t, "active", 1)
			c := resultsProxy(t, f.emu, func(w http.ResponseWriter, _ []byte) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			})
			_, _, err := collect(c, fulfilledJob(t, c, u.ID), 10, nil)
			e := requireKind(t, err, genesys.KindInvalid)
			assert.Equal(t, http.StatusOK, e.Status)
			if name == "truncated JSON" {
				// A complete response whose JSON ends early is the server's fault, not the network's.
				assert.Contains(t, e.Error(), "decode results")
			}
		})
	}
}

func TestConversationJobResults_GivenTheReceiverFails_ShouldStopAndReturnItsErrorUnretried(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	u := f.userIn(t, "active", 5)
	jobID := fulfilledJob(t, c, u.ID)
	stop := errors.New("disk full")
	var seen int
	_, err := c.ConversationJobResults(context.Background(), jobID, "", 10, func(i int, _ genesys.Conversation) error {
		seen++
		if i == 1 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 2, seen, "nothing is delivered after the receiver's error")
	results := func() int {
		return len(f.calls(http.MethodGet, "/api/v2/analytics/conversations/details/jobs/"+jobID+"/results"))
	}
	// The emulator logs a call when its handler returns, which can be after the client stopped reading.
	require.Eventually(t, func() bool { return results() > 0 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 1, results(), "not retried")
}

func TestConversationJobResults_GivenAResultsPage_ShouldDecodeCursorAndAvailability(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	u := f.userIn(t, "active", 1)
	c := resultsProxy(t, f.emu, func(w http.ResponseWriter, _ []byte) {
		// Fields in any order, unknown fields skipped, the cursor before the conversations.
		_, _ = w.Write([]byte(`{"cursor":"next","extra":{"a":[1,{"b":null}]},"conversations":[
			{"conversationId":"c1","conversationStart":"2026-01-01T10:00:00.000Z","conversationEnd":"2026-01-01T10:05:00.000Z"}],
			"dataAvailabilityDate":"2026-01-02T00:00:00Z"}`))
	})
	got, page, err := collect(c, fulfilledJob(t, c, u.ID), 10, nil)
	require.NoError(t, err)
	assert.Equal(t, genesys.ResultsPage{Conversations: 1, Cursor: "next", DataAvailabilityDate: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}, page)
	require.Len(t, got, 1)
	assert.Equal(t, "c1", got[0].ID)
	assert.Equal(t, time.Date(2026, 1, 1, 10, 5, 0, 0, time.UTC), got[0].End)
	assert.JSONEq(t, `{"conversationId":"c1","conversationStart":"2026-01-01T10:00:00.000Z","conversationEnd":"2026-01-01T10:05:00.000Z"}`, string(got[0].Raw))
}
