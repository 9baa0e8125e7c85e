package genesys_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu       sync.Mutex
	requests []string // endpoint and status
	waits    map[string]int
}

func (r *recorder) Request(endpoint string, status int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, endpoint+" "+itoa(status))
}

func (r *recorder) LimiterWait(reason string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits[reason]++
}

func itoa(n int) string { return strconv.Itoa(n) }

func Test_GivenAPathWithIDs_ShouldNameTheEndpointWithoutThem(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v2/users/3f2504e0-4f89-41d3-9a0c-0305e82c3301":            "GET /api/v2/users/{id}",
		"/api/v2/analytics/conversations/details/jobs/job-0042/results": "GET /api/v2/analytics/conversations/details/jobs/{id}/results",
		"/api/v2/tokens/me": "GET /api/v2/tokens/me",
		"/api/v2/routing/queues/abcdef12-0000-0000-0000-000000000000/members/17": "GET /api/v2/routing/queues/{id}/members/{id}",
	} {
		assert.Equal(t, want, genesys.Endpoint("GET", path), path)
	}
}

func Test_GivenAnObserver_ShouldBeToldOfEveryRequestAndLimiterWait(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	rec := &recorder{waits: map[string]int{}}
	c := f.dev(t, genesys.WithObserver(rec), genesys.WithTransientRetries(1))
	u := f.userIn(t, "active", 0)

	f.emu.SetFaults(emulator.Faults{RateLimitBurst: 1, RetryAfter: 1})
	_, err := c.GetUser(context.Background(), u.ID)
	require.NoError(t, err)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Contains(t, rec.requests, "POST /oauth/token 200")
	assert.Contains(t, rec.requests, "GET /api/v2/users/{id} 429")
	assert.Contains(t, rec.requests, "GET /api/v2/users/{id} 200")
	for _, r := range rec.requests {
		assert.NotContains(t, r, u.ID)
	}
	assert.Equal(t, 1, rec.waits[genesys.WaitRetryAfter], "the retry waited out the 429's Retry-After")
	assert.GreaterOrEqual(t, rec.waits[genesys.WaitRate], 3, "login and both tries passed the rate limiter")
}
