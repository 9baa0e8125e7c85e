package workflows_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/workflows"
)

// uiRecorder is a worker interceptor that records what the Temporal UI would show of a run: the
// summary of every activity and every timer it schedules.
type uiRecorder struct {
	interceptor.WorkerInterceptorBase
	activities, timers []string
	// priorities are the task priority keys each activity type was scheduled with.
	priorities map[string][]int
}

func (r *uiRecorder) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &uiInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, r: r}
}

type uiInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	r *uiRecorder
}

func (i *uiInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&uiOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, r: i.r})
}

type uiOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	r *uiRecorder
}

func (o *uiOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	if !workflow.IsReplaying(ctx) {
		opts := workflow.GetActivityOptions(ctx)
		o.r.activities = append(o.r.activities, activityType+": "+opts.Summary)
		if o.r.priorities == nil {
			o.r.priorities = map[string][]int{}
		}
		o.r.priorities[activityType] = append(o.r.priorities[activityType], opts.Priority.PriorityKey)
	}
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

func (o *uiOutbound) NewTimerWithOptions(ctx workflow.Context, d time.Duration, options workflow.TimerOptions) workflow.Future {
	if !workflow.IsReplaying(ctx) {
		o.r.timers = append(o.r.timers, options.Summary)
	}
	return o.Next.NewTimerWithOptions(ctx, d, options)
}

// The UI tells the story: every activity names its step, every timer what it waits for, by IDs only.
func Test_GivenDeleteRun_ShouldGiveEveryActivityAndTimerASummary(t *testing.T) {
	f := newFixture(t, testPolicy())
	req := deleteRequest()
	req.EffectiveAt = start.Add(time.Hour)
	f.at(3*day, func() { f.update(workflows.UpdateApprove, decide("alice")) })

	_, err := f.run(req)

	require.NoError(t, err)
	for _, s := range append(slices.Clone(f.ui.activities), f.ui.timers...) {
		assert.NotRegexp(t, `: $|^$|AwaitWithTimeout`, s, "a summary is missing")
		assert.NotContains(t, s, userName)
		assert.NotContains(t, s, userEmail)
	}
	for _, want := range []string{
		"CheckAccess: check permissions", "SnapshotUser: snapshot user", "SnapshotAccess: snapshot access",
		"RevokeAccess: revoke queues", "RevokeAccess: revoke state",
		"ExportInteractions: export conversations to bundle " + userID + "/" + testRunID,
		"DeleteUser: delete user", "VerifyOutcome: verify user is deleted",
		"WriteAudit: write audit record", "Notify: notify approval.requested", "Notify: notify offboarding.completed",
	} {
		assert.Contains(t, f.ui.activities, want)
	}
	for _, want := range []string{
		"access ends 2026-11-02 10:00 UTC",
		"reminder at 2026-11-04 10:00 UTC; key refresh first",
		"approval deadline 2026-11-06 10:00 UTC; key refresh first",
		"retention until 2026-12-02 10:00 UTC; key refresh first",
	} {
		assert.Contains(t, f.ui.timers, want)
	}
}

func Test_GivenRunOnLegalHold_ShouldSummariseItsTimerAsKeyRefresh(t *testing.T) {
	f := newFixture(t, testPolicy())
	f.at(time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
	f.at(2*time.Hour, func() { f.update(workflows.UpdateHold, workflows.ControlInput{By: "legal", Reason: "case 7"}) })
	f.at(5*day, func() { f.update(workflows.UpdateRelease, workflows.ControlInput{By: "legal"}) })

	_, err := f.run(deleteRequest())

	require.NoError(t, err)
	assert.Contains(t, f.ui.timers, "key refresh")
}

// The run's static details say how to approve, with what and who may, from the starter's policy.
func Test_GivenDeleteRequest_ShouldDetailHowToApproveAndWhoMay(t *testing.T) {
	p := testPolicy()
	p.ApprovalsRequired = 2

	d := workflows.StaticDetails(deleteRequest(), p)

	for _, want := range []string{
		"update `approve`", "`reject` likewise", `{"credential": "..."}`,
		"POST /v1/offboardings/{userId}/credentials", `{"action": "approve"}`,
		"2 distinct approver(s): role `approver` and the allow-list: alice, bob, carol; never the requester",
		"within P4D", "`cancel`, `hold`, `release` and `extendRetention`",
	} {
		assert.Contains(t, d, want)
	}
	assert.NotContains(t, d, "Ada")
	archive := workflows.StaticDetails(archiveRequest(), p)
	assert.Contains(t, archive, "**No approval**")
	assert.NotContains(t, archive, "update `approve`")
	dry := deleteRequest()
	dry.DryRun = true
	assert.Contains(t, workflows.StaticDetails(dry, p), "planned only")
}

// Current details name the stage the run is at.
func Test_GivenRunningRun_ShouldNameTheStageInItsCurrentDetails(t *testing.T) {
	f := newFixture(t, testPolicy())
	var summaries []string
	f.at(time.Hour, func() { summaries = append(summaries, f.status().Summary) })
	f.at(2*time.Hour, func() { f.update(workflows.UpdateApprove, decide("alice")) })
	f.at(3*time.Hour, func() { summaries = append(summaries, f.status().Summary) })

	_, err := f.run(deleteRequest())

	require.NoError(t, err)
	require.Len(t, summaries, 2)
	assert.True(t, strings.HasPrefix(summaries[0], "awaiting-approval: "), summaries[0])
	assert.True(t, strings.HasPrefix(summaries[1], "retention: "), summaries[1])
	assert.True(t, strings.HasPrefix(f.status().Summary, "deleted: "), f.status().Summary)
}

// Access-ending work is served before bulk reads: the access steps ask for priority 1, the export
// and the counts for 4, and the rest keep Temporal's default.
func Test_GivenDeleteRun_ShouldScheduleAccessEndingActivitiesBeforeBulkReads(t *testing.T) {
	f := newFixture(t, testPolicy())
	f.at(3*day, func() { f.update(workflows.UpdateApprove, decide("alice")) })

	_, err := f.run(deleteRequest())

	require.NoError(t, err)
	want := map[string]int{
		"CheckAccess": 1, "SnapshotUser": 1, "SnapshotAccess": 1, "RevokeAccess": 1, "DeleteUser": 1,
		"ExportInteractions": 4, "VerifyOutcome": 4, "WriteAudit": 0, "Notify": 0,
	}
	for activity, key := range want {
		require.NotEmpty(t, f.ui.priorities[activity], "%s did not run", activity)
		for _, got := range f.ui.priorities[activity] {
			assert.Equal(t, key, got, "priority of %s", activity)
		}
	}
}
