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

// Every Genesys response of the emulator takes longer than the heartbeat timeout: only heartbeats
// sent while a call waits keep the count alive. The activity beats every third of the timeout;
// what reaches the server is the SDK's throttle of them, one per 0.8 of the timeout.
func Test_GivenGenesysSlowerThanTheHeartbeatTimeout_ShouldCountWithHeartbeatsWithinTheTimeout(t *testing.T) {
	const (
		heartbeat = 1500 * time.Millisecond
		latency   = 2 * time.Second
	)
	h := dev(t)
	u := h.userIn(t, "active", 10)
	end := time.Now().UTC().Truncate(time.Hour)
	w := genesys.Interval{Start: end.AddDate(-2, 0, 0), End: end}
	want := h.emu.ConversationCount(u.ID, w.Start, w.End)
	require.Greater(t, want, 2)
	h.a.Export.QueryPage = want - 1 // two pages
	h.emu.SetFaults(emulator.Faults{Latency: latency})

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(h.a)
	count := func(ctx workflow.Context, in activities.CountInput) (int, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute, HeartbeatTimeout: heartbeat,
			RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}, // a lapsed heartbeat fails the test
		})
		var n int
		err := workflow.ExecuteActivity(ctx, h.a.CountInteractions, in).Get(ctx, &n)
		return n, err
	}
	env.RegisterWorkflow(count)
	var mu sync.Mutex
	var beats []time.Time
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		beats = append(beats, time.Now())
	})

	started := time.Now()
	env.ExecuteWorkflow(count, activities.CountInput{UserID: u.ID, Window: w})
	ended := time.Now()

	require.NoError(t, env.GetWorkflowError())
	var n int
	require.NoError(t, env.GetWorkflowResult(&n))
	assert.Equal(t, want, n)
	mu.Lock()
	defer mu.Unlock()
	throttle := heartbeat * 4 / 5
	require.GreaterOrEqual(t, len(beats), int(2*latency/throttle), "a heartbeat per throttle interval over two slow pages")
	pace := throttle + heartbeat/10 // the throttle plus scheduling slack, still within the timeout
	prev := started
	for i, b := range append(beats, ended) {
		assert.LessOrEqual(t, b.Sub(prev), pace, "gap before heartbeat %d", i)
		t.Logf("heartbeat %d after %v", i, b.Sub(prev).Round(time.Millisecond))
		prev = b
	}
}
