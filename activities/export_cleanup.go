package activities

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/internal/pace"
)

// jobDeleteWait bounds how long one deletion of an analytics job waits its turn in the rate
// limiter and retries: a deletion is a call like any other, queued behind the others, not
// dropped when the budget is contended.
const jobDeleteWait = 5 * time.Minute

// liveJobs are the analytics jobs the export created and has not deleted yet, the current one
// included. The checkpoint carries them (exportProgress.Jobs), so that the next attempt deletes
// those an attempt that crashed or stopped left behind. It is shared with the lookahead and the
// background deletions.
type liveJobs struct {
	mu  sync.Mutex
	ids []string
}

func (l *liveJobs) add(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.ids, id) {
		l.ids = append(l.ids, id)
	}
}

func (l *liveJobs) remove(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids = slices.DeleteFunc(l.ids, func(v string) bool { return v == id })
}

func (l *liveJobs) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ids)
}

// deleteLeftovers deletes, in the background, the jobs an earlier attempt created and did not
// delete, except the current one, which this attempt reads on.
func (x *exporter) deleteLeftovers(ctx context.Context) {
	for _, id := range x.p.Jobs {
		x.jobs.add(id)
		if id != x.p.JobID {
			x.deleteJobLater(ctx, id)
		}
	}
}

// deleteJobLater deletes a job in the background; run waits for it before it returns.
func (x *exporter) deleteJobLater(ctx context.Context, id string) {
	dctx, cancel := x.deletionContext(ctx)
	x.deletions.Go(func() {
		defer cancel()
		x.deleteJob(dctx, id)
	})
}

// deletionContext outlives the export's own cancellation, so that a job the export no longer
// needs is still deleted, for up to jobDeleteWait. A stopping worker waits for it too (within
// its WorkerStopTimeout): the deletions are what a graceful stop must not leave behind.
func (x *exporter) deletionContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), jobDeleteWait)
}

// deleteCurrentOnStop deletes the current job when the worker stops. The next attempt would
// read on from it only if the last checkpoint reached the server, which a heartbeat recorded as
// the attempt ends does not (the SDK drops a throttled one), so it would be left behind; the
// next attempt finds it gone and makes the window's job anew, as after an expiry.
func (x *exporter) deleteCurrentOnStop(ctx context.Context) {
	if errors.Is(context.Cause(ctx), errWorkerStopping) && x.p.JobID != "" {
		x.deleteJobLater(ctx, x.p.JobID)
	}
}

// deleteJob deletes a job, retrying a retryable failure (a 429, a wait in the rate limiter, a
// 5xx) until ctx ends. A job it could not delete stays among the live jobs, which the
// checkpoint carries to the next attempt; one that no attempt deletes expires at Genesys at
// its expirationDate.
func (x *exporter) deleteJob(ctx context.Context, id string) {
	_, err := pace.Until(ctx, pace.Delays(time.Second, maxPollInterval, 0.2), pace.Sleep, func(ctx context.Context) (struct{}, bool, error) {
		err := x.g.DeleteConversationJob(ctx, id)
		if err != nil && genesys.KindOf(err).Retryable() && ctx.Err() == nil {
			return struct{}{}, false, nil
		}
		return struct{}{}, true, err
	})
	if err != nil && !genesys.IsNotFound(err) { // not found: deleted already, or expired
		x.logger(ctx).Warn("could not delete analytics job; the next attempt deletes it, or it expires", "jobId", id, "error", err)
		return
	}
	x.jobs.remove(id)
}
