package e2e

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// An offboarding started on worker version v1 waits for approval while v2 is deployed and
// promoted; it is approved afterwards and finishes on v1, the version it is pinned to, while a
// run started after the promotion runs on v2. Once the old run has closed, v1 drains.
func Test_GivenRunPinnedToOldVersion_ShouldFinishOnItAfterNewVersionIsPromoted(t *testing.T) {
	em := emulator.New(emulator.Options{Seed: 16, Users: 8, Conversations: 300, JobPolls: -1})
	gen := httptest.NewServer(em)
	defer gen.Close()
	const ns = "versioning-e2e"
	ps := startProcessStack(t, ns, gen.URL, t.TempDir(), "OFFBOARD_BUILD_ID=v1")
	ctx := context.Background()

	// v1's workers get no runs until v1 is promoted, and its log says how.
	require.Eventually(t, func() bool {
		return strings.Contains(ps.worker.output(), "starter deployment promote --deployment-name offboard --build-id v1")
	}, 30*time.Second, 100*time.Millisecond, "the unpromoted worker must say how to promote it")
	starter(t, ps.env, "deployment", "promote", "--build-id", "v1")

	active := activeUsers(em)
	require.GreaterOrEqual(t, len(active), 2)
	old := active[0]
	_, err := ps.hr.Start(ctx, hrapi.OffboardingRequest{UserID: old.ID, Disposition: "delete", Retention: "PT1S", Reason: "left", HREventID: "ver-1"})
	require.NoError(t, err)
	waitProcStage(t, ps, old.ID, workflows.StageAwaitingApproval)

	// v2 is deployed beside v1 and promoted while the run waits for its approval.
	startProcess(t, append(ps.env, "OFFBOARD_BUILD_ID=v2", "OFFBOARD_WORKER_ADDR=off"), "worker")
	out := starter(t, ps.env, "deployment", "promote", "--build-id", "v2")
	assert.Contains(t, out, "Runs pinned to offboard:v1 stay on it")
	promotedAt := lastEventID(historyOf(t, ns, workflows.WorkflowID(old.ID)))

	_, err = ps.approver.Approve(ctx, old.ID, "approved after the deploy")
	require.NoError(t, err)
	st := waitProcStage(t, ps, old.ID, workflows.OutcomeDeleted)
	require.Equal(t, workflows.OutcomeDeleted, st.Stage, "errors: %v", st.Notes)
	closed := time.Now()
	rec, _ := em.User(old.ID)
	assert.Equal(t, "deleted", rec.State)

	after := 0
	for _, ev := range historyOf(t, ns, workflows.WorkflowID(old.ID)) {
		if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil && ev.GetEventId() > promotedAt {
			after++
			assert.Equal(t, "v1", a.GetDeploymentVersion().GetBuildId(), "workflow task %d after the promotion", ev.GetEventId())
			assert.Equal(t, enumspb.VERSIONING_BEHAVIOR_PINNED, a.GetVersioningBehavior())
		}
	}
	assert.GreaterOrEqual(t, after, 2, "the approval and the deletion after the retention took workflow tasks after the promotion")

	// A run started after the promotion is pinned to v2.
	next := active[1]
	_, err = ps.hr.Start(ctx, hrapi.OffboardingRequest{UserID: next.ID, Disposition: "archive", Reason: "left", HREventID: "ver-2"})
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomeArchived, waitProcStage(t, ps, next.ID, workflows.OutcomeArchived).Stage)
	desc, err := stk.Client.WorkflowService().DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: ns, Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.WorkflowID(next.ID)}})
	require.NoError(t, err)
	vi := desc.GetWorkflowExecutionInfo().GetVersioningInfo()
	assert.Equal(t, "v2", vi.GetDeploymentVersion().GetBuildId())
	assert.Equal(t, enumspb.VERSIONING_BEHAVIOR_PINNED, vi.GetBehavior())

	// With its last pinned run closed, v1 drains: its workers may go.
	var drained bool
	require.Eventually(t, func() bool {
		var s struct {
			Current  string `json:"current"`
			Versions []struct {
				BuildID        string `json:"buildId"`
				Drainage       string `json:"drainage"`
				OpenPinnedRuns int64  `json:"openPinnedRuns"`
			} `json:"versions"`
		}
		if err := json.Unmarshal([]byte(starter(t, ps.env, "deployment", "status", "--json")), &s); err != nil {
			return false
		}
		for _, v := range s.Versions {
			drained = drained || (v.BuildID == "v1" && v.Drainage == "drained" && v.OpenPinnedRuns == 0 && s.Current == "offboard:v2")
		}
		return drained
	}, 60*time.Second, time.Second, "v1 must show drained once its pinned run closed")
	t.Logf("%d workflow tasks after the promotion ran on v1; v1 showed drained %v after its run closed", after, time.Since(closed).Round(time.Second))
}

// starter runs the starter binary with env and returns its output; it must succeed.
func starter(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(bins, "starter"), args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "starter %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// activeUsers are the emulator's active seeded users with conversations.
func activeUsers(em *emulator.Emulator) []emulator.UserSummary {
	var out []emulator.UserSummary
	for _, u := range em.SeedUsers() {
		if u.State == "active" && u.Conversations > 0 {
			out = append(out, u)
		}
	}
	return out
}

// waitProcStage waits until the user's offboarding on the process stack reports stage, or any
// final stage, and returns its status.
func waitProcStage(t *testing.T, ps processStack, userID string, stage workflows.Stage) workflows.Status {
	t.Helper()
	var st workflows.Status
	require.Eventually(t, func() bool {
		var err error
		st, err = ps.hr.Status(context.Background(), userID)
		return err == nil && (st.Stage == stage || st.Stage.Final())
	}, runWait, 200*time.Millisecond, "the offboarding of %s never reached %s", userID, stage)
	return st
}

// historyOf is the latest run's history of workflowID in namespace ns.
func historyOf(t *testing.T, ns, workflowID string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	var token []byte
	for {
		resp, err := stk.Client.WorkflowService().GetWorkflowExecutionHistory(context.Background(), &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace: ns, Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID}, NextPageToken: token,
		})
		require.NoError(t, err)
		events = append(events, resp.GetHistory().GetEvents()...)
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return events
		}
	}
}

// lastEventID is the ID of the history's last event.
func lastEventID(events []*historypb.HistoryEvent) int64 {
	if len(events) == 0 {
		return 0
	}
	return events[len(events)-1].GetEventId()
}
