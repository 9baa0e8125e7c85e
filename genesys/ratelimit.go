package genesys

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter paces this process's requests so that every process on the OAuth client together stays
// under the fleet's budget. Genesys counts per OAuth client and reports the count on successful
// responses (inin-ratelimit-*), so that count is what the processes share: each paces at its share
// of what is left of the budget in the window (fleetWindow), every one pauses when the count
// reaches the budget until the window resets, and this one pauses while a 429's Retry-After lasts.
// While Genesys reports no count it sends at its fallback rate.
type limiter struct {
	fleet    float64       // the fleet's budget, requests per minute
	fallback rate.Limit    // the rate while Genesys reports no count
	length   time.Duration // of Genesys's rate-limit window
	lim      *rate.Limiter
	observer Observer
	// queue lets waiting requests take their slots best priority first (see Priority).
	queue admission

	mu          sync.Mutex
	pausedUntil time.Time
	win         fleetWindow
}

// newLimiter paces at fallbackPerMinute (at most the fleet's budget) until Genesys reports its
// count, then at this process's share of fleetPerMinute.
func newLimiter(fallbackPerMinute, fleetPerMinute int) *limiter {
	fleetPerMinute = max(1, fleetPerMinute)
	fallbackPerMinute = max(1, min(fallbackPerMinute, fleetPerMinute))
	fallback := rate.Limit(float64(fallbackPerMinute) / 60)
	return &limiter{
		fleet:    float64(fleetPerMinute),
		fallback: fallback,
		length:   time.Minute,
		lim:      rate.NewLimiter(fallback, max(1, fallbackPerMinute/60)),
		observer: nopObserver{},
		win:      fleetWindow{share: float64(fallbackPerMinute) / float64(fleetPerMinute)},
	}
}

// wait blocks until a request may be sent. A pause that would outlast ctx's deadline or
// maxWait fails at once as KindRateLimited, so callers (Temporal activities) can retry later
// instead of blocking. It is the one way in for every request.
func (l *limiter) wait(ctx context.Context, op string, maxWait time.Duration) error {
	for {
		if err := l.waitPause(ctx, op, maxWait); err != nil {
			return err
		}
		started := time.Now()
		granted, err := l.waitTurn(ctx, op)
		l.observer.LimiterWait(WaitRate, time.Since(started))
		if granted || err != nil {
			return err
		}
	}
}

// waitPause waits out a pause: a 429's Retry-After, or the rest of a window whose budget is spent.
func (l *limiter) waitPause(ctx context.Context, op string, maxWait time.Duration) error {
	l.mu.Lock()
	until := l.pausedUntil
	l.mu.Unlock()
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	dl, hasDL := ctx.Deadline()
	if d > maxWait || (hasDL && time.Now().Add(d).After(dl)) {
		return &Error{Kind: KindRateLimited, Op: op, RetryAfter: d.Round(time.Millisecond),
			Message: "client-side pause: a 429 from Genesys Cloud, or the fleet's budget spent for this window"}
	}
	if err := sleep(ctx, op, d); err != nil {
		return err
	}
	l.observer.LimiterWait(WaitRetryAfter, d)
	return nil
}

// waitTurn waits for the request's turn among those waiting (best priority, then oldest
// first), then for its slot.
func (l *limiter) waitTurn(ctx context.Context, op string) (bool, error) {
	var granted bool
	err := l.queue.admit(ctx, PriorityOf(ctx), func(ctx context.Context) error {
		var err error
		granted, err = l.waitRate(ctx, op)
		return err
	})
	var ge *Error
	if err != nil && !errors.As(err, &ge) {
		return false, &Error{Kind: KindTransient, Op: op, Err: err, Message: "client-side rate limit: the request's turn did not come before its context ended"}
	}
	return granted, err
}

// waitRate waits for this process's next request slot. A slot that falls after the window's end
// is given back and asked for again once the window has reset, at the new window's rate. It
// grants none when the fleet's budget is spent for the window, which pauses the process.
func (l *limiter) waitRate(ctx context.Context, op string) (bool, error) {
	for {
		now := time.Now()
		left, spent := l.refresh(now)
		if spent {
			return false, nil
		}
		res := l.lim.ReserveN(now, 1)
		d := res.DelayFrom(now)
		slot := d
		if left > 0 && d > left {
			slot = left
		}
		if dl, ok := ctx.Deadline(); ok && now.Add(slot).After(dl) {
			res.CancelAt(now)
			return false, &Error{Kind: KindTransient, Op: op, Err: context.DeadlineExceeded,
				Message: "client-side rate limit: the next request slot is after the deadline"}
		}
		if slot < d {
			res.CancelAt(now)
		}
		if err := sleep(ctx, op, slot); err != nil {
			if slot == d {
				res.Cancel()
			}
			return false, err
		}
		if slot == d {
			// The count may have reached the budget while this slot was waited for.
			_, spent := l.refresh(time.Now())
			return !spent, nil
		}
	}
}

// refresh sets the rate for now and returns the time left in the window (0 while unknown). When
// the budget is spent for the window, it pauses until the window's end.
func (l *limiter) refresh(now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, left, spent := l.pace(now)
	if spent {
		l.pauseUntilLocked(now.Add(left))
		return left, true
	}
	l.lim.SetLimitAt(now, r)
	return left, false
}

// pause stops requests for d (a 429's Retry-After).
func (l *limiter) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pauseUntilLocked(time.Now().Add(d))
}

func (l *limiter) pauseUntilLocked(until time.Time) {
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}

// observe takes in the client's count that Genesys reports on a response.
func (l *limiter) observe(h http.Header) {
	allowed, okA := headerInt(h, "Inin-Ratelimit-Allowed")
	count, okC := headerInt(h, "Inin-Ratelimit-Count")
	if !okA || !okC || allowed <= 0 {
		return
	}
	now := time.Now()
	reset, okR := headerInt(h, "Inin-Ratelimit-Reset")
	end := now.Add(time.Duration(reset) * time.Second)
	if !okR || reset <= 0 {
		end = now.Add(l.length)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.win.record(now, end, allowed, count, l.length, l.priorWeight(allowed))
	if l.win.count >= l.capacity(allowed) {
		l.pauseUntilLocked(l.win.end)
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

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, op string, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return &Error{Kind: KindTransient, Op: op, Err: ctx.Err()}
	case <-t.C:
		return nil
	}
}
