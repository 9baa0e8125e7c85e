package hrapi

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/workflows"
)

// temporalMode is what a contractTemporal knows of the offboarding of uid.
type temporalMode int

const (
	running      temporalMode = iota // running, started by HR event wd-1; every call answers
	absent                           // no offboarding of uid
	finished                         // completed: no update applies
	down                             // every call fails as a Temporal frontend that is unreachable
	garbled                          // running, but its status query answers what no Status decodes from
	eventRunning                     // running, started by the contract's HR event (contractEvent)
	eventsOff                        // as absent, and the API has no event secret
)

// contractEvent is the HR event of the eventRunning run.
const contractEvent = "evt-1"

// contractTemporal answers every call the API makes, as realistically as the mode allows: the
// status query answers a Status with every field set.
type contractTemporal struct {
	runningTemporal
	mode temporalMode
}

var errUnreachable = serviceerror.NewUnavailable("connection refused: dial tcp 10.0.0.7:7233")

func (f *contractTemporal) DescribeWorkflowExecution(ctx context.Context, id, run string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	hrEventID := "wd-1"
	switch f.mode {
	case absent, eventsOff:
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	case down:
		return nil, errUnreachable
	case eventRunning:
		hrEventID = EventKey(eventSource, contractEvent)
	}
	desc, _ := f.runningTemporal.DescribeWorkflowExecution(ctx, id, run)
	event, _ := converter.GetDefaultDataConverter().ToPayload(hrEventID)
	desc.WorkflowExecutionInfo.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{MemoHREventID: event}}
	if f.mode == finished {
		desc.WorkflowExecutionInfo.Status = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}
	return desc, nil
}

func (f *contractTemporal) QueryWorkflow(_ context.Context, id, _, query string, _ ...any) (converter.EncodedValue, error) {
	switch f.mode {
	case absent:
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	case down:
		return nil, errUnreachable
	case garbled:
		return jsonValue{v: "not a status"}, nil
	}
	if batchID, ok := workflows.BatchIDFromWorkflowID(id); ok {
		return batchAnswer(batchID, query), nil
	}
	return jsonValue{v: fullStatus()}, nil
}

func (f *contractTemporal) ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	if f.mode == down {
		return nil, errUnreachable
	}
	resp, _ := f.fakeTemporal.ListWorkflow(ctx, req)
	sa := map[string]*commonpb.Payload{}
	for name, v := range map[string]string{workflows.SAGenesysUserID: uid, workflows.SAStage: "retention", workflows.SADisposition: "delete", workflows.SARequestedBy: "workday"} {
		sa[name], _ = converter.GetDefaultDataConverter().ToPayload(v)
	}
	resp.Executions = []*workflowpb.WorkflowExecutionInfo{{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.WorkflowID(uid), RunId: "run-1"},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, SearchAttributes: &commonpb.SearchAttributes{IndexedFields: sa},
		StartTime: timestamppb.New(now.Add(-time.Hour)), CloseTime: timestamppb.New(now),
	}}
	resp.NextPageToken = []byte("page-2")
	return resp, nil
}

func (f *contractTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	if f.mode == down {
		return nil, errUnreachable
	}
	return &client.CheckHealthResponse{}, nil
}

// jsonValue is a query answer holding v.
type jsonValue struct{ v any }

func (j jsonValue) HasValue() bool { return true }

func (j jsonValue) Get(ptr any) error {
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

// fullStatus is a status with every field set, as a deleted run that was once cancelled and
// restored could not hold but the document must describe.
func fullStatus() workflows.Status {
	step := activities.StepResult{Step: activities.StepQueues, Changed: true, Before: json.RawMessage(`{"queues":["q1"]}`),
		After: json.RawMessage(`{"queues":[]}`), Warnings: []string{"group membership left"}, Verification: "read back", NoReadBack: true, VerifiedAt: now}
	return workflows.Status{
		Report: workflows.Report{
			WorkflowID: workflows.WorkflowID(uid), UserID: uid, DryRun: true, WouldEnd: workflows.OutcomeDeleted, WouldHappen: []string{"delete the user"},
			Export: &activities.ExportSummary{Bundle: "s3://bucket/b", ManifestURL: "s3://bucket/b/manifest.json", ManifestSHA256: strings.Repeat("a", 64),
				Parts: 2, Conversations: 10, Bytes: 1 << 20, Windows: 3},
			Exporting:     &activities.ExportProgress{Windows: 3, WindowsDone: 1, Conversations: 4, Job: "PENDING", Attempt: 1, At: now},
			Verification:  &activities.Verification{State: genesys.StateDeleted, Count: 10, ManifestCount: 10, Linked: true, CheckedAt: now},
			Audit:         &activities.AuditRef{URL: "s3://bucket/b/audit.json", SHA256: strings.Repeat("b", 64)},
			AccessEndedAt: now, SkippedSteps: []activities.AccessStep{activities.StepReports},
			Access: []activities.StepResult{step}, Restored: []activities.StepResult{step}, NotRestored: []string{"tokens cannot be restored"},
			OAuthClients: []genesys.OAuthClientRef{{ID: "c1", Name: "a client"}},
		},
		Disposition: workflows.DispositionDelete, Stage: workflows.OutcomeDeleted, Outcome: workflows.OutcomeDeleted,
		RequestedBy: "workday", RequestedAt: now, EffectiveAt: now, ApprovalsRequired: 1,
		Decisions:        []activities.Decision{{Approver: "alice", Approve: true, Comment: "ok", At: now, Via: "update", CredentialID: "jti-1", Unsigned: true}},
		ApprovalDeadline: now, RetentionUntil: now, OnHold: true, Deactivated: true, Notes: []string{"notification failed"},
		Ignored: &activities.IgnoredMessages{Total: 2, Other: 1,
			Counts: []activities.IgnoredCount{{Message: "approve", Reason: "no credential", Sender: "unverified", Count: 1}},
			Last:   []activities.IgnoredMessage{{Message: "approve", Reason: "no credential", Sender: "unverified", Detail: "d", At: now}}},
		UnsignedDecisions: true,
		History:           []activities.Transition{{Stage: "checking", At: now, Detail: "started"}},
		Summary:           "deleted",
	}
}

func Test_GivenTheFullStatus_ShouldSetEveryField(t *testing.T) {
	b, err := json.Marshal(fullStatus())
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(b, &fields))
	require.ElementsMatch(t, fieldNames(reflect.TypeFor[workflows.Status]()), keys(fields), "the contract test's status must set every field, so the document is checked against each")
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
