package activities_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// callsTo counts the emulator's logged calls whose path ends with suffix, with method if set.
func (f *exportFixture) callsTo(method, suffix string) int {
	n := 0
	for _, c := range f.em.Calls() {
		if strings.HasSuffix(c.Path, suffix) && (method == "" || c.Method == method) {
			n++
		}
	}
	return n
}

func Test_GivenAnExportOverSeveralWindows_ShouldCheckDataAvailabilityOnce(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	in := f.input("availability", start, end)

	run := runExport(t, f.a, in, nil)

	require.NoError(t, run.err)
	require.Greater(t, run.summary.Windows, 10)
	assert.Equal(t, 1, f.callsTo("GET", "/jobs/availability"), "one check covers every window up to now")
}

// heldBackDeletes answers the first deletions the way the client does when its rate limiter
// cannot fit a request before the context's deadline: the budget is contended.
type heldBackDeletes struct {
	genesys.Client
	refusals atomic.Int32
}

func (c *heldBackDeletes) DeleteConversationJob(ctx context.Context, id string) error {
	if c.refusals.Add(-1) >= 0 {
		return &genesys.Error{Kind: genesys.KindTransient, Op: "delete conversation job " + id,
			Message: "client-side rate limit: rate: Wait(n=1) would exceed context deadline"}
	}
	return c.Client.DeleteConversationJob(ctx, id)
}

func Test_GivenJobDeletionsHeldBackByTheRateLimit_ShouldLeaveNoJobBehind(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	held := &heldBackDeletes{Client: f.g}
	held.refusals.Store(2)
	a := *f.a
	a.Genesys = held

	run := runExport(t, &a, f.input("held-back", start, end), nil)

	require.NoError(t, run.err)
	assert.Empty(t, f.em.JobIDs(), "every analytics job is deleted, the held-back ones too")
	assert.Less(t, held.refusals.Load(), int32(0), "deletions were held back")
}

// crowdedDeletes fills the client's rate limiter with other requests just before the first job
// deletion, so that the deletion waits its turn for longer than the 10 s a deletion used to be
// given: what many exports sharing one budget do to each other.
type crowdedDeletes struct {
	genesys.Client
	crowd int
	once  sync.Once
	wg    sync.WaitGroup
}

func (c *crowdedDeletes) DeleteConversationJob(ctx context.Context, id string) error {
	c.once.Do(func() {
		for range c.crowd {
			c.wg.Go(func() { _, _ = c.Client.DataAvailability(context.Background()) })
		}
		time.Sleep(200 * time.Millisecond) // until they hold their places in the limiter
	})
	return c.Client.DeleteConversationJob(ctx, id)
}

func Test_GivenAJobDeletionQueuedBehindAContendedRateLimit_ShouldWaitItsTurnAndDeleteIt(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	// 2 requests a second, and 24 others ahead of the deletion: a 12 s wait.
	g, err := genesys.New(context.Background(), genesys.Config{ClientID: emulator.DevClientID, ClientSecret: emulator.DevClientSecret,
		APIURL: f.url, RequestsPerMinute: 120}, genesys.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	crowded := &crowdedDeletes{Client: g, crowd: 24}
	a := *f.a
	a.Genesys = crowded
	end := exportClock.Add(-time.Hour)
	in := f.input("contended", end.AddDate(0, 0, -10), end)

	run := runExport(t, &a, in, nil)
	crowded.wg.Wait()

	require.NoError(t, run.err)
	assert.Equal(t, 1, run.summary.Windows)
	assert.Empty(t, f.em.JobIDs(), "the deletion waited its turn instead of being dropped")
}

// undeletingClient never manages to delete a job, and fails the attempt after a number of
// results pages, as a worker that crashed with its deletions unsent.
type undeletingClient struct {
	crashingClient
}

func (c *undeletingClient) DeleteConversationJob(context.Context, string) error {
	return &genesys.Error{Kind: genesys.KindInvalid, Op: "delete conversation job", Message: "refused"}
}

func Test_GivenAnAttemptThatCrashedLeavingJobsUndeleted_ShouldDeleteThemOnResume(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	in := f.input("undeleted", start, end)
	crashing := *f.a
	crashing.Genesys = &undeletingClient{crashingClient{Client: f.g, failAfter: 12}}

	first := runExport(t, &crashing, in, nil)
	require.ErrorContains(t, first.err, errCrash.Error())
	require.Greater(t, len(f.em.JobIDs()), 1, "the crashed attempt left jobs behind")

	second := runExport(t, f.a, in, first.last())

	require.NoError(t, second.err)
	assert.Empty(t, f.em.JobIDs(), "the retry deletes what the crashed attempt left")
	assert.Equal(t, f.em.ConversationCount(f.user, start, end), second.summary.Conversations)
	requireExportVerified(t, f.dir, in.Bundle)
}

func Test_GivenAThreeYearWindow_ShouldCountInQueriesOfAtMost31Days(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportClock.AddDate(-3, 0, 0), exportClock
	a := *f.a

	var n int
	err := runActivity(t, &a, a.CountInteractions, activities.CountInput{UserID: f.user, Window: genesys.Interval{Start: start, End: end}}, &n)

	require.NoError(t, err)
	assert.Equal(t, f.em.ConversationCount(f.user, start, end), n)
	days := int(end.Sub(start).Hours() / 24)
	assert.LessOrEqual(t, f.callsTo("POST", "/details/query"), days/31+3, "whole days at 31 a query, partial days paged")
}

// runActivity runs one activity of a in the test environment and decodes its result into out.
func runActivity(t *testing.T, a *activities.Activities, fn, in, out any) error {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(fn, in)
	if err == nil {
		require.NoError(t, v.Get(out))
	}
	return err
}

// A worker that stops gracefully mid-export (SIGTERM) deletes the jobs it made, the current one
// included: the checkpoint that names them may not reach the server as the attempt ends, so the
// retry, here from an earlier checkpoint, could not delete them. The retry makes the window's
// job anew and exports every conversation once.
func Test_GivenAWorkerStoppingMidExport_ShouldLeaveNoJobBehindAndResumeFromAnEarlierCheckpoint(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	in := f.input("stopping", start, end)
	stop := make(chan struct{})
	stopping := *f.a
	stopping.Genesys = &crashingClient{Client: f.g, onPage: func(n int32) {
		if n == 6 {
			close(stop)
		}
	}}
	var s testsuite.WorkflowTestSuite
	first := runExportIn(t, &s, &stopping, in, nil, func(env *testsuite.TestActivityEnvironment) { env.SetWorkerStopChannel(stop) })
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, first.err, &appErr)
	require.Equal(t, activities.ErrWorkerStopping, appErr.Type())
	assert.Empty(t, f.em.JobIDs(), "a graceful stop deletes every job it made")
	require.Greater(t, len(first.heartbeats), 2)

	second := runExport(t, f.a, in, first.heartbeats[len(first.heartbeats)/2])

	require.NoError(t, second.err)
	assert.Empty(t, f.em.JobIDs())
	assert.Equal(t, f.em.ConversationCount(f.user, start, end), second.summary.Conversations)
	requireExportVerified(t, f.dir, in.Bundle)
}
