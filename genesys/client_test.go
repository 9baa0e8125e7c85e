package genesys_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
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

func Test_GivenARateLimitedLogin_ShouldStartAndLogInOnFirstCall(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.emu.SetFaults(emulator.Faults{RateLimitBurst: 1, RetryAfter: 1})

	c, err := genesys.New(context.Background(), f.config(emulator.DevClientID, emulator.DevClientSecret))
	require.NoError(t, err, "a rate-limited login must not stop a worker from starting")

	u := f.userIn(t, "active", 0)
	got, err := c.GetUser(context.Background(), u.ID)
	require.NoError(t, err)
	require.Equal(t, u.ID, got.ID)
}

func Test_GivenAWrongSecretAtStart_ShouldFailAtOnceWithoutTheSecret(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	_, err := genesys.New(context.Background(), f.config(emulator.DevClientID, "not-the-secret"))
	require.Error(t, err)
	require.Equal(t, genesys.KindUnauthenticated, genesys.KindOf(err))
	require.NotContains(t, err.Error(), "not-the-secret")
}
