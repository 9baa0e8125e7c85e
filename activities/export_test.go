package activities_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	url   string // the emulator's
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
	return &exportFixture{em: em, g: g, a: a, dir: dir, store: store, user: em.SeedUsers()[0].ID, url: srv.URL}
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
	return runExportIn(t, &s, a, in, details)
}

// runExportIn is runExport in the suite s (e.g. one with a metrics handler); setup adjusts the
// environment (e.g. a worker stop channel).
func runExportIn(t testing.TB, s *testsuite.WorkflowTestSuite, a *activities.Activities, in activities.ExportInput, details json.RawMessage, setup ...func(*testsuite.TestActivityEnvironment)) exportRun {
	t.Helper()
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	for _, f := range setup {
		f(env)
	}
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

func Test_GivenAnExportOverSeveralWindows_ShouldWriteEveryConversationOnceAndVerify(t *testing.T) {
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

func Test_GivenConversationLifetimesOverlappingWindows_ShouldKeepEachInTheWindowOfItsStart(t *testing.T) {
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

func Test_GivenAnExportWithAFailedJob_ShouldRecreateIt(t *testing.T) {
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

func Test_GivenAnExportInA429Storm_ShouldAskForRetryAfterAndConverge(t *testing.T) {
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

func Test_GivenAnExportWithDataAvailabilityLag_ShouldWaitForTheData(t *testing.T) {
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

func Test_GivenBadExportInput_ShouldFailNonRetryably(t *testing.T) {
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
