package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// keepAliveEvery is the longest gap between two heartbeats of keepAlive: a third of the heartbeat
// timeout when that is shorter.
const keepAliveEvery = 5 * time.Second

// heartbeatSlice is how long an activity may go without a heartbeat: a third of its heartbeat
// timeout, or 10 s without one.
func heartbeatSlice(ctx context.Context) time.Duration {
	if activity.IsActivity(ctx) {
		if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 {
			return max(hb/3, time.Millisecond)
		}
	}
	return 10 * time.Second
}

// keepAlive heartbeats, without details, every keepAliveEvery (or a third of the heartbeat
// timeout) until stop is called or ctx ends. An activity whose progress is not worth a
// checkpoint runs under it, so that a call held by the Genesys client (its rate limiter, a
// Retry-After, an in-process retry's backoff, a slow response) never lets the heartbeat lapse,
// while a killed worker stops it and the server retries the attempt after the heartbeat timeout.
func keepAlive(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	every := min(keepAliveEvery, heartbeatSlice(ctx))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			activity.RecordHeartbeat(ctx)
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
