package activities_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// heartbeat is one heartbeat that reached the (test) server: when, and whether it had details.
type heartbeat struct {
	at      time.Time
	details bool
}

// heartbeatRun is one attempt of an activity: its error, and the heartbeats between its start and end.
type heartbeatRun struct {
	err          error
	beats        []heartbeat
	started, end time.Time
}

// underHeartbeatTimeout runs the activity fn once, as a workflow would with a heartbeat timeout
// hb (a lapse fails it: one attempt only), decoding its result into out.
func underHeartbeatTimeout(t *testing.T, a *activities.Activities, hb time.Duration, fn, in, out any) heartbeatRun {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	run := func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute, HeartbeatTimeout: hb, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
		})
		return workflow.ExecuteActivity(ctx, fn, in).Get(ctx, out)
	}
	env.RegisterWorkflow(run)
	var mu sync.Mutex
	var beats []heartbeat
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		beats = append(beats, heartbeat{at: time.Now(), details: d != nil && d.HasValues()})
	})
	r := heartbeatRun{started: time.Now()}
	env.ExecuteWorkflow(run)
	r.end = time.Now()
	mu.Lock()
	defer mu.Unlock()
	r.err, r.beats = env.GetWorkflowError(), beats
	return r
}

// Every Genesys response of the emulator takes longer than the heartbeat timeout: only heartbeats
// sent while a call waits keep the count alive. The activity beats every third of the timeout;
// what reaches the server is the SDK's throttle of them, one per 0.8 of the timeout.
func Test_GivenGenesysSlowerThanTheHeartbeatTimeout_ShouldCountWithHeartbeatsWithinTheTimeout(t *testing.T) {
	const (
		hb      = 1500 * time.Millisecond
		latency = 2 * time.Second
	)
	h := dev(t)
	u := h.userIn(t, "active", 10)
	end := time.Now().UTC().Truncate(time.Hour)
	w := genesys.Interval{Start: end.AddDate(-2, 0, 0), End: end}
	want := h.emu.ConversationCount(u.ID, w.Start, w.End)
	require.Greater(t, want, 2)
	h.a.Export.QueryPage = want - 1 // two pages
	h.emu.SetFaults(emulator.Faults{Latency: latency})

	var n int
	r := underHeartbeatTimeout(t, h.a, hb, h.a.CountInteractions, activities.CountInput{UserID: u.ID, Window: w}, &n)

	require.NoError(t, r.err)
	assert.Equal(t, want, n)
	throttle := hb * 4 / 5
	require.GreaterOrEqual(t, len(r.beats), int(2*latency/throttle), "a heartbeat per throttle interval over two slow pages")
	pace := throttle + hb/10 // the throttle plus scheduling slack, still within the timeout
	prev := r.started
	for i, b := range append(r.beats, heartbeat{at: r.end}) {
		assert.LessOrEqual(t, b.at.Sub(prev), pace, "gap before heartbeat %d", i)
		t.Logf("heartbeat %d after %v", i, b.at.Sub(prev).Round(time.Millisecond))
		prev = b.at
	}
}

// The export's heartbeats are its checkpoint: while a slow call holds it, it repeats the last
// one, never an empty heartbeat that would erase it.
func Test_GivenGenesysSlowerThanTheHeartbeatTimeout_ShouldExportRepeatingItsCheckpoint(t *testing.T) {
	const hb = time.Second
	f := newExportFixture(t, exportSeededOptions())
	f.a.Export.PageSize = 1000
	_, end := exportSeededWindow()
	f.em.SetFaults(emulator.Faults{Latency: hb * 6 / 5})

	var sum activities.ExportSummary
	r := underHeartbeatTimeout(t, f.a, hb, f.a.ExportInteractions, f.input("slow", end.AddDate(0, 0, -30), end), &sum)

	require.NoError(t, r.err)
	assert.NotEmpty(t, sum.ManifestSHA256)
	require.NotEmpty(t, r.beats)
	for i, b := range r.beats {
		assert.True(t, b.details, "heartbeat %d carries the checkpoint", i)
	}
}
