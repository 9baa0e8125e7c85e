package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
)

// Export defaults; ExportOptions overrides them.
const (
	defaultWindowSize        = 30 * 24 * time.Hour
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

// exportProgress is the export's checkpoint, sent as heartbeat details. It only ever describes
// durable state: every part it lists is stored, and Cursor is the job results page that follows
// the last conversation stored from JobID. A retried attempt resumes from it.
//
// The guarantee, which also holds when the checkpoint is older than the store (heartbeats are
// throttled, so a crash can lose the last few): each conversation whose conversationStart is in
// the window is stored exactly once. On resume, parts found in the store beyond the checkpoint
// are adopted (they were written completely, since objects appear atomically), and before a
// window's results are read, the IDs of every stored conversation of that window are loaded;
// conversations already stored, or repeated by a replayed page, are skipped by ID. Skipping by
// ID rather than by position keeps this exact when an expired job has to be re-created and its
// results come back in another order. New parts always take the next free number, so an
// object is never rewritten with other content.
type exportProgress struct {
	Version int `json:"v"`
	// Window is the index of the window being exported; len(windows) once all are written.
	Window int `json:"window"`
	// JobID is the job whose results are being read for Window, "" before one is created.
	JobID string `json:"jobId,omitempty"`
	// Cursor is the next results page of JobID to read ("" is the first page).
	Cursor  string           `json:"cursor,omitempty"`
	Windows []windowProgress `json:"windows"`
	Parts   []partProgress   `json:"parts"`
}

type windowProgress struct {
	JobIDs []string `json:"jobIds,omitempty"`
	// Conversations is the number of this window's conversations stored so far.
	Conversations int `json:"conversations"`
	// Counted is the conversation-details query's count, or -1 before the window is counted.
	Counted int `json:"counted"`
	// Mismatch describes how the query disagreed with the export, if it did.
	Mismatch string `json:"mismatch,omitempty"`
	// Exported is set once every conversation of the window is stored and its job deleted.
	Exported bool `json:"exported,omitempty"`
}

type partProgress struct {
	bundle.PartRecord
	Window int `json:"window"`
}

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
	// seen holds the IDs of the current window's stored conversations, with their
	// conversationStart in Unix nanoseconds (for the count check).
	seen map[string]int64
	// ahead is the next window's job, prepared while the current window is written.
	ahead *lookahead
	// pre is the current window's count, queried while the window is written.
	pre *precount
	// deletions are the jobs being deleted in the background.
	deletions sync.WaitGroup
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
	sum, err := x.run(ctx)
	if errors.Is(context.Cause(ctx), errWorkerStopping) {
		x.checkpoint(ctx)
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

func (a *Activities) newExporter(in ExportInput) (*exporter, error) {
	if a.Genesys == nil || a.Store == nil {
		return nil, failf(ErrInvalidInput, "the export needs a Genesys client and an export store; configure both on the worker")
	}
	if in.UserID == "" {
		return nil, failf(ErrInvalidInput, "export: userId is empty; give the Genesys user's ID")
	}
	if in.Window.Start.IsZero() || in.Window.End.IsZero() || !in.Window.End.After(in.Window.Start) {
		return nil, failf(ErrInvalidInput, "export: window %s..%s is empty; set start and end, with end after start",
			in.Window.Start.Format(time.RFC3339), in.Window.End.Format(time.RFC3339))
	}
	size := in.WindowSize
	if size == 0 {
		size = defaultWindowSize
	}
	if size < 0 || size%(24*time.Hour) != 0 {
		return nil, failf(ErrInvalidInput, "export: window size %s is not a whole number of days; use e.g. 720h for 30 days", size)
	}
	prefix := strings.Trim(in.Bundle, "/")
	if prefix == "" || slices.Contains(strings.Split(prefix, "/"), "..") || slices.Contains(strings.Split(prefix, "/"), ".") {
		return nil, failf(ErrInvalidInput, "export: bundle %q is not a valid prefix; use <userId>/<runId>", in.Bundle)
	}
	o := a.Export
	x := &exporter{
		a: a, g: a.Genesys, store: a.Store, in: in, prefix: prefix,
		windows:   splitWindows(in.Window.Start, in.Window.End, size),
		pageSize:  cmpOr(o.PageSize, defaultExportPageSize),
		queryPage: cmpOr(o.QueryPage, defaultQueryPageSize),
		poll:      cmpOr(o.PollInterval, defaultPollInterval),
		partConvs: cmpOr(o.PartConversations, defaultPartConversations),
		partBytes: cmpOr(o.PartBytes, defaultPartBytes),
	}
	return x, nil
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

func cmpOr[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// splitWindows cuts [start, end) at every size-th UTC midnight counted from start's day, so that
// each job window but the first and last covers whole UTC days: the conversation-details query
// matches conversations that started on any UTC day its interval touches, so aligned windows
// make it count exactly what the export keeps.
func splitWindows(start, end time.Time, size time.Duration) []bundle.Window {
	start, end = start.UTC(), end.UTC()
	days := int(size / (24 * time.Hour))
	y, m, d := start.Date()
	boundary := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var out []bundle.Window
	for s := start; s.Before(end); {
		boundary = boundary.AddDate(0, 0, days)
		e := boundary
		if e.After(end) {
			e = end
		}
		out = append(out, bundle.Window{Start: s, End: e})
		s = e
	}
	return out
}

func (x *exporter) run(ctx context.Context) (ExportSummary, error) {
	if sum, done, err := x.existing(ctx); done || err != nil {
		return sum, err
	}
	defer x.deletions.Wait()
	defer x.dropLookahead(ctx)
	defer x.dropPrecount()
	if err := x.resume(ctx); err != nil {
		return ExportSummary{}, err
	}
	for x.p.Window < len(x.windows) {
		w := x.p.Window
		if !x.p.Windows[w].Exported {
			if err := x.exportWindow(ctx, w); err != nil {
				return ExportSummary{}, wrapf(err, "export window %s", x.windows[w])
			}
			x.p.Windows[w].Exported = true
			x.p.JobID, x.p.Cursor = "", ""
			x.checkpoint(ctx)
		}
		if err := x.countWindow(ctx, w); err != nil {
			return ExportSummary{}, wrapf(err, "count window %s", x.windows[w])
		}
		x.p.Window++
		x.p.JobID, x.p.Cursor = "", ""
		x.seen = nil
		x.checkpoint(ctx)
	}
	var mismatches []string
	for w, wp := range x.p.Windows {
		if wp.Mismatch != "" {
			mismatches = append(mismatches, fmt.Sprintf("window %s: %s", x.windows[w], wp.Mismatch))
		}
	}
	if len(mismatches) > 0 {
		return ExportSummary{}, failure(ErrCountMismatch, nil, fmt.Sprintf(
			"the export of user %s disagrees with the conversation-details query in %d window(s), so no manifest was written: %s",
			x.in.UserID, len(mismatches), strings.Join(mismatches, "; ")), mismatches)
	}
	return x.finish(ctx)
}

// existing returns the summary of a bundle whose manifest is already written, after checking
// that it is the bundle this input asks for and that it verifies.
func (x *exporter) existing(ctx context.Context) (ExportSummary, bool, error) {
	key := bundle.Key(x.prefix, bundle.ManifestName)
	ok, err := x.store.Exists(ctx, key)
	if err != nil || !ok {
		return ExportSummary{}, false, err
	}
	rep, err := bundle.Verify(ctx, x.store, x.prefix)
	if err != nil {
		return ExportSummary{}, false, err
	}
	if !rep.OK() || rep.Manifest == nil {
		return ExportSummary{}, false, failure(ErrBundleCorrupt, nil, fmt.Sprintf(
			"the bundle %s already has a manifest but fails verification: %s", x.store.URL(x.prefix), strings.Join(rep.Problems, "; ")), rep.Problems)
	}
	m := rep.Manifest
	if m.UserID != x.in.UserID || !m.Window.Start.Equal(x.in.Window.Start) || !m.Window.End.Equal(x.in.Window.End) {
		return ExportSummary{}, false, failf(ErrInvalidInput,
			"the bundle %s already holds the export of user %s over %s; use another bundle prefix for user %s over %s..%s",
			x.store.URL(x.prefix), m.UserID, m.Window, x.in.UserID, x.in.Window.Start.Format(time.RFC3339), x.in.Window.End.Format(time.RFC3339))
	}
	return x.summary(m), true, nil
}

func (x *exporter) summary(m *bundle.Manifest) ExportSummary {
	return ExportSummary{
		Bundle:         x.prefix,
		ManifestURL:    x.store.URL(bundle.Key(x.prefix, bundle.ManifestName)),
		ManifestSHA256: m.ManifestSHA256,
		Parts:          m.Totals.Parts,
		Conversations:  m.Totals.Conversations,
		Bytes:          m.Totals.Bytes,
		Windows:        len(m.Windows),
	}
}

// resume loads the checkpoint of the previous attempt, if any, and reconciles it with the store.
func (x *exporter) resume(ctx context.Context) error {
	x.p = exportProgress{Version: progressVersion, Windows: make([]windowProgress, len(x.windows))}
	for i := range x.p.Windows {
		x.p.Windows[i].Counted = -1
	}
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var p exportProgress
		if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
			return fmt.Errorf("read the previous attempt's progress: %w", err)
		}
		if p.Version != progressVersion || len(p.Windows) != len(x.windows) || p.Window > len(x.windows) {
			return failf(ErrInvalidInput, "the previous attempt's progress (version %d, %d windows) does not fit this export (%d windows)",
				p.Version, len(p.Windows), len(x.windows))
		}
		x.p = p
		x.logger(ctx).Info("resuming export", "window", p.Window, "parts", len(p.Parts), "jobId", p.JobID)
	}

	keys, err := x.store.Keys(ctx, x.prefix+"/part-")
	if err != nil {
		return err
	}
	stored := map[int]string{}
	for _, k := range keys {
		name := strings.TrimPrefix(k, x.prefix+"/")
		if seq, ok := bundle.PartSeq(name); ok {
			stored[seq] = name
		}
	}
	for i, p := range x.p.Parts {
		if stored[i] != p.Name {
			return failure(ErrBundleCorrupt, nil, fmt.Sprintf(
				"%s was written by an earlier attempt but is missing from the store: the store lost data or was modified; start a new export under a new bundle prefix",
				x.store.URL(bundle.Key(x.prefix, p.Name))))
		}
	}
	// Adopt parts written after the last checkpoint that reached Temporal.
	for seq := len(x.p.Parts); ; seq++ {
		name, ok := stored[seq]
		if !ok {
			break
		}
		if err := x.adopt(ctx, name); err != nil {
			return err
		}
		delete(stored, seq)
	}
	for seq, name := range stored {
		if seq >= len(x.p.Parts) {
			return failure(ErrBundleCorrupt, nil, fmt.Sprintf(
				"%s is in the store but does not follow the parts written so far: another export wrote to this prefix; use a new bundle prefix",
				x.store.URL(bundle.Key(x.prefix, name))))
		}
	}
	return nil
}

// adopt records a part found in the store beyond the checkpoint.
func (x *exporter) adopt(ctx context.Context, name string) error {
	counts := map[int]int{}
	window := -1
	st, err := x.store.ReadPart(ctx, bundle.Key(x.prefix, name), func(l bundle.Line) error {
		w := x.windowOf(l.Start)
		if l.Err != nil || w < 0 {
			return fmt.Errorf("line %d: %v, or outside every window", l.N, l.Err)
		}
		counts[w]++
		window = max(window, w)
		return nil
	})
	if err != nil {
		return failure(ErrBundleCorrupt, err, fmt.Sprintf(
			"%s cannot be adopted from an earlier attempt: %v; start a new export under a new bundle prefix", name, err))
	}
	for w, n := range counts {
		x.p.Windows[w].Conversations += n
	}
	x.p.Parts = append(x.p.Parts, partProgress{
		PartRecord: bundle.PartRecord{Name: name, Conversations: st.Lines, Bytes: st.Bytes, SHA256: st.SHA256},
		Window:     window,
	})
	x.logger(ctx).Info("adopted a part written after the last checkpoint", "part", name, "conversations", st.Lines)
	return nil
}

func (x *exporter) windowOf(t time.Time) int {
	i, found := slices.BinarySearchFunc(x.windows, t, func(w bundle.Window, t time.Time) int {
		switch {
		case !t.Before(w.End):
			return -1
		case t.Before(w.Start):
			return 1
		}
		return 0
	})
	if !found {
		return -1
	}
	return i
}

// loadSeen reads the IDs of window w's stored conversations, checking each part against its record.
func (x *exporter) loadSeen(ctx context.Context, w int) error {
	x.seen = map[string]int64{}
	for _, p := range x.p.Parts {
		if p.Window != w {
			continue
		}
		st, err := x.store.ReadPart(ctx, bundle.Key(x.prefix, p.Name), func(l bundle.Line) error {
			if l.ID != "" {
				x.seen[l.ID] = l.Start.UnixNano() // every line the export wrote has a valid start; the digest check below catches others
			}
			return nil
		})
		if err == nil && (st.SHA256 != p.SHA256 || st.Lines != p.Conversations) {
			err = fmt.Errorf("stored sha256 %s with %d lines, written as %s with %d", st.SHA256, st.Lines, p.SHA256, p.Conversations)
		}
		if err != nil {
			return failure(ErrBundleCorrupt, err, fmt.Sprintf(
				"%s changed since an earlier attempt wrote it: %v; start a new export under a new bundle prefix", p.Name, err))
		}
	}
	return nil
}

// exportWindow writes window w's conversations, creating (and re-creating) its job as needed.
func (x *exporter) exportWindow(ctx context.Context, w int) error {
	if err := x.loadSeen(ctx, w); err != nil {
		return err
	}
	wp := &x.p.Windows[w]
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
			la, err := x.takeLookahead(ctx, w)
			if err != nil {
				return err
			}
			var id string
			if la != nil {
				id, stream = la.jobID, la.stream
			} else {
				if err := x.awaitAvailability(ctx, x.windows[w]); err != nil {
					return err
				}
				if id, err = x.g.CreateConversationJob(ctx, x.in.UserID, genesys.Interval(x.windows[w])); err != nil {
					return err
				}
			}
			x.p.JobID, x.p.Cursor = id, ""
			wp.JobIDs = append(wp.JobIDs, id)
			x.checkpoint(ctx)
		}
		st, err := genesys.JobStatus{State: genesys.JobFulfilled}, error(nil)
		if stream == nil {
			st, err = x.awaitJob(ctx, x.p.JobID)
		}
		if err == nil && st.State == genesys.JobFulfilled {
			err = x.readResults(ctx, w, stream)
			stream = nil
			if err == nil {
				x.deleteJobLater(ctx, x.p.JobID)
				return nil
			}
		}
		switch {
		case err == nil:
			failures = append(failures, fmt.Sprintf("job %s ended %s: %s", x.p.JobID, st.State, st.ErrorMessage))
		case genesys.IsNotFound(err):
			failures = append(failures, fmt.Sprintf("job %s expired", x.p.JobID))
		default:
			return err
		}
		x.logger(ctx).Warn("analytics job did not complete; creating a new one", "jobId", x.p.JobID, "reason", failures[len(failures)-1])
		x.deleteJob(ctx, x.p.JobID)
		x.p.JobID, x.p.Cursor = "", ""
		x.checkpoint(ctx)
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
	cancel  context.CancelFunc
	release func() // lets the lookahead start reading results
	done    chan struct{}
	// Set before done is closed: the job, if one was created, and the stream of its results,
	// if the job was fulfilled.
	jobID  string
	stream *resultStream
}

// startLookahead prepares window w's job, unless the window is done or has had a job.
func (x *exporter) startLookahead(ctx context.Context, w int) {
	if x.ahead != nil || w >= len(x.windows) || x.p.Windows[w].Exported || len(x.p.Windows[w].JobIDs) > 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	released := make(chan struct{})
	la := &lookahead{window: w, cancel: cancel, release: sync.OnceFunc(func() { close(released) }), done: make(chan struct{})}
	x.ahead = la
	win, target := x.windows[w], x.availabilityTarget(x.windows[w])
	go func() {
		defer close(la.done)
		if avail, err := x.g.DataAvailability(ctx); err != nil || avail.Before(target) {
			return
		}
		// Not cancelled with the lookahead: a job created while the request was cut off would be
		// left behind unknown, whereas a job it knows of, dropLookahead deletes.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		id, err := x.g.CreateConversationJob(cctx, x.in.UserID, genesys.Interval(win))
		cancel()
		if err != nil {
			return
		}
		la.jobID = id
		for delay := x.poll; ; delay = min(2*delay, maxPollInterval) {
			st, err := x.g.ConversationJob(ctx, id)
			if err != nil {
				return
			}
			if st.State == genesys.JobFulfilled {
				break
			}
			if st.State != genesys.JobQueued && st.State != genesys.JobPending {
				return // exportWindow sees it end and creates another
			}
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-released:
			la.stream = x.streamResults(ctx, id, "")
		case <-ctx.Done():
		}
	}()
}

// takeLookahead waits for the lookahead of window w, if there is one, and returns it if it
// created a job.
func (x *exporter) takeLookahead(ctx context.Context, w int) (*lookahead, error) {
	la := x.ahead
	if la == nil || la.window != w {
		return nil, nil
	}
	la.release()
	if err := x.await(ctx, la.done); err != nil {
		return nil, err // dropLookahead deletes its job
	}
	x.ahead = nil
	if la.stream == nil {
		la.cancel()
	} else {
		stop := la.stream.cancel // the stream now outlives the lookahead and ends its context
		la.stream.cancel = func() { stop(); la.cancel() }
	}
	if la.jobID == "" {
		return nil, nil
	}
	return la, nil
}

// await waits until done is closed, heartbeating meanwhile.
func (x *exporter) await(ctx context.Context, done <-chan struct{}) error {
	t := time.NewTicker(x.heartbeatSlice(ctx))
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			x.checkpoint(ctx)
		}
	}
}

// dropLookahead stops a lookahead the export did not use and deletes its job.
func (x *exporter) dropLookahead(ctx context.Context) {
	la := x.ahead
	if la == nil {
		return
	}
	x.ahead = nil
	la.cancel()
	<-la.done
	if la.stream != nil {
		la.stream.stop()
	}
	if la.jobID != "" {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		x.deleteJob(ctx, la.jobID)
	}
}

// deleteJobLater deletes a job in the background; run waits for it before it returns.
func (x *exporter) deleteJobLater(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	x.deletions.Go(func() {
		defer cancel()
		x.deleteJob(ctx, id)
	})
}

func (x *exporter) deleteJob(ctx context.Context, id string) {
	if err := x.g.DeleteConversationJob(ctx, id); err != nil {
		// An undeleted job expires on its own; this is not worth failing the export for.
		x.logger(ctx).Warn("could not delete analytics job", "jobId", id, "error", err)
	}
}

// awaitAvailability waits until the jobs store holds complete data up to the window's end (or
// now, if that is earlier): a job created before then would silently miss conversations.
func (x *exporter) awaitAvailability(ctx context.Context, w bundle.Window) error {
	target := x.availabilityTarget(w)
	delay := x.poll
	for {
		avail, err := x.g.DataAvailability(ctx)
		if err != nil {
			return err
		}
		if !avail.Before(target) {
			return nil
		}
		x.logger(ctx).Info("waiting for Genesys analytics data to become available", "availableUntil", avail, "needed", target)
		if err := x.sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, maxPollInterval)
	}
}

// availabilityTarget is the time up to which the jobs store must hold complete data before a
// job over w is created: w's end, or now if that is earlier.
func (x *exporter) availabilityTarget(w bundle.Window) time.Time {
	if now := x.a.now(); now.Before(w.End) {
		return now
	}
	return w.End
}

// awaitJob polls the job with backoff until it leaves QUEUED and PENDING.
func (x *exporter) awaitJob(ctx context.Context, id string) (genesys.JobStatus, error) {
	delay := x.poll
	for {
		st, err := x.g.ConversationJob(ctx, id)
		if err != nil {
			return st, err
		}
		switch st.State {
		case genesys.JobQueued, genesys.JobPending:
		default:
			return st, nil
		}
		if err := x.sleep(ctx, delay); err != nil {
			return st, err
		}
		delay = min(2*delay, maxPollInterval)
	}
}

// heartbeatSlice is how long the export may go without a heartbeat.
func (x *exporter) heartbeatSlice(ctx context.Context) time.Duration {
	if activity.IsActivity(ctx) {
		if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 {
			return max(hb/3, time.Millisecond)
		}
	}
	return 10 * time.Second
}

// sleep waits d, heartbeating often enough for the activity's heartbeat timeout.
func (x *exporter) sleep(ctx context.Context, d time.Duration) error {
	slice := x.heartbeatSlice(ctx)
	for d > 0 {
		x.checkpoint(ctx)
		step := min(d, slice)
		t := time.NewTimer(step)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		d -= step
	}
	return nil
}

// streamBuffer bounds the conversations read ahead of the ones being written: with the one
// the writer holds and the one the decoder holds, the most the export keeps of a job's results.
const streamBuffer = 32

// resultItem is one conversation of a results page, whose Raw is in buf, or (end set) the end
// of a page, with the next page's cursor or the error that ended the stream.
type resultItem struct {
	conv   genesys.Conversation
	buf    *[]byte
	end    bool
	cursor string
	err    error
}

// rawBuffers recycles the buffers that carry conversations from the stream to the writer, so
// that the export's garbage does not grow with every conversation it reads.
var rawBuffers = sync.Pool{New: func() any { return new([]byte) }}

// resultStream reads a job's results pages from a cursor on, in its own goroutine, into a
// channel that holds at most streamBuffer conversations. A page read again after a fault
// repeats conversations already sent; the writer skips them by ID.
type resultStream struct {
	items  chan resultItem
	cancel context.CancelFunc
	done   chan struct{}
	// lastRead is set once the last page is read; onLast is then called (see whenLastRead).
	lastRead atomic.Bool
	onLast   atomic.Pointer[func()]
}

// whenLastRead calls f once the stream has read its last page (at once if it has): f may be
// called twice, from either goroutine.
func (s *resultStream) whenLastRead(f func()) {
	s.onLast.Store(&f)
	if s.lastRead.Load() {
		f()
	}
}

// streamResults starts reading job jobID's results at cursor.
func (x *exporter) streamResults(ctx context.Context, jobID, cursor string) *resultStream {
	ctx, cancel := context.WithCancel(ctx)
	s := &resultStream{items: make(chan resultItem, streamBuffer), cancel: cancel, done: make(chan struct{})}
	send := func(it resultItem) bool {
		select {
		case s.items <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(s.done)
		for {
			page, err := x.g.ConversationJobResults(ctx, jobID, cursor, x.pageSize, func(_ int, c genesys.Conversation) error {
				buf := rawBuffers.Get().(*[]byte)
				*buf = append((*buf)[:0], c.Raw...)
				c.Raw = *buf
				if !send(resultItem{conv: c, buf: buf}) {
					return ctx.Err()
				}
				return nil
			})
			if err == nil && page.Cursor == "" {
				s.lastRead.Store(true)
				if f := s.onLast.Load(); f != nil {
					(*f)()
				}
			}
			if !send(resultItem{end: true, cursor: page.Cursor, err: err}) || err != nil || page.Cursor == "" {
				return
			}
			cursor = page.Cursor
		}
	}()
	return s
}

// stop ends the stream and waits for its goroutine.
func (s *resultStream) stop() {
	s.cancel()
	<-s.done
}

// readResults writes the current job's results from the checkpoint's cursor (or those that s,
// started by a lookahead, reads from the first page), keeping the conversations that started in
// window w and are not stored yet. Pages stream through: no page is ever held whole, only
// streamBuffer conversations read ahead. The next window's job is prepared meanwhile. The
// cursor is checkpointed only at page ends where no part is open, so it never runs ahead of
// what is stored.
func (x *exporter) readResults(ctx context.Context, w int, s *resultStream) error {
	win := x.windows[w]
	wp := &x.p.Windows[w]
	if s == nil {
		s = x.streamResults(ctx, x.p.JobID, x.p.Cursor)
	}
	defer s.stop()
	x.startPrecount(ctx, w)
	x.startLookahead(ctx, w+1)
	if la := x.ahead; la != nil && la.window == w+1 {
		s.whenLastRead(la.release)
	}

	var part *bundle.PartWriter
	var pending []string // IDs in the open part
	abort := func() {
		if part != nil {
			part.Abort()
			for _, id := range pending {
				delete(x.seen, id)
			}
			part, pending = nil, nil
		}
	}
	defer abort()
	add := func(c genesys.Conversation) error {
		if !win.Contains(c.Start) {
			return nil // started in another window, which keeps it
		}
		if _, dup := x.seen[c.ID]; dup {
			return nil // already stored, or repeated by a page read again
		}
		if part == nil {
			var err error
			if part, err = x.store.CreatePart(ctx, x.prefix, bundle.PartName(len(x.p.Parts))); err != nil {
				return err
			}
		}
		if err := part.Add(c.Raw); err != nil {
			return err
		}
		x.seen[c.ID] = c.Start.UnixNano()
		pending = append(pending, c.ID)
		return nil
	}
	// A page can be slow to come (a rate-limit wait in the client): heartbeat meanwhile.
	tick := time.NewTicker(x.heartbeatSlice(ctx))
	defer tick.Stop()
	for {
		var it resultItem
		select {
		case it = <-s.items:
		case <-tick.C:
			x.checkpoint(ctx)
			continue
		case <-ctx.Done():
			return ctx.Err()
		}
		if !it.end {
			err := add(it.conv)
			rawBuffers.Put(it.buf)
			if err != nil {
				return err
			}
			continue
		}
		if it.err != nil {
			return it.err
		}
		last := it.cursor == ""
		if part != nil && (last || part.Conversations() >= x.partConvs || part.RawBytes() >= x.partBytes) {
			rec, err := part.Close(ctx)
			part = nil
			if err != nil {
				for _, id := range pending {
					delete(x.seen, id)
				}
				return err
			}
			pending = pending[:0]
			x.p.Parts = append(x.p.Parts, partProgress{PartRecord: rec, Window: w})
			wp.Conversations += rec.Conversations
		}
		if part == nil {
			x.p.Cursor = it.cursor
		}
		x.checkpoint(ctx)
		if last {
			return nil
		}
	}
}

// countWindow counts window w's conversations with the conversation-details query and records
// any disagreement with the export, naming a few conversations on either side.
func (x *exporter) countWindow(ctx context.Context, w int) error {
	wp := &x.p.Windows[w]
	if wp.Counted >= 0 {
		return nil
	}
	win := x.windows[w]
	if x.seen == nil {
		if err := x.loadSeen(ctx, w); err != nil {
			return err
		}
	}
	if len(x.seen) == wp.Conversations {
		pieces, err := x.takePrecount(ctx, w)
		if err != nil {
			return err
		}
		if pieces == nil {
			if pieces, err = x.queryPieces(ctx, win, x.beat(ctx)); err != nil {
				return err
			}
		}
		if x.piecesAgree(pieces) {
			wp.Counted = wp.Conversations
			return nil
		}
	}
	// A disagreement: page the whole window and compare distinct IDs, to name the ones that differ.
	found, err := x.queryIDs(ctx, win, x.beat(ctx))
	if err != nil {
		return err
	}
	wp.Counted = len(found)
	var missing, extra []string
	for id := range found {
		if _, ok := x.seen[id]; !ok {
			missing = append(missing, id)
		}
	}
	for id := range x.seen {
		if _, ok := found[id]; !ok {
			extra = append(extra, id)
		}
	}
	// Equal counts with other conversations are a disagreement too.
	if wp.Counted != wp.Conversations || len(x.seen) != wp.Conversations || len(missing) > 0 || len(extra) > 0 {
		slices.Sort(missing)
		slices.Sort(extra)
		wp.Mismatch = fmt.Sprintf("exported %d, query counts %d%s%s", wp.Conversations, wp.Counted, idList(" (not exported: ", missing), idList(" (not in the query: ", extra))
	}
	return nil
}

// pieceCount is what the conversation-details query says about one piece of a window that
// dayPieces cuts. The query matches conversations that started on any UTC day its interval
// touches, so its totalHits is exact for whole days: one small request settles them. A partial
// day at either end is paged, keeping the IDs of the conversations that started in the window.
type pieceCount struct {
	bundle.Window
	total int                 // whole days: totalHits
	ids   map[string]struct{} // a partial day: the distinct IDs
}

// queryPieces runs the count queries for the pieces of win. beat, if set, heartbeats between
// pages.
func (x *exporter) queryPieces(ctx context.Context, win bundle.Window, beat func()) ([]pieceCount, error) {
	var out []pieceCount
	for _, p := range dayPieces(win) {
		pc := pieceCount{Window: p}
		if utcMidnight(p.Start) && utcMidnight(p.End) {
			qp, err := x.g.QueryConversations(ctx, x.in.UserID, genesys.Interval(p), 1, 1)
			if err != nil {
				return nil, err
			}
			pc.total = qp.TotalHits
		} else {
			ids, err := x.queryIDs(ctx, p, beat)
			if err != nil {
				return nil, err
			}
			pc.ids, pc.total = ids, len(ids)
		}
		out = append(out, pc)
	}
	return out, nil
}

// piecesAgree reports whether the query counts, in every piece, the conversations the export
// stored there, and in partial days exactly those.
func (x *exporter) piecesAgree(pieces []pieceCount) bool {
	stored := make([]int, len(pieces))
	for id, start := range x.seen {
		t := time.Unix(0, start)
		for i, p := range pieces {
			if p.Contains(t) {
				stored[i]++
				if p.ids != nil {
					if _, ok := p.ids[id]; !ok {
						return false
					}
				}
			}
		}
	}
	for i, p := range pieces {
		if p.total != stored[i] {
			return false
		}
	}
	return true
}

// precount runs a window's count queries while its results are read, so that checking the
// count adds no time after them. It only reads from Genesys; countWindow compares. Counting
// before the export ends is as sound as after: what matters is that the job and the query
// agree, and a disagreement is settled by paging the query again once the window is stored.
type precount struct {
	window int
	cancel context.CancelFunc
	done   chan struct{}
	// Set before done is closed.
	pieces []pieceCount
	err    error
}

// startPrecount starts window w's count queries, unless the window is counted or they run.
func (x *exporter) startPrecount(ctx context.Context, w int) {
	if x.pre != nil || x.p.Windows[w].Counted >= 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	pc := &precount{window: w, cancel: cancel, done: make(chan struct{})}
	x.pre = pc
	win := x.windows[w]
	go func() {
		defer close(pc.done)
		pc.pieces, pc.err = x.queryPieces(ctx, win, nil)
	}()
}

// takePrecount waits for window w's count queries and returns them, or nil if they were not
// run or failed (countWindow then queries itself).
func (x *exporter) takePrecount(ctx context.Context, w int) ([]pieceCount, error) {
	pc := x.pre
	if pc == nil || pc.window != w {
		return nil, nil
	}
	if err := x.await(ctx, pc.done); err != nil {
		return nil, err
	}
	x.pre = nil
	pc.cancel()
	if pc.err != nil {
		return nil, nil
	}
	return pc.pieces, nil
}

// dropPrecount stops count queries the export will not use.
func (x *exporter) dropPrecount() {
	if pc := x.pre; pc != nil {
		x.pre = nil
		pc.cancel()
		<-pc.done
	}
}

// dayPieces cuts w at the first and last UTC midnight inside it: the partial day at its start,
// the whole days, and the partial day at its end, leaving out empty pieces. A window without a
// whole day in it is one piece.
func dayPieces(w bundle.Window) []bundle.Window {
	first := w.Start.Truncate(24 * time.Hour)
	if first.Before(w.Start) {
		first = first.Add(24 * time.Hour)
	}
	last := w.End.Truncate(24 * time.Hour)
	if !first.Before(last) {
		return []bundle.Window{w}
	}
	var out []bundle.Window
	if w.Start.Before(first) {
		out = append(out, bundle.Window{Start: w.Start, End: first})
	}
	out = append(out, bundle.Window{Start: first, End: last})
	if last.Before(w.End) {
		out = append(out, bundle.Window{Start: last, End: w.End})
	}
	return out
}

// queryIDs pages the conversation-details query over iv and returns the distinct IDs of the
// conversations that started within it. beat, if set, heartbeats between pages.
func (x *exporter) queryIDs(ctx context.Context, iv bundle.Window, beat func()) (map[string]struct{}, error) {
	found := map[string]struct{}{}
	for page := 1; ; page++ {
		qp, err := x.g.QueryConversations(ctx, x.in.UserID, genesys.Interval(iv), x.queryPage, page)
		if err != nil {
			return nil, err
		}
		for _, c := range qp.Conversations {
			if iv.Contains(c.Start) {
				found[c.ID] = struct{}{}
			}
		}
		if beat != nil {
			beat()
		}
		if len(qp.Conversations) < x.queryPage || page*x.queryPage >= qp.TotalHits {
			return found, nil
		}
	}
}

func utcMidnight(t time.Time) bool { return t.Equal(t.Truncate(24 * time.Hour)) }

func idList(prefix string, ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	more := ""
	if len(ids) > 5 {
		more = fmt.Sprintf(" and %d more", len(ids)-5)
		ids = ids[:5]
	}
	return prefix + strings.Join(ids, ", ") + more + ")"
}

// finish writes user.json and manifest.json.
func (x *exporter) finish(ctx context.Context) (ExportSummary, error) {
	user, err := json.MarshalIndent(x.in.User, "", "  ")
	if err != nil {
		return ExportSummary{}, fmt.Errorf("encode user snapshot: %w", err)
	}
	user = append(user, '\n')
	if err := x.store.WriteOnce(ctx, bundle.Key(x.prefix, bundle.UserName), user, "application/json"); err != nil {
		return ExportSummary{}, err
	}
	m := x.manifest(user)
	if err := m.Seal(); err != nil {
		return ExportSummary{}, err
	}
	raw, err := m.Encode()
	if err != nil {
		return ExportSummary{}, err
	}
	if err := x.store.WriteOnce(ctx, bundle.Key(x.prefix, bundle.ManifestName), raw, "application/json"); err != nil {
		return ExportSummary{}, err
	}
	sum := x.summary(&m)
	x.logger(ctx).Info("export written", "bundle", x.prefix, "parts", sum.Parts, "conversations", sum.Conversations, "bytes", sum.Bytes)
	return sum, nil
}

func (x *exporter) manifest(user []byte) bundle.Manifest {
	filters, _ := json.Marshal([]map[string]any{{
		"type":       "and",
		"predicates": []map[string]string{{"dimension": "userId", "operator": "matches", "value": x.in.UserID}},
	}})
	m := bundle.Manifest{
		Format:      bundle.Format,
		ToolVersion: toolVersion(),
		UserID:      x.in.UserID,
		Window:      bundle.Window{Start: x.in.Window.Start.UTC(), End: x.in.Window.End.UTC()},
		Query: bundle.Query{
			API:            "POST /api/v2/analytics/conversations/details/jobs, one job per window, order asc by conversationStart",
			SegmentFilters: filters,
			Selection:      "conversations whose conversationStart is in [window.start, window.end), each once, in the window containing its start",
			CountAPI:       "POST /api/v2/analytics/conversations/details/query, per window: totalHits for whole-day windows, else distinct conversationIds starting in the window",
		},
		User: bundle.ObjectRecord{Name: bundle.UserName, Bytes: int64(len(user)), SHA256: sha256Hex(user)},
	}
	for i, w := range x.windows {
		m.Windows = append(m.Windows, bundle.JobWindow{Start: w.Start, End: w.End, JobIDs: x.p.Windows[i].JobIDs, Conversations: x.p.Windows[i].Conversations})
	}
	for _, p := range x.p.Parts {
		m.Parts = append(m.Parts, p.PartRecord)
	}
	return m
}

// beat returns a function that checkpoints, for loops that run in the export's goroutine.
func (x *exporter) beat(ctx context.Context) func() { return func() { x.checkpoint(ctx) } }

// checkpoint heartbeats the current progress (the SDK throttles what reaches the server).
func (x *exporter) checkpoint(ctx context.Context) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, x.p)
	}
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

// toolVersion names the build that wrote the bundle: module version and VCS revision.
func toolVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "offboard (unknown build)"
	}
	v := "offboard " + bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}
