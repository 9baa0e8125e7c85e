package genesys_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenA429_ShouldCarryRetryAfterAndPauseTheClient(t *testing.T) {
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

func Test_GivenA5xx_ShouldBeTransient(t *testing.T) {
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

func Test_GivenNoServer_ShouldBeTransient(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	f.srv.Close()
	_, err := c.GetUser(context.Background(), unknownUser)
	requireKind(t, err, genesys.KindTransient)
}

func Test_GivenASlowServer_ShouldTimeOutTransient(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	cfg := f.config(emulator.DevClientID, emulator.DevClientSecret)
	cfg.Timeout = 200 * time.Millisecond
	c, err := genesys.New(context.Background(), cfg)
	require.NoError(t, err)
	f.emu.SetFaults(emulator.Faults{Latency: time.Second})
	_, err = c.GetUser(context.Background(), unknownUser)
	requireKind(t, err, genesys.KindTransient)
}

func Test_GivenA5xxBlip_ShouldRetryInProcessAndSucceed(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	u := f.userIn(t, "active", 0)
	f.emu.SetFaults(emulator.Faults{Burst5xx: 2})

	got, err := c.GetUser(context.Background(), u.ID)
	require.NoError(t, err, "two 5xx in a row are within the client's own retries")
	require.Equal(t, u.ID, got.ID)
	require.Len(t, f.calls(http.MethodGet, "/api/v2/users/"+u.ID), 3)
}

func Test_GivenA5xxOnJobCreation_ShouldNotRepeatTheUnsafeRequest(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	u := f.userIn(t, "active", 1)
	f.emu.SetFaults(emulator.Faults{Burst5xx: 1})

	_, err := c.CreateConversationJob(context.Background(), u.ID, genesys.Interval{
		Start: time.Now().AddDate(-1, 0, 0).UTC().Truncate(24 * time.Hour), End: time.Now().UTC().Truncate(24 * time.Hour)})
	require.Equal(t, genesys.KindTransient, genesys.KindOf(err), "a 5xx may hide a created job: the caller decides")
	require.Len(t, f.calls(http.MethodPost, "/api/v2/analytics/conversations/details/jobs"), 1)
}
