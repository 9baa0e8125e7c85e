package genesys

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

func hdr(allowed, count, reset string) http.Header {
	h := http.Header{}
	h.Set("inin-ratelimit-allowed", allowed)
	h.Set("inin-ratelimit-count", count)
	h.Set("inin-ratelimit-reset", reset)
	return h
}

func Test_GivenNoCountFromGenesys_ShouldSendAtTheFallbackShare(t *testing.T) {
	l := newLimiter(100, 300)
	l.observe(http.Header{}) // Genesys "may" send the headers

	l.refresh(time.Now())

	assert.InDelta(t, 100.0/60, float64(l.limit()), 1e-9)
}

func Test_GivenAProcessThatSentLittleOfTheCount_ShouldPaceAtItsShareOfWhatIsLeft(t *testing.T) {
	l := newLimiter(100, 300)
	l.observe(hdr("300", "100", "30")) // one of this process's among 100

	_, spent := l.refresh(time.Now())

	require.False(t, spent)
	left := 200.0 / 30 // what is left of the budget, per second
	assert.Less(t, float64(l.limit()), 0.3*left, "well under the whole of what is left")
	assert.GreaterOrEqual(t, float64(l.limit()), probeShare*left, "at least the probe share, so that it can grow")
}

func Test_GivenTheWholeCountFromThisProcess_ShouldPaceAtTheFleetsRate(t *testing.T) {
	l := newLimiter(300, 300)
	for n := 1; n <= 50; n++ {
		l.observe(hdr("300", strconv.Itoa(n), "45"))
	}

	l.refresh(time.Now())

	assert.Equal(t, rate.Limit(5), l.limit(), "a lone busy process may use all of the budget")
}

func Test_GivenTheCountAtTheBudgetBelowTheAllowance_ShouldPauseUntilTheWindowResets(t *testing.T) {
	l := newLimiter(100, 300) // another integration has the rest of Genesys's 600
	l.observe(hdr("600", "300", "20"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	err := l.wait(ctx, "op", 5*time.Second)

	var e *Error
	require.True(t, errors.As(err, &e), "wait = %v", err)
	assert.Equal(t, KindRateLimited, e.Kind)
	assert.Greater(t, e.RetryAfter, 19*time.Second)
}

func Test_GivenTheOrgBudgetSpent_ShouldRefuseAWaitLongerThanAllowed(t *testing.T) {
	l := newLimiter(6000, 6000)
	l.observe(hdr("300", "300", "20"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := l.wait(ctx, "op", 5*time.Second)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRateLimited || e.RetryAfter < 19*time.Second {
		t.Fatalf("wait while the org budget is spent = %v, want KindRateLimited with ~20s", err)
	}
}

func Test_GivenASlotAfterTheWindowsEnd_ShouldFailAtOnceWhenItPassesTheDeadline(t *testing.T) {
	l := newLimiter(100, 300)
	l.observe(hdr("300", "290", "30")) // others spend the budget; this process's next slot is far off
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.NoError(t, l.wait(ctx, "op", 5*time.Second), "the first request goes at once")

	started := time.Now()
	err := l.wait(ctx, "op", 5*time.Second)

	assert.Less(t, time.Since(started), 100*time.Millisecond, "refused at once, not at the deadline")
	assert.Equal(t, KindTransient, KindOf(err))
}

func Test_GivenAnOldCountProjectedPastTheBudget_ShouldSendOneRequestToReadItAnew(t *testing.T) {
	l := newLimiter(100, 300)
	l.observe(hdr("300", "150", "50")) // the others sent 150 in 10 s
	l.win.seen = l.win.seen.Add(-20 * time.Second)

	_, spent := l.refresh(time.Now())

	assert.False(t, spent, "twenty seconds on, the others may have stopped")
	assert.InDelta(t, float64(probeEvery)/60, float64(l.limit()), 1e-9)
}

func Test_GivenAFreshCountProjectedPastTheBudget_ShouldPauseUntilTheWindowResets(t *testing.T) {
	l := newLimiter(100, 300)
	l.observe(hdr("300", "299", "50")) // the others sent 298 in 10 s

	_, spent := l.refresh(time.Now().Add(time.Second))

	assert.True(t, spent)
	assert.WithinDuration(t, time.Now().Add(50*time.Second), l.pausedUntil, time.Second)
}
