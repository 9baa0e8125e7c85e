// Package pace is Offboard's one way of waiting between tries: doubling delays with jitter
// (github.com/cenkalti/backoff/v5) and a poll loop whose waits the caller controls, so that an
// activity can heartbeat while it waits.
package pace

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Delays returns a delay sequence that starts near initial, doubles on every try and never
// exceeds maxDelay (0 means no cap), with ±jitter of randomisation (0 for exact delays). It never
// stops by itself: callers bound the tries or the time.
func Delays(initial, maxDelay time.Duration, jitter float64) backoff.BackOff {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     initial,
		RandomizationFactor: jitter,
		Multiplier:          2,
		MaxInterval:         maxDelay,
	}
	if maxDelay <= 0 {
		b.MaxInterval = time.Duration(1<<63 - 1)
	}
	b.Reset()
	return b
}

// Wait is how a poll waits for d; it returns ctx's error if ctx ends first.
type Wait func(ctx context.Context, d time.Duration) error

// Sleep is the plain Wait: a timer, cut short when ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Until calls try until it reports done or fails, waiting the next of delays between calls
// through wait. It returns try's last value, try's error, or wait's error.
func Until[T any](ctx context.Context, delays backoff.BackOff, wait Wait, try func(context.Context) (T, bool, error)) (T, error) {
	for {
		v, done, err := try(ctx)
		if err != nil || done {
			return v, err
		}
		if err := wait(ctx, delays.NextBackOff()); err != nil {
			return v, err
		}
	}
}
