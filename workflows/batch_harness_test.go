package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

const testBatchID = "b-1"

// childPlan is how the fake offboarding of one user behaves.
type childPlan struct {
	// work is how long the run works after its access ended (default an hour).
	work time.Duration
	// wait makes the run wait 30 days for approval after its access ended, then end deleted.
	wait bool
	// spawn starts an offboarding of that user first, outside the batch (already in flight).
	spawn string
}

// batchFixture runs the batch workflow over items stored in a file:// store, with a fake
// Offboarding child that reports its progress as the real one does.
type batchFixture struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	store   *bundle.Store
	opts    workflows.BatchOptions
	policy  workflows.Policy
	plans   map[string]childPlan
	emails  map[string]string // email → user ID; others are unknown
	mu      sync.Mutex
	started []workflows.Request
	working int
	// maxWorking is the most fake children working at once.
	maxWorking int
}

func newBatchFixture(t *testing.T) *batchFixture {
	t.Helper()
	store, err := bundle.Open(context.Background(), "file://"+t.TempDir())
	require.NoError(t, err)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.BatchWorkflowID(testBatchID), TaskQueue: workflows.TaskQueue})
	return &batchFixture{t: t, env: env, store: store, policy: testPolicy(), plans: map[string]childPlan{}, emails: map[string]string{}}
}

// user is the Genesys user ID of the nth test person.
func user(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// byID is an archive item for a user ID.
func byID(u string) workflows.Request {
	return workflows.Request{UserID: u, Disposition: workflows.DispositionArchive, Reason: "layoff"}
}

// byEmail is an archive item for an email.
func byEmail(email string) workflows.Request {
	return workflows.Request{Disposition: workflows.DispositionArchive, IdentifiedBy: &workflows.Identification{By: workflows.IdentifyByEmail, Value: email}}
}

// input stores the items (lines 2 on, as a CSV's) and returns the signed batch input.
func (f *batchFixture) input(reqs ...workflows.Request) workflows.BatchInput {
	raw := make([]json.RawMessage, len(reqs))
	for i, r := range reqs {
		b, err := json.Marshal(workflows.BatchItem{Line: i + 2, Request: r})
		require.NoError(f.t, err)
		raw[i] = b
	}
	return f.inputOf(raw)
}

func (f *batchFixture) inputOf(raw []json.RawMessage) workflows.BatchInput {
	ref, err := f.store.WriteBatchItems(context.Background(), testBatchID, raw)
	require.NoError(f.t, err)
	in := workflows.BatchInput{BatchID: testBatchID, RequestedBy: requester, RequestedAt: start, Items: ref}
	return in
}

// sign adds the start credential the HR API would sign for in.
func (f *batchFixture) sign(in workflows.BatchInput) workflows.BatchInput {
	tok, err := testSigner.Issue(credential.Claims{Identity: in.RequestedBy, Role: credential.RoleHR, Action: credential.ActionStart,
		WorkflowID: workflows.BatchWorkflowID(in.BatchID), Request: workflows.BatchDigest(in), IssuedAt: start, ExpiresAt: start.Add(5 * time.Minute)})
	require.NoError(f.t, err)
	in.Credential = tok
	return in
}

// register registers the batch, the fake child and the activities (ReadBatchItems real,
// ResolvePerson a fake over f.emails).
func (f *batchFixture) register() {
	w := &workflows.Workflows{Policy: f.policy, Batches: f.opts}
	f.env.RegisterWorkflowWithOptions(w.Batch, workflow.RegisterOptions{Name: workflows.BatchWorkflowType})
	f.env.RegisterWorkflowWithOptions(f.child, workflow.RegisterOptions{Name: workflows.WorkflowType})
	f.env.RegisterActivity(&activities.Activities{Store: f.store})
	f.env.OnActivity("ResolvePerson", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ResolveInput) (activities.Resolution, error) {
			if u, ok := f.emails[in.Value]; ok {
				return activities.Resolution{UserID: u, By: in.By, Field: "email"}, nil
			}
			return activities.Resolution{}, temporal.NewNonRetryableApplicationError(
				"no active or inactive Genesys user has that email; check it, or send the Genesys user ID instead", activities.ErrPersonUnknown, nil)
		}).Maybe()
}

// run runs the batch to its end and returns its result and error.
func (f *batchFixture) run(in workflows.BatchInput) (workflows.BatchStatus, error) {
	f.t.Helper()
	f.register()
	f.env.ExecuteWorkflow(workflows.BatchWorkflowType, in)
	require.True(f.t, f.env.IsWorkflowCompleted(), "the batch did not complete")
	var s workflows.BatchStatus
	err := f.env.GetWorkflowError()
	if err == nil {
		require.NoError(f.t, f.env.GetWorkflowResult(&s))
	}
	return s, err
}

// child is the fake Offboarding: it reports its access ended after ten minutes, then works and
// reports its outcome, or waits and reports that.
func (f *batchFixture) child(ctx workflow.Context, req workflows.Request) (workflows.Result, error) {
	if req.Batch == nil { // an offboarding started elsewhere only runs
		return workflows.Result{Outcome: workflows.OutcomeArchived}, workflow.Sleep(ctx, 60*day)
	}
	plan := f.plans[req.UserID]
	f.mu.Lock()
	f.started = append(f.started, req)
	f.working++
	f.maxWorking = max(f.maxWorking, f.working)
	f.mu.Unlock()
	if plan.spawn != "" {
		opts := workflow.ChildWorkflowOptions{WorkflowID: workflows.WorkflowID(plan.spawn), ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON}
		c := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), workflows.WorkflowType, byID(plan.spawn))
		if err := c.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			return workflows.Result{}, err
		}
	}
	info := workflow.GetInfo(ctx)
	report := func(p workflows.BatchProgress) {
		p.Line, p.WorkflowID, p.RunID = req.Batch.Line, info.WorkflowExecution.ID, info.WorkflowExecution.RunID
		_ = workflow.SignalExternalWorkflow(ctx, workflows.BatchWorkflowID(req.Batch.ID), "", workflows.SignalBatchProgress, p).Get(ctx, nil)
	}
	done := func() {
		f.mu.Lock()
		f.working--
		f.mu.Unlock()
	}
	if err := workflow.Sleep(ctx, 10*time.Minute); err != nil {
		return workflows.Result{}, err
	}
	ended := workflow.Now(ctx).UTC()
	// Access has ended: the run no longer counts as in flight.
	done()
	report(workflows.BatchProgress{Stage: workflows.StageExporting, AccessEndedAt: ended})
	if plan.wait {
		report(workflows.BatchProgress{Stage: workflows.StageAwaitingApproval, Waiting: true})
		_ = workflow.Sleep(ctx, 30*day)
		report(workflows.BatchProgress{Stage: workflows.OutcomeDeleted, Outcome: workflows.OutcomeDeleted})
		return workflows.Result{Outcome: workflows.OutcomeDeleted}, nil
	}
	work := plan.work
	if work == 0 {
		work = time.Hour
	}
	if err := workflow.Sleep(ctx, work); err != nil {
		return workflows.Result{}, err
	}
	report(workflows.BatchProgress{Stage: workflows.OutcomeArchived, Outcome: workflows.OutcomeArchived})
	return workflows.Result{Outcome: workflows.OutcomeArchived, Report: workflows.Report{AccessEndedAt: ended}}, nil
}

// startedUsers are the users whose offboardings the batch started, in order.
func (f *batchFixture) startedUsers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.started))
	for i, r := range f.started {
		out[i] = r.UserID
	}
	return out
}

// status queries the batch's status.
func (f *batchFixture) status() workflows.BatchStatus {
	f.t.Helper()
	v, err := f.env.QueryWorkflow(workflows.QueryStatus)
	require.NoError(f.t, err)
	var s workflows.BatchStatus
	require.NoError(f.t, v.Get(&s))
	return s
}

// items queries a page of the batch's items.
func (f *batchFixture) items(q workflows.BatchItemsQuery) (workflows.BatchItemsPage, error) {
	v, err := f.env.QueryWorkflow(workflows.QueryBatchItems, q)
	if err != nil {
		return workflows.BatchItemsPage{}, err
	}
	var p workflows.BatchItemsPage
	require.NoError(f.t, v.Get(&p))
	return p, nil
}

// control is a batch control's payload, signed for action by role hr for this batch now.
func (f *batchFixture) control(action credential.Action) workflows.SignedDecision {
	return f.controlUntil(action, f.env.Now().UTC().Add(credential.DefaultTTL))
}

// controlUntil is a control's payload that expires at exp.
func (f *batchFixture) controlUntil(action credential.Action, exp time.Time) workflows.SignedDecision {
	t := f.env.Now().UTC()
	tok, err := testSigner.Issue(credential.Claims{Issuer: "test-hrapi", Identity: "hr-lead", Role: credential.RoleHR, Action: action,
		WorkflowID: workflows.BatchWorkflowID(testBatchID), RunID: testRunID, IssuedAt: t, ExpiresAt: exp})
	require.NoError(f.t, err)
	return workflows.SignedDecision{Credential: tok}
}

// update sends a batch control as an update and returns its outcome once answered.
func (f *batchFixture) update(name string, payload any) *updateResult {
	res := &updateResult{}
	f.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept:   func() { res.accepted = true },
		OnReject:   func(err error) { res.rejected = err },
		OnComplete: func(any, error) {},
	}, payload)
	return res
}

// at schedules fn at offset d of workflow time from the start.
func (f *batchFixture) at(d time.Duration, fn func()) { f.env.RegisterDelayedCallback(fn, d) }
