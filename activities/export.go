package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
)

// The export is split by concern: export_input.go (the input and its windows),
// export_progress.go (checkpoint, resume and adopt), export_jobs.go (the analytics jobs and
// their polling), export_results.go (the results stream and the parts it fills),
// export_stored.go (the exactly-once rule), export_count.go (the count check) and
// export_manifest.go (the manifest).

// Export defaults; ExportOptions overrides them.
const (
	defaultWindowSize        = 366 * 24 * time.Hour
	defaultExportPageSize    = 1000
	defaultQueryPageSize     = 100
	defaultPollInterval      = time.Second
	maxPollInterval          = 30 * time.Second
	defaultPartConversations = 10000
	defaultPartBytes         = 64 << 20
	// jobAttempts bounds the jobs created for one window within one activity attempt.
	jobAttempts = 3
	// progressVersion identifies the layout of exportProgress in heartbeat details.
	progressVersion = 1
)

// exporter is one attempt of ExportInteractions.
type exporter struct {
	a       *Activities
	g       genesys.Client
	store   *bundle.Store
	in      ExportInput
	prefix  string
	windows []bundle.Window
	p       exportProgress

	pageSize, queryPage int
	poll                time.Duration
	partConvs           int
	partBytes           int64
	// stored holds the current window's stored conversations; nil until they are loaded.
	stored *storedSet
	// ahead is the next window's job, prepared while the current window is written.
	ahead *lookahead
	// pre is the current window's count, queried while the window is written.
	pre *precount
	// deletions are the jobs being deleted in the background.
	deletions sync.WaitGroup
	// jobs are the analytics jobs created and not yet deleted (see liveJobs).
	jobs liveJobs
	// pulse repeats the last checkpoint while a call or a wait holds the export.
	pulse *pulse
	// job is the current job's state for progress reports; reported is when the last one went,
	// and reports are those being sent.
	job      string
	reported time.Time
	reports  sync.WaitGroup
	// avail is the jobs store's data availability date as last read (see availableFor).
	avail struct {
		mu    sync.Mutex
		until time.Time
	}
}

// ExportInteractions writes every conversation of the user that started within the window to
// the bundle (see package bundle for the layout), checks the count of every job window against
// the conversation-details query, and writes the manifest last. It resumes from its heartbeat
// details after a crash, and returns the existing bundle's summary if the manifest is already
// written. A count that disagrees fails non-retryably with ErrCountMismatch.
func (a *Activities) ExportInteractions(ctx context.Context, in ExportInput) (ExportSummary, error) {
	x, err := a.newExporter(in)
	if err != nil {
		return ExportSummary{}, err
	}
	ctx, stop := stopOnWorkerShutdown(ctx)
	defer stop()
	x.pulse = startPulse(ctx, true)
	defer x.pulse.stop()
	sum, err := x.run(ctx)
	if err != nil {
		x.checkpoint(ctx) // with the jobs deleted since the last one, for the retry
	}
	if errors.Is(context.Cause(ctx), errWorkerStopping) {
		return ExportSummary{}, failure(ErrWorkerStopping, nil, "the worker is stopping; the export resumes from its last checkpoint on another attempt")
	}
	return sum, asTemporalError(err)
}

var errWorkerStopping = errors.New("worker stopping")

// stopOnWorkerShutdown cancels ctx as soon as the worker starts to shut down. The export then
// stops at once while the worker can still report it, so the retry starts as soon as another
// worker polls instead of after the heartbeat timeout.
func stopOnWorkerShutdown(ctx context.Context) (context.Context, func()) {
	if !activity.IsActivity(ctx) {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	shutdown := activity.GetWorkerStopChannel(ctx)
	go func() {
		select {
		case <-shutdown:
			cancel(errWorkerStopping)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

func (x *exporter) run(ctx context.Context) (ExportSummary, error) {
	if sum, done, err := x.existing(ctx); done || err != nil {
		return sum, err
	}
	defer x.deletions.Wait()
	defer x.reports.Wait()
	defer x.deleteCurrentOnStop(ctx)
	defer x.dropLookahead(ctx)
	defer x.dropPrecount()
	if err := x.resume(ctx); err != nil {
		return ExportSummary{}, err
	}
	x.deleteLeftovers(ctx)
	x.checkpoint(ctx) // what was resumed and adopted, before the first Genesys call
	for x.p.Window < len(x.windows) {
		if err := x.exportAndCount(ctx, x.p.Window); err != nil {
			return ExportSummary{}, err
		}
		x.p.Window++
		x.p.clearJob()
		x.job = ""
		x.stored = nil
		x.checkpoint(ctx)
		x.report(ctx, true)
	}
	if err := x.mismatches(); err != nil {
		return ExportSummary{}, err
	}
	return x.finish(ctx)
}

// exportAndCount writes window w, unless an earlier attempt did, and checks its count.
func (x *exporter) exportAndCount(ctx context.Context, w int) error {
	if !x.p.Windows[w].Exported {
		if err := x.exportWindow(ctx, w); err != nil {
			return wrapf(err, "export window %s", x.windows[w])
		}
		x.p.Windows[w].Exported = true
		x.p.clearJob()
		x.checkpoint(ctx)
	}
	if err := x.countWindow(ctx, w); err != nil {
		return wrapf(err, "count window %s", x.windows[w])
	}
	return nil
}

// mismatches fails with every window whose count disagreed, so that no manifest is written.
func (x *exporter) mismatches() error {
	var found []string
	for w, wp := range x.p.Windows {
		if wp.Mismatch != "" {
			found = append(found, fmt.Sprintf("window %s: %s", x.windows[w], wp.Mismatch))
		}
	}
	if len(found) == 0 {
		return nil
	}
	return failure(ErrCountMismatch, nil, fmt.Sprintf(
		"the export of user %s disagrees with the conversation-details query in %d window(s), so no manifest was written: %s",
		x.in.UserID, len(found), strings.Join(found, "; ")), found)
}

// wrapf adds context to err, except to an application error, which Temporal would otherwise
// report under a generic type.
func wrapf(err error, format string, args ...any) error {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

type exportLogger interface {
	Info(msg string, keyvals ...any)
	Warn(msg string, keyvals ...any)
}

type nopLogger struct{}

func (nopLogger) Info(string, ...any) {}
func (nopLogger) Warn(string, ...any) {}

func (x *exporter) logger(ctx context.Context) exportLogger {
	if activity.IsActivity(ctx) {
		return activity.GetLogger(ctx)
	}
	return nopLogger{}
}
