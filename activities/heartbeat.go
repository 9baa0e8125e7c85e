package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// keepAliveEvery is the longest gap between two heartbeats of a pulse: a third of the heartbeat
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

// pulse heartbeats an activity every keepAliveEvery (or a third of its heartbeat timeout) until
// stopped, repeating the details last recorded, so that a call held by the Genesys client (its
// rate limiter, a Retry-After, an in-process retry's backoff, a slow response) never lets the
// heartbeat lapse, while a killed worker stops it and the server retries the attempt after the
// heartbeat timeout. The SDK throttles what reaches the server.
type pulse struct {
	ctx     context.Context
	mu      sync.Mutex
	details []any
	// beating is whether the ticks heartbeat yet: from the start, except in an attempt that
	// resumes from a checkpoint in its details, which an empty heartbeat would erase: there from
	// the first record.
	beating bool
	done    chan struct{}
	wg      sync.WaitGroup
}

// keepAlive starts a pulse without details, for an activity whose progress is not worth a
// checkpoint; stop ends it.
func keepAlive(ctx context.Context) (stop func()) { return startPulse(ctx, false).stop }

// startPulse starts a pulse for the activity of ctx (none outside an activity); checkpoints says
// whether the activity's details are a checkpoint that its next attempt resumes from.
func startPulse(ctx context.Context, checkpoints bool) *pulse {
	if !activity.IsActivity(ctx) {
		return nil
	}
	p := &pulse{ctx: ctx, beating: !checkpoints || !activity.HasHeartbeatDetails(ctx), done: make(chan struct{})}
	every := min(keepAliveEvery, heartbeatSlice(ctx))
	p.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				p.beat()
			}
		}
	})
	return p
}

// record heartbeats details now and has the ticks repeat them. Details must not change after:
// the ticks send them from another goroutine.
func (p *pulse) record(ctx context.Context, details ...any) {
	if p == nil {
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, details...)
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.details, p.beating = details, true
	activity.RecordHeartbeat(p.ctx, details...)
}

// beat repeats the last details, under the lock so that it never sends them after newer ones.
func (p *pulse) beat() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.beating {
		activity.RecordHeartbeat(p.ctx, p.details...)
	}
}

// stop ends the ticks and waits for the last one.
func (p *pulse) stop() {
	if p == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
}
