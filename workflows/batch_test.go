package workflows_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

func Test_GivenABatch_ShouldStartItemsInOrderWithAtMostMaxInFlightEndingAccess(t *testing.T) {
	f := newBatchFixture(t)
	var reqs []workflows.Request
	var want []string
	for n := 1; n <= 9; n++ {
		reqs = append(reqs, byID(user(n)))
		want = append(want, user(n))
		f.plans[user(n)] = childPlan{work: time.Duration(n) * time.Hour}
	}
	// Two deletions wait for approval: they stop counting once they wait.
	f.plans[user(2)] = childPlan{wait: true}
	f.plans[user(3)] = childPlan{wait: true}
	in := f.input(reqs...)
	in.MaxInFlight = 3
	in = f.sign(in)
	// Children end access ten minutes after they start, and then stop counting.
	f.at(15*time.Minute, func() {
		s := f.status()
		assert.Equal(t, workflows.BatchRunning, s.State)
		assert.Equal(t, 3, s.InFlight)
		assert.Equal(t, 3, s.MaxInFlight)
		assert.Equal(t, 3, s.Items[workflows.ItemPending], "the first three have ended access and no longer count")
	})

	res, err := f.run(in)

	require.NoError(t, err)
	assert.Equal(t, want, f.startedUsers(), "started in the list's order")
	assert.Equal(t, 3, f.maxWorking, "never more than MaxInFlight working at once, and that many")
	assert.Equal(t, workflows.BatchCompleted, res.State)
	assert.Equal(t, 9, res.Started)
	assert.Equal(t, 0, res.InFlight)
	assert.Equal(t, map[workflows.ItemOutcome]int{"archived": 7, "awaiting-approval": 2}, res.Items,
		"the batch completes while deletions wait; they carry on on their own")
	assert.Equal(t, 9, res.AccessEnded)
	assert.Zero(t, res.Problems)
	page, err := f.items(workflows.BatchItemsQuery{Limit: 9})
	require.NoError(t, err)
	require.Len(t, page.Items, 9)
	first := page.Items[0]
	assert.Equal(t, 2, first.Line)
	assert.Equal(t, workflows.WorkflowID(user(1)), first.WorkflowID)
	assert.NotEmpty(t, first.RunID)
	assert.Equal(t, start.Add(10*time.Minute), first.AccessEndedAt)
	assert.Equal(t, start.Add(70*time.Minute), first.FinishedAt)
	assert.True(t, first.FinishedAt.Before(res.FinishedAt.Add(-5*time.Hour)), "people finish as they go, long before the batch ends")
	for _, r := range f.started {
		require.NotNil(t, r.Batch)
		assert.Equal(t, requester, r.RequestedBy)
		assert.Equal(t, workflows.BatchRef{ID: testBatchID, Line: r.Batch.Line, Credential: in.Credential, AcceptedAt: start, Digest: workflows.BatchDigest(in)}, *r.Batch)
		assert.Equal(t, start, r.RequestedAt)
	}
}

func Test_GivenAPersonAlreadyInFlightAnUnknownEmailAndADuplicate_ShouldReportThemAndStartTheRest(t *testing.T) {
	f := newBatchFixture(t)
	f.plans[user(1)] = childPlan{spawn: user(2)} // user 2's offboarding runs outside the batch
	f.emails["known@example.com"] = user(4)
	in := f.input(byID(user(1)), byID(user(2)), byEmail("nobody@example.com"), byEmail("known@example.com"), byID(user(1)))

	res, err := f.run(f.sign(in))

	require.NoError(t, err)
	assert.Equal(t, []string{user(1), user(4)}, f.startedUsers(), "the person in flight and the duplicate are never started twice")
	assert.Equal(t, workflows.IdentifyByEmail, f.started[1].IdentifiedBy.By)
	assert.False(t, f.started[1].IdentifiedBy.ResolvedAt.IsZero())
	assert.Equal(t, 3, res.Problems)
	assert.Equal(t, map[workflows.ItemOutcome]int{"archived": 2, "in-flight": 2, "unresolved": 1}, res.Items)

	page, err := f.items(workflows.BatchItemsQuery{Limit: 2, Problems: true})
	require.NoError(t, err)
	assert.Equal(t, 3, page.Total)
	require.Len(t, page.Items, 2)
	assert.Equal(t, workflows.BatchItemStatus{Line: 3, UserID: user(2), WorkflowID: workflows.WorkflowID(user(2)), Outcome: workflows.ItemInFlight,
		Error: "an offboarding of this person is already running"}, page.Items[0])
	assert.Equal(t, workflows.ItemUnresolved, page.Items[1].Outcome)
	assert.Equal(t, 4, page.Items[1].Line)
	assert.Contains(t, page.Items[1].Error, "no active or inactive Genesys user has that email")
	assert.NotContains(t, page.Items[1].Error, "nobody")
	require.NotZero(t, page.Next)
	rest, err := f.items(workflows.BatchItemsQuery{From: page.Next, Limit: 2, Problems: true})
	require.NoError(t, err)
	require.Len(t, rest.Items, 1)
	assert.Equal(t, workflows.BatchItemStatus{Line: 6, UserID: user(1), WorkflowID: workflows.WorkflowID(user(1)), Outcome: workflows.ItemInFlight,
		Error: "the same person as line 2 of this batch"}, rest.Items[0])
	assert.Zero(t, rest.Next)
}

func Test_GivenPagesOfItems_ShouldPageThemAndRefuseABadPage(t *testing.T) {
	f := newBatchFixture(t)
	in := f.input(byID(user(1)), byID(user(2)), byID(user(3)), byID(user(4)), byID(user(5)))

	_, err := f.run(f.sign(in))

	require.NoError(t, err)
	var lines []int
	for from := 0; ; {
		p, err := f.items(workflows.BatchItemsQuery{From: from, Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, 5, p.Total)
		assert.LessOrEqual(t, len(p.Items), 2)
		for _, it := range p.Items {
			lines = append(lines, it.Line)
		}
		if from = p.Next; from == 0 {
			break
		}
	}
	assert.Equal(t, []int{2, 3, 4, 5, 6}, lines)
	for _, q := range []workflows.BatchItemsQuery{{Limit: 0}, {Limit: workflows.MaxBatchItemsPage + 1}, {From: -1, Limit: 1}, {From: 6, Limit: 1}} {
		_, err := f.items(q)
		assert.Error(t, err, "%+v", q)
	}
}

func Test_GivenPauseThenResume_ShouldStartNothingWhilePaused(t *testing.T) {
	f := newBatchFixture(t)
	in := f.input(byID(user(1)), byID(user(2)), byID(user(3)))
	in.MaxInFlight = 1
	var paused, again, resumed *updateResult
	// The first child ends access at ten minutes, when the next would start.
	f.at(5*time.Minute, func() { paused = f.update(workflows.UpdatePauseBatch, f.control(credential.ActionHold)) })
	f.at(8*time.Minute, func() { again = f.update(workflows.UpdatePauseBatch, f.control(credential.ActionHold)) })
	f.at(5*time.Hour, func() {
		s := f.status()
		assert.Equal(t, workflows.BatchPaused, s.State)
		assert.Equal(t, 1, s.Started, "nothing started while paused")
		resumed = f.update(workflows.UpdateResumeBatch, f.control(credential.ActionRelease))
	})

	res, err := f.run(f.sign(in))

	require.NoError(t, err)
	assert.True(t, paused.accepted)
	require.Error(t, again.rejected, "a pause when paused does not apply")
	assert.Contains(t, again.rejected.Error(), "already paused")
	assert.True(t, resumed.accepted)
	assert.Equal(t, workflows.BatchCompleted, res.State)
	assert.Equal(t, map[workflows.ItemOutcome]int{"archived": 3}, res.Items)
	assert.Equal(t, start.Add(5*time.Hour+10*time.Minute+70*time.Minute), res.FinishedAt,
		"the second item started at the resume, the third once the second's access had ended")
}

func Test_GivenABadControl_ShouldRefuseItInTheValidator(t *testing.T) {
	f := newBatchFixture(t)
	in := f.input(byID(user(1)))
	wrongAction := f.control(credential.ActionCancel)
	var results []*updateResult
	f.at(time.Minute, func() {
		results = append(results,
			f.update(workflows.UpdatePauseBatch, wrongAction),
			f.update(workflows.UpdateResumeBatch, f.control(credential.ActionRelease)),
			f.update(workflows.UpdateCancelBatch, map[string]string{"by": "hr-lead"}),
		)
		ok := f.control(credential.ActionHold)
		results = append(results, f.update(workflows.UpdatePauseBatch, ok))
		f.update(workflows.UpdateResumeBatch, f.control(credential.ActionRelease))
		results = append(results, f.update(workflows.UpdatePauseBatch, ok))
	})

	_, err := f.run(f.sign(in))

	require.NoError(t, err)
	require.Len(t, results, 5)
	assert.ErrorContains(t, results[0].rejected, "for cancel, not hold")
	assert.ErrorContains(t, results[1].rejected, "not paused")
	assert.ErrorContains(t, results[2].rejected, "needs a decision credential")
	assert.True(t, results[3].accepted)
	assert.ErrorContains(t, results[4].rejected, "already used")
}

func Test_GivenCancelMidBatch_ShouldLeaveTheRestNotStartedAndLetStartedRunsFinish(t *testing.T) {
	f := newBatchFixture(t)
	in := f.input(byID(user(1)), byID(user(2)), byID(user(3)), byID(user(4)), byID(user(5)))
	in.MaxInFlight = 2
	// Children end access ten minutes after they start: the first two have, and are exporting.
	f.at(5*time.Minute, func() { f.env.SignalWorkflow(workflows.UpdateCancelBatch, f.control(credential.ActionCancel)) })
	var late *updateResult
	f.at(40*time.Minute, func() { late = f.update(workflows.UpdatePauseBatch, f.control(credential.ActionHold)) })

	res, err := f.run(f.sign(in))

	require.NoError(t, err)
	assert.Equal(t, []string{user(1), user(2)}, f.startedUsers())
	assert.Equal(t, workflows.BatchCancelled, res.State)
	assert.Equal(t, map[workflows.ItemOutcome]int{"archived": 2, "not-started": 3}, res.Items, "started runs are not cancelled")
	assert.Equal(t, start.Add(70*time.Minute), res.FinishedAt, "the batch waits for its started runs")
	assert.ErrorContains(t, late.rejected, "already cancelled")
}

func Test_GivenARefusedStartCredential_ShouldFailBeforeStartingAnything(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *batchFixture, in workflows.BatchInput) workflows.BatchInput
		want   string
	}{
		{"no credential", func(_ *batchFixture, in workflows.BatchInput) workflows.BatchInput { return in }, "no start credential"},
		{"changed after signing", func(f *batchFixture, in workflows.BatchInput) workflows.BatchInput {
			in = f.sign(in)
			in.MaxInFlight = 500
			return in
		}, "it was changed after it was signed"},
		{"another requester", func(f *batchFixture, in workflows.BatchInput) workflows.BatchInput {
			in = f.sign(in)
			in.RequestedBy = "mallory"
			return f.withCredential(in, "hr-workday", credential.RoleHR)
		}, `proves "hr-workday", not the requester "mallory"`},
		{"the approver role", func(f *batchFixture, in workflows.BatchInput) workflows.BatchInput {
			return f.withCredential(in, in.RequestedBy, credential.RoleApprover)
		}, "not a start by role hr"},
		{"a reconciliation requester without a reconciliation parent", func(f *batchFixture, in workflows.BatchInput) workflows.BatchInput {
			in.RequestedBy = workflows.ReconciliationRequester
			return in
		}, "no start credential"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newBatchFixture(t)
			in := c.change(f, f.input(byID(user(1))))

			_, err := f.run(in)

			requireAppError(t, err, workflows.ErrInvalidRequest)
			assert.ErrorContains(t, err, c.want)
			assert.Empty(t, f.startedUsers())
		})
	}
}

// withCredential signs in for who in role.
func (f *batchFixture) withCredential(in workflows.BatchInput, who, role string) workflows.BatchInput {
	tok, err := testSigner.Issue(credential.Claims{Identity: who, Role: role, Action: credential.ActionStart,
		WorkflowID: workflows.BatchWorkflowID(in.BatchID), Request: workflows.BatchDigest(in), IssuedAt: start, ExpiresAt: start.Add(5 * time.Minute)})
	require.NoError(f.t, err)
	in.Credential = tok
	return in
}

func Test_GivenAReconciliationParent_ShouldRunTheBatchWithoutACredential(t *testing.T) {
	f := newBatchFixture(t)
	in := f.input(byID(user(1)))
	in.RequestedBy = workflows.ReconciliationRequester
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.ReconciliationIDPrefix + "daily", TaskQueue: workflows.TaskQueue})
	f.register()
	f.env.RegisterWorkflowWithOptions(func(ctx workflow.Context) (workflows.BatchStatus, error) {
		var s workflows.BatchStatus
		ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflows.BatchWorkflowID(testBatchID)})
		err := workflow.ExecuteChildWorkflow(ctx, workflows.BatchWorkflowType, in).Get(ctx, &s)
		return s, err
	}, workflow.RegisterOptions{Name: workflows.ReconciliationWorkflowType})

	f.env.ExecuteWorkflow(workflows.ReconciliationWorkflowType)

	require.NoError(t, f.env.GetWorkflowError())
	var res workflows.BatchStatus
	require.NoError(t, f.env.GetWorkflowResult(&res))
	assert.Equal(t, map[workflows.ItemOutcome]int{"archived": 1}, res.Items)
	require.Len(t, f.started, 1)
	assert.Equal(t, workflows.ReconciliationRequester, f.started[0].RequestedBy)
	assert.Empty(t, f.started[0].Batch.Credential, "the child proves its requester by the same parent rule")
}

func Test_GivenSignalsPastTheThreshold_ShouldContinueAsNewKeepingItsState(t *testing.T) {
	first := newBatchFixture(t)
	first.opts.MaxSignalsPerRun = 3
	in := first.input(byID(user(1)), byID(user(2)), byID(user(3)), byID(user(4)))
	in.MaxInFlight = 1
	in = first.sign(in)
	pause := first.controlUntil(credential.ActionHold, start.Add(credential.MaxTTL))
	first.at(5*time.Minute, func() { first.update(workflows.UpdatePauseBatch, pause) })
	first.at(6*time.Minute, func() { first.update(workflows.UpdateResumeBatch, first.control(credential.ActionRelease)) })

	_, err := first.run(in)

	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can, "each child signals when its access has ended: the third signal continues the run")
	assert.Equal(t, workflows.BatchWorkflowType, can.WorkflowType.Name)
	var next workflows.BatchInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotEmpty(t, next.Resume)
	assert.Equal(t, workflows.BatchDigest(in), workflows.BatchDigest(next), "the continued run's input is the one signed")
	assert.Equal(t, in.Credential, next.Credential)
	assert.Equal(t, []string{user(1), user(2), user(3)}, first.startedUsers())

	// The next run takes over: the runs the first one started report to it by workflow ID.
	second := newBatchFixture(t)
	second.store = first.store
	second.env.SetStartTime(first.env.Now())
	second.env.SetContinuedExecutionRunID(testRunID)
	var reused *updateResult
	second.at(time.Minute, func() {
		s := second.status()
		assert.Equal(t, 4, s.Started, "the started items are carried, and the next one starts")
		assert.Equal(t, 1, s.InFlight)
		assert.Equal(t, 1, s.MaxInFlight)
		assert.Equal(t, 3, s.AccessEnded)
		assert.Equal(t, 3, s.Items["exporting"])
		reused = second.update(workflows.UpdatePauseBatch, pause)
	})
	second.at(2*time.Minute, func() {
		for n := 1; n <= 3; n++ {
			second.env.SignalWorkflow(workflows.SignalBatchProgress, workflows.BatchProgress{Line: n + 1, WorkflowID: workflows.WorkflowID(user(n)),
				Stage: workflows.OutcomeArchived, Outcome: workflows.OutcomeArchived})
		}
	})

	res, err := second.run(next)

	require.NoError(t, err)
	assert.ErrorContains(t, reused.rejected, "already used", "spent credentials are carried")
	assert.Equal(t, []string{user(4)}, second.startedUsers(), "each person started once, in order, across the runs")
	assert.Equal(t, workflows.BatchCompleted, res.State)
	assert.Equal(t, map[workflows.ItemOutcome]int{"archived": 4}, res.Items)
	assert.Equal(t, 4, res.AccessEnded)
}

func Test_GivenUnsignedDecisions_ShouldRunWithoutCredentialsAndTakeControlsByTheirWord(t *testing.T) {
	f := newBatchFixture(t)
	f.policy.UnsignedDecisions = true
	in := f.input(byID(user(1)), byID(user(2)))
	in.MaxInFlight = 1
	var cancel *updateResult
	f.at(5*time.Minute, func() {
		cancel = f.update(workflows.UpdateCancelBatch, workflows.ControlInput{By: "hr-lead", Reason: "wrong list"})
	})

	res, err := f.run(in)

	require.NoError(t, err)
	assert.True(t, cancel.accepted)
	assert.Equal(t, workflows.BatchCancelled, res.State)
	assert.Equal(t, map[workflows.ItemOutcome]int{"archived": 1, "not-started": 1}, res.Items)
}

func Test_GivenStoredItemsThatChanged_ShouldFailBeforeStartingAnything(t *testing.T) {
	f := newBatchFixture(t)
	in := f.input(byID(user(1)))
	in.Items.SHA256 = strings.Repeat("0", 64)

	_, err := f.run(f.sign(in))

	requireAppError(t, err, activities.ErrBundleCorrupt)
	assert.Empty(t, f.startedUsers())
}

func Test_GivenAStoredItemThatIsNoRequest_ShouldRefuseThatItemAndStartTheRest(t *testing.T) {
	f := newBatchFixture(t)
	good, err := json.Marshal(workflows.BatchItem{Line: 3, Request: byID(user(2))})
	require.NoError(t, err)
	in := f.inputOf([]json.RawMessage{json.RawMessage(`{"line":2,"request":{"userId":"x","disposition":"archive","Bogus":1}}`), good})

	res, err := f.run(f.sign(in))

	require.NoError(t, err)
	assert.Equal(t, []string{user(2)}, f.startedUsers())
	assert.Equal(t, map[workflows.ItemOutcome]int{"archived": 1, "refused": 1}, res.Items)
	page, err := f.items(workflows.BatchItemsQuery{Limit: 10, Problems: true})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, workflows.BatchItemStatus{Line: 2, Outcome: workflows.ItemRefused, Error: "the stored item is not a batch item"}, page.Items[0])
}
