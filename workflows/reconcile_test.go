package workflows_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/workflows"
)

const reconcileRun = workflows.ReconciliationIDPrefix + "scheduled-2026-11-02T09:00:00Z"

// reconcileFixture runs a Reconciliation whose Reconcile finds two terminated-but-active
// people (one with the roster's disposition), one rehire and one unknown row, and whose batch
// is a stub that records how it was started.
type reconcileFixture struct {
	env      *testsuite.TestWorkflowEnvironment
	inputs   []activities.ReconcileInput
	stored   []activities.ReconciliationBatchInput
	notified []activities.Notification
	batches  []workflows.BatchInput
	batchIDs []string
}

var reconcileFindings = []activities.Finding{
	{Line: 2, Kind: activities.FindingTerminatedActive, UserID: userID},
	{Line: 3, Kind: activities.FindingTerminatedActive, UserID: "5a1b2c3d-0000-4000-8000-000000000003", Disposition: "delete"},
	{Line: 4, Kind: activities.FindingRehire, UserID: "5a1b2c3d-0000-4000-8000-000000000004", WorkflowID: "offboarding-5a1b2c3d-0000-4000-8000-000000000004"},
	{Line: 5, Kind: activities.FindingUnknown},
}

func newReconcileFixture(t *testing.T, settings workflows.ReconcileSettings) *reconcileFixture {
	var suite testsuite.WorkflowTestSuite
	f := &reconcileFixture{env: suite.NewTestWorkflowEnvironment()}
	f.env.SetStartTime(start)
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: reconcileRun, TaskQueue: workflows.TaskQueue})
	(&workflows.Workflows{Policy: testPolicy(), Reconcile: settings}).Register(f.env)
	f.env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.BatchInput) error {
		f.batches = append(f.batches, in)
		f.batchIDs = append(f.batchIDs, workflow.GetInfo(ctx).WorkflowExecution.ID)
		return nil
	}, workflow.RegisterOptions{Name: workflows.BatchWorkflowType, DisableAlreadyRegisteredCheck: true})
	f.env.OnActivity(acts.Reconcile, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReconcileInput) (activities.Reconciliation, error) {
		f.inputs = append(f.inputs, in)
		return activities.Reconciliation{Counts: map[string]int{"terminated-active": 2, "rehire-in-flight": 1, "unknown": 1},
			ReportURL: "mem://exports/" + activities.ReconciliationKey(in.Run), Findings: reconcileFindings}, nil
	}).Maybe()
	f.env.OnActivity(acts.WriteReconciliationBatch, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReconciliationBatchInput) (bundle.BatchItems, error) {
		f.stored = append(f.stored, in)
		return bundle.BatchItems{Key: bundle.BatchItemsKey(in.BatchID), Count: len(in.Items), SHA256: "feed"}, nil
	}).Maybe()
	f.env.OnActivity(acts.Notify, mock.Anything, mock.Anything).Return(func(_ context.Context, n activities.Notification) error {
		f.notified = append(f.notified, n)
		return nil
	}).Maybe()
	return f
}

func (f *reconcileFixture) run(t *testing.T) (workflows.ReconciliationResult, error) {
	f.env.ExecuteWorkflow(workflows.ReconciliationWorkflowType, workflows.ReconciliationInput{})
	require.True(t, f.env.IsWorkflowCompleted())
	var res workflows.ReconciliationResult
	err := f.env.GetWorkflowError()
	if err == nil {
		require.NoError(t, f.env.GetWorkflowResult(&res))
	}
	return res, err
}

var reportOnly = workflows.ReconcileSettings{RosterURL: "s3://hr/leavers.csv", Action: workflows.ReconcileReport, Disposition: workflows.DispositionArchive}

func Test_GivenTheReportPolicy_ShouldReportAndNotifyWithoutStartingABatch(t *testing.T) {
	f := newReconcileFixture(t, reportOnly)
	res, err := f.run(t)
	require.NoError(t, err)
	assert.Equal(t, workflows.ReconciliationResult{Counts: map[string]int{"terminated-active": 2, "rehire-in-flight": 1, "unknown": 1},
		ReportURL: "mem://exports/reconciliations/" + reconcileRun + "/report.json"}, res)
	require.Len(t, f.inputs, 1)
	in := f.inputs[0]
	assert.Equal(t, "s3://hr/leavers.csv", in.RosterURL)
	assert.Equal(t, reconcileRun, in.Run)
	assert.Equal(t, []string{"archive", "delete"}, in.Dispositions)
	assert.Equal(t, "offboarding-", in.WorkflowIDPrefix)
	assert.Contains(t, in.Offboardings, "ExecutionStatus = 'Running'")
	assert.Contains(t, in.Offboardings, "OffboardingStage IN ('archived', 'deleted')")
	assert.Empty(t, f.stored)
	assert.Empty(t, f.batches)
	require.Len(t, f.notified, 1)
	n := f.notified[0]
	assert.Equal(t, workflows.EventReconciliationCompleted, n.Event)
	assert.Equal(t, res.Counts, n.Counts)
	assert.Equal(t, res.ReportURL, n.ReportURL)
	assert.Equal(t, "reconciliation: rehire-in-flight 1, terminated-active 2, unknown 1", n.Message)
}

func Test_GivenTheOffboardPolicy_ShouldStartOneBatchOfTheTerminatedActivePeopleAsAChild(t *testing.T) {
	settings := reportOnly
	settings.Action = workflows.ReconcileOffboard
	f := newReconcileFixture(t, settings)
	// The run's ID holds the schedule's time, whose colons no batch ID may hold.
	batchID := "reconciliation-scheduled-2026-11-02T09-00-00Z"
	require.True(t, workflows.ValidBatchID(batchID))
	res, err := f.run(t)
	require.NoError(t, err)
	assert.Equal(t, workflows.BatchWorkflowID(batchID), res.BatchWorkflowID)

	require.Len(t, f.stored, 1)
	assert.Equal(t, batchID, f.stored[0].BatchID)
	var items []workflows.BatchItem
	for _, raw := range f.stored[0].Items {
		var it workflows.BatchItem
		require.NoError(t, json.Unmarshal(raw, &it))
		items = append(items, it)
	}
	reason := "reconciliation " + reconcileRun + ": HR terminated, Genesys active"
	assert.Equal(t, []workflows.BatchItem{
		{Line: 2, Request: workflows.Request{UserID: userID, Disposition: workflows.DispositionArchive, RequestedBy: workflows.ReconciliationRequester, Reason: reason}},
		{Line: 3, Request: workflows.Request{UserID: reconcileFindings[1].UserID, Disposition: workflows.DispositionDelete, RequestedBy: workflows.ReconciliationRequester, Reason: reason}},
	}, items, "the rehire and the unknown row are reported only")

	require.Len(t, f.batches, 1)
	assert.Equal(t, []string{workflows.BatchWorkflowID(batchID)}, f.batchIDs)
	b := f.batches[0]
	assert.Equal(t, workflows.BatchInput{BatchID: batchID, RequestedBy: workflows.ReconciliationRequester, RequestedAt: start,
		Items: bundle.BatchItems{Key: bundle.BatchItemsKey(batchID), Count: 2, SHA256: "feed"}}, b, "no credential: the batch trusts its reconciliation parent")
	require.Len(t, f.notified, 1)
	assert.Contains(t, f.notified[0].Message, "started batch "+workflows.BatchWorkflowID(batchID))
}

func Test_GivenNoRosterURL_ShouldFailWithoutReadingAnything(t *testing.T) {
	f := newReconcileFixture(t, workflows.ReconcileSettings{Action: workflows.ReconcileReport, Disposition: workflows.DispositionArchive})
	_, err := f.run(t)
	var ae *temporal.ApplicationError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, activities.ErrInvalidInput, ae.Type())
	assert.Contains(t, err.Error(), "OFFBOARD_RECONCILE_ROSTER_URL")
	assert.Empty(t, f.inputs)
	assert.Empty(t, f.notified)
}
