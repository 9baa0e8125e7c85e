package e2e

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// killedCountBound is how long a count lost with a SIGKILLed worker may wait for another worker:
// its 30 s heartbeat timeout, the retry's 1 s backoff and slack, far below its 15-minute
// start-to-close.
const killedCountBound = 50 * time.Second

// A worker killed with SIGKILL while it counts (a dry run's CountInteractions, the query
// VerifyOutcome pages through too) never says so: the server notices the missing heartbeats and
// a second worker takes the count over within the heartbeat timeout.
func Test_GivenWorkerSIGKILLMidCount_ShouldHaveAnotherWorkerTakeTheCountOverWithinTheHeartbeatTimeout(t *testing.T) {
	// Every Genesys call takes a second, so that the count's pages outlast the kill.
	em := emulator.New(emulator.Options{Seed: 7, Users: 8, Conversations: 4000, JobPolls: -1})
	gen := httptest.NewServer(em)
	defer gen.Close()
	u := busiestActiveUser(t, em)
	em.SetFaults(emulator.Faults{Latency: time.Second})

	const ns = "kill-e2e"
	ps := startProcessStack(t, ns, gen.URL, t.TempDir())
	ctx := context.Background()
	_, err := ps.hr.Start(ctx, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "archive", Reason: "left", HREventID: "kill-1", DryRun: true})
	require.NoError(t, err)

	count := func() *workflowpb.PendingActivityInfo {
		desc, err := stk.Client.WorkflowService().DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
			Namespace: ns, Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.WorkflowID(u.ID)}})
		require.NoError(t, err)
		for _, a := range desc.GetPendingActivities() {
			if a.GetActivityType().GetName() == "CountInteractions" && a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				return a
			}
		}
		return nil
	}
	require.Eventually(t, func() bool { return count() != nil }, 90*time.Second, 100*time.Millisecond, "the dry run never started counting")
	require.NoError(t, ps.worker.cmd.Process.Kill())
	killed := time.Now()
	startProcess(t, ps.env, "worker")

	var retried *workflowpb.PendingActivityInfo
	require.Eventually(t, func() bool {
		retried = count()
		return retried != nil && retried.GetAttempt() >= 2
	}, killedCountBound, 100*time.Millisecond, "no worker took the count over within %v of the kill", killedCountBound)
	delay := retried.GetLastStartedTime().AsTime().Sub(killed)
	t.Logf("count lost with a SIGKILLed worker started again after %v (heartbeat timeout 30 s, start-to-close 15 min)", delay.Round(100*time.Millisecond))
	require.Less(t, delay, killedCountBound)
	require.Greater(t, delay, 20*time.Second, "the retry waits for the heartbeat timeout, not less")

	em.SetFaults(emulator.Faults{})
	require.Eventually(t, func() bool {
		st, err := ps.hr.Status(ctx, u.ID)
		require.NoError(t, err)
		return st.Stage == workflows.OutcomeDryRun
	}, 60*time.Second, 250*time.Millisecond, "the dry run did not finish after the second worker took the count over")
}
