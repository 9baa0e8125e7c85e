package activities

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/internal/pace"
)

// exportWindow writes window w's conversations, creating (and re-creating) its job as needed.
func (x *exporter) exportWindow(ctx context.Context, w int) error {
	if err := x.loadStored(ctx, w); err != nil {
		return err
	}
	var failures []string
	// stream reads the job's results from its first page when a lookahead started it.
	var stream *resultStream
	for {
		if x.p.JobID == "" {
			if len(failures) >= jobAttempts {
				return failure(ErrExportJobFailed, nil, fmt.Sprintf(
					"%d analytics jobs for this window did not complete (%s); the activity will retry with a new job",
					len(failures), strings.Join(failures, "; ")))
			}
			var err error
			if stream, err = x.newJob(ctx, w); err != nil {
				return err
			}
		}
		failed, err := x.writeJob(ctx, w, stream)
		stream = nil
		if err != nil || failed == "" {
			return err
		}
		failures = append(failures, failed)
		x.logger(ctx).Warn("analytics job did not complete; creating a new one", "jobId", x.p.JobID, "reason", failed)
		x.deleteJobLater(ctx, x.p.JobID)
		x.p.clearJob()
		x.checkpoint(ctx)
	}
}

// newJob makes a job for window w current: the one a lookahead prepared, with the stream of its
// results if it started one, or a new one once the data is available.
func (x *exporter) newJob(ctx context.Context, w int) (*resultStream, error) {
	prep, err := x.takeLookahead(ctx, w)
	if err != nil {
		return nil, err
	}
	id := prep.jobID
	if id == "" {
		if err := x.awaitAvailability(ctx, x.windows[w]); err != nil {
			return nil, err
		}
		if id, err = x.g.CreateConversationJob(ctx, x.in.UserID, genesys.Interval(x.windows[w])); err != nil {
			return nil, err
		}
		x.jobs.add(id)
	}
	x.p.useJob(id)
	x.checkpoint(ctx)
	return prep.stream, nil
}

// writeJob writes the current job's results once it is fulfilled (at once if stream, started
// by a lookahead, already reads them). It returns why the job did not serve, if it ended
// otherwise or expired, so that another is created; other failures are errors.
func (x *exporter) writeJob(ctx context.Context, w int, stream *resultStream) (string, error) {
	st, err := genesys.JobStatus{State: genesys.JobFulfilled}, error(nil)
	if stream == nil {
		st, err = x.awaitJob(ctx, x.p.JobID)
	}
	if err == nil && st.State == genesys.JobFulfilled {
		if err = x.readResults(ctx, w, stream); err == nil {
			x.deleteJobLater(ctx, x.p.JobID)
			return "", nil
		}
	}
	switch {
	case err == nil:
		return fmt.Sprintf("job %s ended %s: %s", x.p.JobID, st.State, st.ErrorMessage), nil
	case genesys.IsNotFound(err):
		return fmt.Sprintf("job %s expired", x.p.JobID), nil
	default:
		return "", err
	}
}

// lookahead prepares the next window's job while the current window is read, so that Genesys
// runs it in the meantime: it checks availability, creates the job and polls it until it ends.
// Once the current window's last page is read (release), it starts reading the job's results,
// so that the next window's first conversations arrive while the current window's last ones are
// written and counted. If anything fails it stops, and exportWindow does the rest as usual. It
// never writes to the bundle or the checkpoint, so exactly-once and resuming rest on
// exportWindow alone; a job it created that the export does not use is deleted (or expires).
type lookahead struct {
	window  int
	release func() // lets the lookahead start reading results
	prep    *task[preparedJob]
}

// preparedJob is what a lookahead made: the job, if one was created, and the stream of its
// results, if the job was fulfilled and the lookahead released.
type preparedJob struct {
	jobID  string
	stream *resultStream
}

// startLookahead prepares window w's job, unless the window is done or has had a job.
func (x *exporter) startLookahead(ctx context.Context, w int) {
	if x.ahead != nil || w >= len(x.windows) || x.p.Windows[w].Exported || len(x.p.Windows[w].JobIDs) > 0 {
		return
	}
	released := make(chan struct{})
	win, target := x.windows[w], x.availabilityTarget(x.windows[w])
	x.ahead = &lookahead{
		window:  w,
		release: sync.OnceFunc(func() { close(released) }),
		// The stream runs under the export's ctx, not the lookahead's: once taken, it outlives it.
		prep: startTask(ctx, func(lctx context.Context) preparedJob {
			return x.prepareJob(lctx, win, target, released, func(id string) *resultStream { return x.streamResults(ctx, id, "") })
		}),
	}
}

// prepareJob is the lookahead's work: the job over win, fulfilled, and once released, the
// stream of its results. It stops at the first thing that fails and returns what it has.
func (x *exporter) prepareJob(ctx context.Context, win bundle.Window, target time.Time, released <-chan struct{}, stream func(string) *resultStream) preparedJob {
	var prep preparedJob
	if ok, _, err := x.availableFor(ctx, target); err != nil || !ok {
		return prep
	}
	// Not cancelled with the lookahead: a job created while the request was cut off would be
	// left behind unknown, whereas a job it knows of, dropLookahead deletes.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	id, err := x.g.CreateConversationJob(cctx, x.in.UserID, genesys.Interval(win))
	cancel()
	if err != nil {
		return prep
	}
	x.jobs.add(id)
	prep.jobID = id
	// Polled without heartbeats: only the export's goroutine heartbeats. A job that ended
	// otherwise, exportWindow sees end and replaces.
	if st, err := x.pollJob(ctx, id, pace.Sleep, nil); err != nil || st.State != genesys.JobFulfilled {
		return prep
	}
	select {
	case <-released:
		prep.stream = stream(id)
	case <-ctx.Done():
	}
	return prep
}

// takeLookahead waits for the lookahead of window w, if there is one, and returns what it
// prepared (nothing if there is none).
func (x *exporter) takeLookahead(ctx context.Context, w int) (preparedJob, error) {
	la := x.ahead
	if la == nil || la.window != w {
		return preparedJob{}, nil
	}
	la.release()
	prep, err := la.prep.take(ctx, heartbeatSlice(ctx), x.beat(ctx))
	if err != nil {
		return preparedJob{}, err // dropLookahead deletes its job
	}
	x.ahead = nil
	return prep, nil
}

// dropLookahead stops a lookahead the export did not use and deletes its job.
func (x *exporter) dropLookahead(ctx context.Context) {
	la := x.ahead
	if la == nil {
		return
	}
	x.ahead = nil
	prep := la.prep.drop()
	if prep.stream != nil {
		prep.stream.stop()
	}
	if prep.jobID != "" {
		x.deleteJobLater(ctx, prep.jobID)
	}
}

// awaitAvailability waits until the jobs store holds complete data up to the window's end (or
// now, if that is earlier): a job created before then would silently miss conversations.
func (x *exporter) awaitAvailability(ctx context.Context, w bundle.Window) error {
	target := x.availabilityTarget(w)
	_, err := pace.Until(ctx, x.pollDelays(), x.sleep, func(ctx context.Context) (struct{}, bool, error) {
		ok, avail, err := x.availableFor(ctx, target)
		if err != nil || ok {
			return struct{}{}, true, err
		}
		x.logger(ctx).Info("waiting for Genesys analytics data to become available", "availableUntil", avail, "needed", target)
		return struct{}{}, false, nil
	})
	return err
}

// availableFor reports whether the jobs store holds complete data up to target, and the
// availability date it knows. It asks Genesys only when the last answer does not cover target:
// the date only moves forward, so one check usually answers for every window of the export.
func (x *exporter) availableFor(ctx context.Context, target time.Time) (bool, time.Time, error) {
	x.avail.mu.Lock()
	known := x.avail.until
	x.avail.mu.Unlock()
	if !known.Before(target) {
		return true, known, nil
	}
	avail, err := x.g.DataAvailability(ctx)
	if err != nil {
		return false, known, err
	}
	x.avail.mu.Lock()
	if avail.After(x.avail.until) {
		x.avail.until = avail
	}
	x.avail.mu.Unlock()
	return !avail.Before(target), avail, nil
}

// availabilityTarget is the time up to which the jobs store must hold complete data before a
// job over w is created: w's end, or now if that is earlier.
func (x *exporter) availabilityTarget(w bundle.Window) time.Time {
	if now := x.a.now(); now.Before(w.End) {
		return now
	}
	return w.End
}

// awaitJob polls the job, heartbeating, until it leaves QUEUED and PENDING.
func (x *exporter) awaitJob(ctx context.Context, id string) (genesys.JobStatus, error) {
	return x.pollJob(ctx, id, x.sleep, func(st genesys.JobStatus) { x.job = string(st.State) })
}

// pollJob polls the job until it leaves QUEUED and PENDING, waiting through wait.
// Each status read is handed to seen, if set.
func (x *exporter) pollJob(ctx context.Context, id string, wait pace.Wait, seen func(genesys.JobStatus)) (genesys.JobStatus, error) {
	return pace.Until(ctx, x.pollDelays(), wait, func(ctx context.Context) (genesys.JobStatus, bool, error) {
		st, err := x.g.ConversationJob(ctx, id)
		if err == nil && seen != nil {
			seen(st)
		}
		return st, st.State != genesys.JobQueued && st.State != genesys.JobPending, err
	})
}

// pollDelays are the waits between polls: the poll interval, doubling up to maxPollInterval,
// without jitter.
func (x *exporter) pollDelays() backoff.BackOff { return pace.Delays(x.poll, maxPollInterval, 0) }
