package activities_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// exportClock is the fixed "now" of the export tests, so that every run sees the same data.
var exportClock = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

type exportFixture struct {
	em    *emulator.Emulator
	g     genesys.Client
	a     *activities.Activities
	dir   string
	store *bundle.Store
	user  string
}

func newExportFixture(t testing.TB, opts emulator.Options) *exportFixture {
	t.Helper()
	ctx := context.Background()
	if opts.Now == nil {
		opts.Now = func() time.Time { return exportClock }
	}
	if opts.RequestsPerMinute == 0 {
		opts.RequestsPerMinute = -1
	}
	em := emulator.New(opts)
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	g, err := genesys.New(ctx, genesys.Config{ClientID: emulator.DevClientID, ClientSecret: emulator.DevClientSecret,
		APIURL: srv.URL, RequestsPerMinute: 1 << 20}, genesys.WithLogger(slog.New(slog.DiscardHandler)),
		// Faults reach the activity, so that resuming after them is what these tests see.
		genesys.WithTransientRetries(0))
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "exports")
	store, err := bundle.Open(ctx, "file://"+dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	a := &activities.Activities{
		Genesys: g, Store: store, Now: opts.Now,
		Export: activities.ExportOptions{PageSize: 7, QueryPage: 25, PollInterval: time.Millisecond, PartConversations: 10},
	}
	return &exportFixture{em: em, g: g, a: a, dir: dir, store: store, user: em.SeedUsers()[0].ID}
}

func (f *exportFixture) input(bundlePrefix string, start, end time.Time) activities.ExportInput {
	return activities.ExportInput{
		UserID: f.user, Bundle: f.user + "/" + bundlePrefix,
		User:   genesys.User{ID: f.user, Name: "Ada Agent", State: genesys.StateInactive, Version: 3},
		Window: genesys.Interval{Start: start, End: end}, WindowSize: 30 * 24 * time.Hour,
	}
}

// exportRun is one activity attempt and the heartbeats it recorded.
type exportRun struct {
	summary    activities.ExportSummary
	err        error
	heartbeats []json.RawMessage
}

func (r exportRun) last() json.RawMessage { return r.heartbeats[len(r.heartbeats)-1] }

func runExport(t testing.TB, a *activities.Activities, in activities.ExportInput, details json.RawMessage) exportRun {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	if details != nil {
		env.SetHeartbeatDetails(details)
	}
	var mu sync.Mutex
	var run exportRun
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var raw json.RawMessage
		if d.HasValues() && d.Get(&raw) == nil {
			mu.Lock()
			run.heartbeats = append(run.heartbeats, raw)
			mu.Unlock()
		}
	})
	v, err := env.ExecuteActivity(a.ExportInteractions, in)
	run.err = err
	if err == nil {
		require.NoError(t, v.Get(&run.summary))
	}
	return run
}

func exportManifest(t *testing.T, dir, prefix string) bundle.Manifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, prefix, bundle.ManifestName))
	require.NoError(t, err)
	var m bundle.Manifest
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// bundleIDs returns every conversation ID in the bundle's parts, in order.
func bundleIDs(t *testing.T, dir, prefix string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, prefix, "part-*.ndjson.gz"))
	require.NoError(t, err)
	var ids []string
	for _, p := range matches {
		f, err := os.Open(p)
		require.NoError(t, err)
		zr, err := gzip.NewReader(f)
		require.NoError(t, err)
		raw, err := io.ReadAll(zr)
		require.NoError(t, err)
		_ = f.Close()
		for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
			var h bundle.ConversationHead
			require.NoError(t, json.Unmarshal([]byte(line), &h), line)
			ids = append(ids, h.ConversationID)
		}
	}
	return ids
}

func requireExportVerified(t *testing.T, dir, prefix string) bundle.Report {
	t.Helper()
	rep, err := bundle.VerifyURL(context.Background(), "file://"+filepath.Join(dir, prefix))
	require.NoError(t, err)
	require.Empty(t, rep.Problems)
	return rep
}

// withoutJobIDs is the manifest with what legitimately differs between two runs (the IDs
// Genesys gives their jobs, and so the digest) blanked.
func withoutJobIDs(m bundle.Manifest) bundle.Manifest {
	m.ManifestSHA256 = ""
	ws := make([]bundle.JobWindow, len(m.Windows))
	copy(ws, m.Windows)
	for i := range ws {
		ws[i].JobIDs = nil
	}
	m.Windows = ws
	return m
}

func exportAppError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "want an application error, got %v", err)
	return ae
}

// The seeded conversations span one year before the clock; the window starts 70 days earlier,
// so its first job windows are empty.
func exportSeededWindow() (time.Time, time.Time) {
	return exportClock.AddDate(0, 0, -435), exportClock.Add(-time.Hour)
}

func exportSeededOptions() emulator.Options {
	return emulator.Options{Seed: 7, Users: 4, Conversations: 240, Span: 365 * 24 * time.Hour, JobPolls: 2}
}

func TestExport_GivenSeveralWindows_ShouldWriteEveryConversationOnceAndVerify(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	in := f.input("run1", start, end)
	run := runExport(t, f.a, in, nil)
	require.NoError(t, run.err)

	want := f.em.ConversationCount(f.user, start, end)
	require.Greater(t, want, 30, "the fixture needs enough conversations for several parts")
	assert.Equal(t, want, run.summary.Conversations)
	assert.Equal(t, 15, run.summary.Windows)
	assert.Greater(t, run.summary.Parts, 3)
	assert.Equal(t, f.store.URL(in.Bundle+"/manifest.json"), run.summary.ManifestURL)

	m := exportManifest(t, f.dir, in.Bundle)
	assert.Equal(t, run.summary.ManifestSHA256, m.ManifestSHA256)
	assert.Equal(t, f.user, m.UserID)
	assert.Len(t, m.Windows, 15)
	assert.Equal(t, 0, m.Windows[0].Conversations, "the first window predates the data")
	for i, w := range m.Windows {
		assert.Len(t, w.JobIDs, 1, "window %d", i)
		assert.Equal(t, f.em.ConversationCount(f.user, w.Start, w.End), w.Conversations, "window %d", i)
		if i > 0 && i < len(m.Windows)-1 {
			assert.Zero(t, w.Start.Sub(w.Start.Truncate(24*time.Hour)), "inner windows start at UTC midnight")
		}
	}
	assert.Equal(t, start, m.Windows[0].Start)
	assert.Equal(t, end, m.Windows[len(m.Windows)-1].End)
	for _, p := range m.Parts {
		assert.LessOrEqual(t, p.Conversations, 10+7-1, "a part closes at the first page boundary past the threshold")
	}

	ids := bundleIDs(t, f.dir, in.Bundle)
	assert.Len(t, ids, want)
	seen := map[string]bool{}
	for _, id := range ids {
		assert.False(t, seen[id], "conversation %s appears twice", id)
		seen[id] = true
	}
	rep := requireExportVerified(t, f.dir, in.Bundle)
	assert.Equal(t, want, rep.Conversations)

	// Every file is the owner's only, and the snapshot is there.
	fi, err := os.Stat(filepath.Join(f.dir, in.Bundle, "part-00000.ndjson.gz"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	var u genesys.User
	raw, err := os.ReadFile(filepath.Join(f.dir, in.Bundle, bundle.UserName))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &u))
	assert.Equal(t, in.User, u)

	// Jobs are deleted when done.
	for _, w := range m.Windows {
		_, err := f.g.ConversationJob(context.Background(), w.JobIDs[0])
		assert.True(t, genesys.IsNotFound(err), "job %s should be deleted: %v", w.JobIDs[0], err)
	}

	// Running again (a retried attempt after the manifest was written) changes nothing.
	again := runExport(t, f.a, in, nil)
	require.NoError(t, again.err)
	assert.Equal(t, run.summary, again.summary)
}

func TestExport_GivenLifetimesOverlappingWindows_ShouldKeepEachInTheWindowOfItsStart(t *testing.T) {
	f := newExportFixture(t, emulator.Options{Seed: 3, Users: 3, Conversations: -1, JobPolls: -1})
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 90)
	b1 := start.AddDate(0, 0, 30)
	specs := map[string]emulator.ConversationSpec{
		"across the first boundary":     {Start: b1.Add(-time.Hour), End: b1.Add(26 * time.Hour)},
		"across two boundaries":         {Start: b1.Add(-2 * time.Hour), End: b1.AddDate(0, 0, 35)},
		"just after the first boundary": {Start: b1, End: b1.Add(time.Minute)},
		"in the last window":            {Start: end.Add(-time.Minute), End: end.Add(time.Hour)},
		"at the very start":             {Start: start, End: start.Add(time.Minute)},
	}
	kept := map[string]string{}
	for name, s := range specs {
		s.UserIDs = []string{f.user}
		kept[f.em.AddConversation(s)] = name
	}
	before := f.em.AddConversation(emulator.ConversationSpec{Start: start.Add(-time.Hour), End: start.Add(48 * time.Hour), UserIDs: []string{f.user}})
	after := f.em.AddConversation(emulator.ConversationSpec{Start: end, End: end.Add(time.Hour), UserIDs: []string{f.user}})

	in := f.input("overlap", start, end)
	run := runExport(t, f.a, in, nil)
	require.NoError(t, run.err)
	ids := bundleIDs(t, f.dir, in.Bundle)
	assert.ElementsMatch(t, exportMapKeys(kept), ids, "each conversation once; %s and %s started outside the window", before, after)
	m := exportManifest(t, f.dir, in.Bundle)
	require.Len(t, m.Windows, 3)
	assert.Equal(t, []int{3, 1, 1}, []int{m.Windows[0].Conversations, m.Windows[1].Conversations, m.Windows[2].Conversations})
	requireExportVerified(t, f.dir, in.Bundle)
}

func exportMapKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// crashingClient fails the attempt after a number of results pages, or replays pages.
type crashingClient struct {
	genesys.Client
	pages     atomic.Int32
	failAfter int32 // fail the page read after this many; 0 never
	replay    bool  // every page also repeats the previous page's conversations
	onPage    func(n int32)
	mu        sync.Mutex
	prev      []genesys.Conversation
}

var errCrash = errors.New("worker crashed")

func (c *crashingClient) ConversationJobResults(ctx context.Context, jobID, cursor string, pageSize int, each genesys.EachConversation) (genesys.ResultsPage, error) {
	n := c.pages.Add(1)
	if c.onPage != nil {
		c.onPage(n)
	}
	if c.failAfter > 0 && n > c.failAfter {
		return genesys.ResultsPage{}, errCrash
	}
	if !c.replay {
		return c.Client.ConversationJobResults(ctx, jobID, cursor, pageSize, each)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, conv := range c.prev {
		if err := each(i, conv); err != nil {
			return genesys.ResultsPage{}, err
		}
	}
	var page []genesys.Conversation
	p, err := c.Client.ConversationJobResults(ctx, jobID, cursor, pageSize, func(i int, conv genesys.Conversation) error {
		kept := conv
		kept.Raw = bytes.Clone(conv.Raw)
		page = append(page[:i], kept)
		return each(len(c.prev)+i, conv)
	})
	if err != nil {
		return p, err
	}
	p.Conversations += len(c.prev)
	c.prev = page
	return p, nil
}

func TestExport_GivenACrashMidWindow_ShouldResumeWithoutDuplicatesToAnIdenticalManifest(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	clean := runExport(t, f.a, f.input("clean", start, end), nil)
	require.NoError(t, clean.err)
	want := exportManifest(t, f.dir, f.user+"/clean")

	cases := []struct {
		name      string
		failAfter int32
		// pick chooses which recorded heartbeat the retry sees: the last one, or an older one
		// (heartbeats are throttled, so the server may hold a stale checkpoint).
		pick func(hbs []json.RawMessage) json.RawMessage
		// expire deletes the crashed attempt's job, as if it expired before the retry.
		expire bool
	}{
		{name: "last heartbeat", failAfter: 9, pick: func(h []json.RawMessage) json.RawMessage { return h[len(h)-1] }},
		{name: "stale heartbeat", failAfter: 12, pick: func(h []json.RawMessage) json.RawMessage { return h[len(h)/3] }},
		{name: "job expired", failAfter: 11, pick: func(h []json.RawMessage) json.RawMessage { return h[len(h)-1] }, expire: true},
		{name: "no heartbeat reached the server", failAfter: 10, pick: func([]json.RawMessage) json.RawMessage { return nil }},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := "crash" + string(rune('a'+i))
			in := f.input(prefix, start, end)
			crashing := *f.a
			crashing.Genesys = &crashingClient{Client: f.g, failAfter: tc.failAfter}
			first := runExport(t, &crashing, in, nil)
			require.ErrorContains(t, first.err, errCrash.Error())
			require.NotEmpty(t, first.heartbeats)
			_, err := os.Stat(filepath.Join(f.dir, in.Bundle, bundle.ManifestName))
			require.True(t, os.IsNotExist(err), "no manifest after a crash")
			written, err := filepath.Glob(filepath.Join(f.dir, in.Bundle, "part-*.ndjson.gz"))
			require.NoError(t, err)
			require.NotEmpty(t, written, "the crash happens after some parts are stored")
			details := tc.pick(first.heartbeats)
			if tc.expire {
				var p struct {
					JobID string `json:"jobId"`
				}
				require.NoError(t, json.Unmarshal(details, &p))
				require.NotEmpty(t, p.JobID)
				require.NoError(t, f.g.DeleteConversationJob(context.Background(), p.JobID))
			}

			second := runExport(t, f.a, in, details)
			require.NoError(t, second.err)
			got := exportManifest(t, f.dir, in.Bundle)
			assert.Equal(t, withoutJobIDs(want), withoutJobIDs(got))
			assert.Equal(t, clean.summary.Conversations, second.summary.Conversations)
			ids := bundleIDs(t, f.dir, in.Bundle)
			assert.ElementsMatch(t, bundleIDs(t, f.dir, f.user+"/clean"), ids)
			requireExportVerified(t, f.dir, in.Bundle)
		})
	}
}

// With jobs fulfilled at once, the next window's job is created and its first page read while
// the current window is written. Every conversation is still stored once, and every job created,
// used or not, is deleted, also when the attempt crashes with a prepared job outstanding.
func TestExport_GivenJobsFulfilledAtOnce_ShouldPrepareTheNextWindowAndLeaveNoJobBehind(t *testing.T) {
	opts := exportSeededOptions()
	opts.JobPolls = -1
	f := newExportFixture(t, opts)
	start, end := exportSeededWindow()
	jobCalls := func(method string) int {
		n := 0
		for _, c := range f.em.Calls() {
			if c.Method == method && strings.HasPrefix(c.Path, "/api/v2/analytics/conversations/details/jobs") &&
				(method == http.MethodPost || !strings.HasSuffix(c.Path, "/results")) && !strings.HasSuffix(c.Path, "/availability") {
				n++
			}
		}
		return n
	}

	in := f.input("ahead", start, end)
	run := runExport(t, f.a, in, nil)
	require.NoError(t, run.err)
	want := f.em.ConversationCount(f.user, start, end)
	assert.Equal(t, want, run.summary.Conversations)
	ids := bundleIDs(t, f.dir, in.Bundle)
	assert.Len(t, ids, want)
	m := exportManifest(t, f.dir, in.Bundle)
	for i, w := range m.Windows {
		assert.Len(t, w.JobIDs, 1, "window %d uses one job", i)
	}
	requireExportVerified(t, f.dir, in.Bundle)
	assert.Equal(t, len(m.Windows), jobCalls(http.MethodPost), "one job per window, none wasted")
	assert.Equal(t, jobCalls(http.MethodPost), jobCalls(http.MethodDelete), "every job is deleted")

	// A crash in the first window's count: the second window's job is prepared and never used.
	crashing := *f.a
	crashing.Genesys = countCrashClient{f.g}
	in = f.input("ahead-crash", start, end)
	first := runExport(t, &crashing, in, nil)
	require.ErrorContains(t, first.err, errCrash.Error())
	assert.Equal(t, jobCalls(http.MethodPost), jobCalls(http.MethodDelete), "the prepared job is deleted")
	// A crash reading a page, after the first page of a prepared job could not be read.
	crashing.Genesys = &crashingClient{Client: f.g, failAfter: 3}
	second := runExport(t, &crashing, in, first.last())
	require.ErrorContains(t, second.err, errCrash.Error())
	assert.Equal(t, 1, jobCalls(http.MethodPost)-jobCalls(http.MethodDelete), "only the job the checkpoint names is left, for the retry")
	third := runExport(t, f.a, in, second.last())
	require.NoError(t, third.err)
	assert.Equal(t, jobCalls(http.MethodPost), jobCalls(http.MethodDelete), "every job is deleted")
	assert.ElementsMatch(t, ids, bundleIDs(t, f.dir, in.Bundle))
	requireExportVerified(t, f.dir, in.Bundle)
}

// countCrashClient fails every conversation-details query, as if the worker crashed there.
type countCrashClient struct{ genesys.Client }

func (countCrashClient) QueryConversations(context.Context, string, genesys.Interval, int, int) (genesys.QueryPage, error) {
	return genesys.QueryPage{}, errCrash
}

func TestExport_GivenReplayedPages_ShouldNeverWriteADuplicate(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	a := *f.a
	a.Genesys = &crashingClient{Client: f.g, replay: true}
	in := f.input("replay", start, end)
	run := runExport(t, &a, in, nil)
	require.NoError(t, run.err)
	assert.Equal(t, f.em.ConversationCount(f.user, start, end), run.summary.Conversations)
	requireExportVerified(t, f.dir, in.Bundle)
}

func TestExport_GivenAFailedJob_ShouldRecreateIt(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	f.em.SetFaults(emulator.Faults{FailJobs: 1})
	in := f.input("failed", start, end)
	run := runExport(t, f.a, in, nil)
	require.NoError(t, run.err)
	m := exportManifest(t, f.dir, in.Bundle)
	assert.Len(t, m.Windows[0].JobIDs, 2, "the failed job and its replacement are recorded")
	assert.Equal(t, f.em.ConversationCount(f.user, start, end), run.summary.Conversations)

	// Jobs that keep failing end the attempt with a retryable error; the retry converges.
	f.em.SetFaults(emulator.Faults{FailJobs: 3})
	in = f.input("failing", start, end)
	first := runExport(t, f.a, in, nil)
	ae := exportAppError(t, first.err)
	assert.Equal(t, activities.ErrExportJobFailed, ae.Type())
	assert.False(t, ae.NonRetryable())
	assert.Contains(t, ae.Error(), "FAILED")
	second := runExport(t, f.a, in, first.last())
	require.NoError(t, second.err)
	assert.Equal(t, run.summary.Conversations, second.summary.Conversations)
	requireExportVerified(t, f.dir, in.Bundle)
}

func TestExport_GivenA429Storm_ShouldAskForRetryAfterAndConverge(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	clean := runExport(t, f.a, f.input("clean", start, end), nil)
	require.NoError(t, clean.err)

	// The storm breaks out in the middle of a window's results, and lasts a few requests.
	a := *f.a
	a.Genesys = &crashingClient{Client: f.g, onPage: func(n int32) {
		if n == 5 {
			f.em.SetFaults(emulator.Faults{RateLimitBurst: 3, RetryAfter: 1})
		}
	}}
	in := f.input("storm", start, end)
	var details json.RawMessage
	limited := 0
	for attempt := 1; ; attempt++ {
		require.Less(t, attempt, 10, "the export does not converge under a 429 storm")
		run := runExport(t, &a, in, details)
		if run.err == nil {
			assert.Equal(t, clean.summary.Conversations, run.summary.Conversations)
			break
		}
		ae := exportAppError(t, run.err)
		assert.Equal(t, string(genesys.KindRateLimited), ae.Type())
		assert.False(t, ae.NonRetryable())
		assert.Equal(t, time.Second, ae.NextRetryDelay(), "Retry-After becomes the next retry delay")
		limited++
		if len(run.heartbeats) > 0 {
			details = run.last()
		}
	}
	assert.Positive(t, limited, "the storm reached the activity")
	assert.Equal(t, withoutJobIDs(exportManifest(t, f.dir, f.user+"/clean")), withoutJobIDs(exportManifest(t, f.dir, in.Bundle)))
	requireExportVerified(t, f.dir, in.Bundle)
}

func TestExport_GivenDataAvailabilityLag_ShouldWaitForTheData(t *testing.T) {
	f := newExportFixture(t, emulator.Options{Seed: 5, Users: 3, Conversations: 60, Now: time.Now, JobPolls: -1})
	now := time.Now().UTC().Truncate(time.Millisecond)
	recent := f.em.AddConversation(emulator.ConversationSpec{Start: now.Add(-500 * time.Millisecond), End: now.Add(-100 * time.Millisecond), UserIDs: []string{f.user}})
	f.em.SetFaults(emulator.Faults{AvailabilityLag: 1500 * time.Millisecond})
	in := f.input("lag", now.AddDate(0, 0, -40), now)
	began := time.Now()
	run := runExport(t, f.a, in, nil)
	require.NoError(t, run.err)
	assert.GreaterOrEqual(t, time.Since(began), time.Second, "the export waited for availability to pass the window's end")
	assert.Contains(t, bundleIDs(t, f.dir, in.Bundle), recent)
	assert.Equal(t, f.em.ConversationCount(f.user, in.Window.Start, in.Window.End), run.summary.Conversations)
}

// hidingClient leaves some conversations out of every job's results, as if Genesys's jobs store
// missed them while its conversation-details query counts them, and adds extra ones to the last
// page of every job, as if the jobs store had conversations the query does not.
type hidingClient struct {
	genesys.Client
	hidden map[string]bool
	extra  []genesys.Conversation
}

func (c *hidingClient) ConversationJobResults(ctx context.Context, jobID, cursor string, pageSize int, each genesys.EachConversation) (genesys.ResultsPage, error) {
	n := 0
	p, err := c.Client.ConversationJobResults(ctx, jobID, cursor, pageSize, func(i int, conv genesys.Conversation) error {
		if i == 0 {
			n = 0 // the page is read again
		}
		if c.hidden[conv.ID] {
			return nil
		}
		n++
		return each(n-1, conv)
	})
	if err == nil && p.Cursor == "" {
		for _, conv := range c.extra {
			if err := each(n, conv); err != nil {
				return p, err
			}
			n++
		}
	}
	p.Conversations = n
	return p, err
}

func TestExport_GivenTheQueryCountsMore_ShouldFailNamingTheWindow(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	// One missed conversation in the first window (a partial day) and one in an inner, whole-day window.
	inner := start.AddDate(0, 0, 30).Truncate(24*time.Hour).AddDate(0, 0, 30)
	late := f.em.AddConversation(emulator.ConversationSpec{Start: start.Add(2 * time.Hour), End: start.Add(3 * time.Hour), UserIDs: []string{f.user}})
	late2 := f.em.AddConversation(emulator.ConversationSpec{Start: inner.Add(time.Hour), End: inner.Add(2 * time.Hour), UserIDs: []string{f.user}})
	a := *f.a
	a.Genesys = &hidingClient{Client: f.g, hidden: map[string]bool{late: true, late2: true}}
	in := f.input("mismatch", start, end)
	run := runExport(t, &a, in, nil)
	ae := exportAppError(t, run.err)
	assert.Equal(t, activities.ErrCountMismatch, ae.Type())
	assert.True(t, ae.NonRetryable())
	msg := ae.Error()
	assert.Contains(t, msg, "window "+bundle.Window{Start: start, End: start.AddDate(0, 0, 30).Truncate(24 * time.Hour)}.String())
	assert.Contains(t, msg, "exported 0, query counts 1")
	assert.Contains(t, msg, late)
	assert.Contains(t, msg, late2)
	assert.Contains(t, msg, "window "+bundle.Window{Start: inner, End: inner.AddDate(0, 0, 30)}.String())
	assert.Contains(t, msg, "2 window(s)")
	_, err := os.Stat(filepath.Join(f.dir, in.Bundle, bundle.ManifestName))
	assert.True(t, os.IsNotExist(err), "no manifest for a bundle that disagrees with Genesys")
}

// A window with a partial day at either end is checked piece by piece: the whole days by
// totalHits, the partial days by paging. A missed conversation in any piece must be caught.
func TestExport_GivenLateConversationsInEveryPieceOfPartialWindows_ShouldFailNamingThem(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	firstEnd := start.AddDate(0, 0, 30).Truncate(24 * time.Hour)
	// Missed conversations in the whole days of the first window and in the partial last day of
	// the last window.
	lateMiddle := f.em.AddConversation(emulator.ConversationSpec{Start: start.AddDate(0, 0, 5), End: start.AddDate(0, 0, 5).Add(time.Hour), UserIDs: []string{f.user}})
	lateTail := f.em.AddConversation(emulator.ConversationSpec{Start: end.Add(-2 * time.Hour), End: end.Add(-time.Hour), UserIDs: []string{f.user}})
	a := *f.a
	a.Genesys = &hidingClient{Client: f.g, hidden: map[string]bool{lateMiddle: true, lateTail: true}}
	in := f.input("pieces", start, end)
	run := runExport(t, &a, in, nil)
	ae := exportAppError(t, run.err)
	assert.Equal(t, activities.ErrCountMismatch, ae.Type())
	msg := ae.Error()
	require.NotEmpty(t, lateMiddle)
	require.NotEmpty(t, lateTail)
	assert.Contains(t, msg, "window "+bundle.Window{Start: start, End: firstEnd}.String()+": exported 0, query counts 1 (not exported: "+lateMiddle+")")
	assert.Contains(t, msg, "(not exported: "+lateTail+")")
	assert.Contains(t, msg, "2 window(s)")
}

// A partial day whose count agrees but whose conversations differ (the job has one the query
// does not, and misses one it has) must still be caught.
func TestExport_GivenAPartialDayWithTheRightCountButOtherConversations_ShouldFailNamingBoth(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	at := end.Add(-2 * time.Hour) // the partial last day of the last window
	missed := f.em.AddConversation(emulator.ConversationSpec{Start: at, End: at.Add(time.Minute), UserIDs: []string{f.user}})
	const foreign = "99999999-9999-4999-8999-999999999999"
	raw := fmt.Sprintf(`{"conversationId":%q,"conversationStart":%q}`, foreign, at.Format("2006-01-02T15:04:05.000Z"))
	a := *f.a
	a.Genesys = &hidingClient{Client: f.g, hidden: map[string]bool{missed: true},
		extra: []genesys.Conversation{{ID: foreign, Start: at, Raw: json.RawMessage(raw)}}}
	in := f.input("swapped", start, end)
	ae := exportAppError(t, runExport(t, &a, in, nil).err)
	assert.Equal(t, activities.ErrCountMismatch, ae.Type())
	msg := ae.Error()
	assert.Contains(t, msg, "(not exported: "+missed+")")
	assert.Contains(t, msg, "(not in the query: "+foreign+")")
	assert.Contains(t, msg, "1 window(s)")
}

func TestExport_GivenBadInput_ShouldFailNonRetryably(t *testing.T) {
	f := newExportFixture(t, emulator.Options{Seed: 1, Users: 2, Conversations: 10})
	start, end := exportSeededWindow()
	cases := map[string]func(in *activities.ExportInput){
		"no user":          func(in *activities.ExportInput) { in.UserID = "" },
		"empty window":     func(in *activities.ExportInput) { in.Window.End = in.Window.Start },
		"partial days":     func(in *activities.ExportInput) { in.WindowSize = 36 * time.Hour },
		"escaping bundle":  func(in *activities.ExportInput) { in.Bundle = "../etc" },
		"no bundle prefix": func(in *activities.ExportInput) { in.Bundle = "/" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			in := f.input("bad", start, end)
			mutate(&in)
			ae := exportAppError(t, runExport(t, f.a, in, nil).err)
			assert.Equal(t, activities.ErrInvalidInput, ae.Type())
			assert.True(t, ae.NonRetryable())
		})
	}
}
