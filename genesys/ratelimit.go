package genesys

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps one process under its configured request rate, slows down when the
// inin-ratelimit-* headers show the org's budget nearly spent, and stops sending while a
// 429's Retry-After lasts.
type limiter struct {
	base     rate.Limit
	lim      *rate.Limiter
	observer Observer

	mu          sync.Mutex
	pausedUntil time.Time
	adapted     bool
}

// slowDownAt is the fraction of the org's budget after which the limiter spreads the remaining
// requests over the rest of the window; below recoverAt it returns to the configured rate.
const (
	slowDownAt = 0.8
	recoverAt  = 0.5
)

func newLimiter(requestsPerMinute int) *limiter {
	base := rate.Limit(float64(requestsPerMinute) / 60)
	burst := max(1, requestsPerMinute/60)
	return &limiter{base: base, lim: rate.NewLimiter(base, burst), observer: nopObserver{}}
}

// wait blocks until a request may be sent. A pause that would outlast ctx's deadline or
// maxWait fails at once as KindRateLimited, so callers (Temporal activities) can retry later
// instead of blocking.
func (l *limiter) wait(ctx context.Context, op string, maxWait time.Duration) error {
	l.mu.Lock()
	until := l.pausedUntil
	l.mu.Unlock()
	if d := time.Until(until); d > 0 {
		dl, hasDL := ctx.Deadline()
		if d > maxWait || (hasDL && time.Now().Add(d).After(dl)) {
			return &Error{Kind: KindRateLimited, Op: op, RetryAfter: d.Round(time.Millisecond),
				Message: "client-side pause after a 429 from Genesys Cloud"}
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return &Error{Kind: KindTransient, Op: op, Err: ctx.Err()}
		case <-t.C:
		}
		l.observer.LimiterWait(WaitRetryAfter, d)
	}
	started := time.Now()
	defer func() { l.observer.LimiterWait(WaitRate, time.Since(started)) }()
	if err := l.lim.Wait(ctx); err != nil {
		// rate.Limiter refuses at once when the wait would pass the deadline.
		return &Error{Kind: KindTransient, Op: op, Message: "client-side rate limit: " + err.Error(), Err: ctx.Err()}
	}
	return nil
}

// pause stops requests for d (a 429's Retry-After).
func (l *limiter) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := time.Now().Add(d); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}

// observe adapts the rate to the org budget that Genesys reports on each response.
func (l *limiter) observe(h http.Header) {
	allowed, okA := headerInt(h, "Inin-Ratelimit-Allowed")
	count, okC := headerInt(h, "Inin-Ratelimit-Count")
	if !okA || !okC || allowed <= 0 {
		return
	}
	reset, okR := headerInt(h, "Inin-Ratelimit-Reset")
	if !okR || reset <= 0 {
		reset = 60
	}
	used := float64(count) / float64(allowed)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case count >= allowed:
		if until := time.Now().Add(time.Duration(reset) * time.Second); until.After(l.pausedUntil) {
			l.pausedUntil = until
		}
	case used >= slowDownAt:
		// Spread what is left of the budget over what is left of the window.
		r := min(l.base, rate.Limit(float64(allowed-count)/float64(reset)))
		l.lim.SetLimit(r)
		l.adapted = true
	case used < recoverAt && l.adapted:
		l.lim.SetLimit(l.base)
		l.adapted = false
	}
}

// limit is the current permitted rate, for tests and diagnostics.
func (l *limiter) limit() rate.Limit { return l.lim.Limit() }

func headerInt(h http.Header, key string) (int, bool) {
	v := h.Get(key)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	return n, true
}
