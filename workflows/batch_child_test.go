package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

const (
	batchID        = "b-2026-11"
	fakeBatchType  = "FakeBatch"
	batchRequester = "hr-workday"
)

// fakeBatch starts one Offboarding of req as a batch would and returns what the child told it,
// up to its outcome or, once told that it waits, up to that.
func fakeBatch(ctx workflow.Context, req workflows.Request) ([]workflows.BatchProgress, error) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        workflows.WorkflowID(req.UserID),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	child := workflow.ExecuteChildWorkflow(cctx, workflows.WorkflowType, req)
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return nil, err
	}
	var told []workflows.BatchProgress
	ch := workflow.GetSignalChannel(ctx, workflows.SignalBatchProgress)
	for {
		var p workflows.BatchProgress
		ch.Receive(ctx, &p)
		told = append(told, p)
		if p.Outcome != "" || p.Waiting {
			return told, nil
		}
	}
}

// batchInput is the input of the batch the credential signs.
func batchInput() workflows.BatchInput {
	return workflows.BatchInput{BatchID: batchID, RequestedBy: batchRequester, RequestedAt: start}
}

// batchCredential is the start credential the HR API signs for a batch, over digest.
func batchCredential(t *testing.T, identity, digest string) string {
	tok, err := testSigner.Issue(credential.Claims{Identity: identity, Role: credential.RoleHR, Action: credential.ActionStart,
		WorkflowID: workflows.BatchWorkflowID(batchID), Request: digest, IssuedAt: start, ExpiresAt: start.Add(5 * time.Minute)})
	require.NoError(t, err)
	return tok
}

// runInBatch runs req as the child of a fake batch and returns what the child told it.
func runInBatch(t *testing.T, f *fixture, req workflows.Request) []workflows.BatchProgress {
	t.Helper()
	f.workflows = &workflows.Workflows{Policy: f.policy}
	f.workflows.Register(f.env)
	f.env.RegisterWorkflowWithOptions(fakeBatch, workflow.RegisterOptions{Name: fakeBatchType})
	f.otherPath()
	f.mock()
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.BatchWorkflowID(batchID), TaskQueue: workflows.TaskQueue})
	f.env.ExecuteWorkflow(fakeBatchType, req)
	require.True(t, f.env.IsWorkflowCompleted())
	require.NoError(t, f.env.GetWorkflowError())
	var told []workflows.BatchProgress
	require.NoError(t, f.env.GetWorkflowResult(&told))
	return told
}

func batchRequest(t *testing.T, disposition workflows.Disposition) workflows.Request {
	req := archiveRequest()
	if disposition == workflows.DispositionDelete {
		req = deleteRequest()
	}
	in := batchInput()
	req.Batch = &workflows.BatchRef{ID: batchID, Line: 7, AcceptedAt: start, Digest: workflows.BatchDigest(in),
		Credential: batchCredential(t, batchRequester, workflows.BatchDigest(in))}
	return req
}

func Test_GivenArchiveStartedByABatch_ShouldProveItsRequesterAndTellTheBatchAccessThenOutcome(t *testing.T) {
	f := newFixture(t, testPolicy())
	told := runInBatch(t, f, batchRequest(t, workflows.DispositionArchive))

	require.Len(t, told, 2, "access ended, then the outcome: %+v", told)
	assert.Equal(t, 7, told[0].Line)
	assert.Equal(t, workflows.WorkflowID(userID), told[0].WorkflowID)
	assert.False(t, told[0].AccessEndedAt.IsZero(), "the first report says that access has ended")
	assert.Empty(t, told[0].Outcome)
	assert.Equal(t, workflows.OutcomeArchived, told[1].Outcome)
	assert.Equal(t, batchID, f.startSA[workflows.SABatchID], "the run carries its batch's ID for the UI")
}

func Test_GivenDeleteStartedByABatch_ShouldTellTheBatchWhenItStartsWaiting(t *testing.T) {
	f := newFixture(t, testPolicy())
	told := runInBatch(t, f, batchRequest(t, workflows.DispositionDelete))

	require.Len(t, told, 2, "%+v", told)
	assert.Equal(t, workflows.StageAwaitingApproval, told[1].Stage)
	assert.True(t, told[1].Waiting, "a run awaiting approval no longer counts as in flight")
}

func Test_GivenBatchCredentialThatDoesNotFit_ShouldFailTheRunAndTellTheBatch(t *testing.T) {
	for name, change := range map[string]func(*workflows.Request){
		"another batch's digest": func(r *workflows.Request) { r.Batch.Digest = "other" },
		"another requester":      func(r *workflows.Request) { r.RequestedBy = "mallory" },
		"no credential":          func(r *workflows.Request) { r.Batch.Credential = "" },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, testPolicy()).forbidChanges()
			req := batchRequest(t, workflows.DispositionArchive)
			change(&req)
			told := runInBatch(t, f, req)
			require.Len(t, told, 1)
			assert.Equal(t, workflows.OutcomeFailed, told[0].Outcome)
			assert.Contains(t, told[0].Error, "credential")
		})
	}
}

func Test_GivenRequestNamingABatchButStartedDirectly_ShouldRefuseIt(t *testing.T) {
	f := newFixture(t, testPolicy()).forbidChanges()
	req := batchRequest(t, workflows.DispositionArchive)
	f.unsignedStart = true
	_, err := f.run(req)
	appErr := requireAppError(t, err, workflows.ErrInvalidRequest)
	assert.Contains(t, appErr.Error(), "did not start this run")
}
