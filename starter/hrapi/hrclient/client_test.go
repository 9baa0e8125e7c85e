package hrclient_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/webhook"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

const (
	userID  = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	missing = "9b2c8e1a-1d7e-4a51-8f1e-2f5a3c4d5e6f"
)

// fakeTemporal is the part of Temporal the HR API uses, holding one offboarding a user in
// memory. Updates change the status as the workflow would; a release without a hold and a
// decision by mallory are rejected as the workflow's validators reject them.
type fakeTemporal struct {
	client.Client // every method the API does not use panics
	mu            sync.Mutex
	runs          map[string]*fakeRun
	down          bool
}

type fakeRun struct {
	client.WorkflowRun
	id, runID, hrEvent string
	st                 workflows.Status
	// batch is a batch's status; nil for an offboarding.
	batch *workflows.BatchStatus
}

func (r *fakeRun) GetID() string    { return r.id }
func (r *fakeRun) GetRunID() string { return r.runID }

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in, ok := args[0].(workflows.BatchInput); ok {
		f.runs[o.ID] = startBatch(o.ID, in)
		return f.runs[o.ID], nil
	}
	req := args[0].(workflows.Request)
	r := &fakeRun{id: o.ID, runID: "run-1", hrEvent: o.Memo[hrapi.MemoHREventID].(string), st: workflows.Status{
		Report: workflows.Report{WorkflowID: o.ID, UserID: req.UserID}, Disposition: req.Disposition, Stage: workflows.StageAwaitingApproval,
		RequestedBy: req.RequestedBy, ApprovalsRequired: 1,
	}}
	f.runs[o.ID] = r
	return r, nil
}

func (f *fakeTemporal) run(id string) (*fakeRun, error) {
	r, ok := f.runs[id]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return r, nil
}

func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.run(id)
	if err != nil {
		return nil, err
	}
	memo, err := converter.GetDefaultDataConverter().ToPayload(r.hrEvent)
	if err != nil {
		return nil, err
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: r.runID},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		Memo:      &commonpb.Memo{Fields: map[string]*commonpb.Payload{hrapi.MemoHREventID: memo}},
	}}, nil
}

func (f *fakeTemporal) QueryWorkflow(_ context.Context, id, _, query string, args ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.run(id)
	if err != nil {
		return nil, err
	}
	var answer any = r.st
	if r.batch != nil {
		answer = batchAnswer(r, query, args)
	}
	p, err := converter.GetDefaultDataConverter().ToPayloads(answer)
	if err != nil {
		return nil, err
	}
	return encoded{p}, nil
}

type encoded struct{ p *commonpb.Payloads }

func (e encoded) HasValue() bool { return e.p != nil }
func (e encoded) Get(v any) error {
	return converter.GetDefaultDataConverter().FromPayloads(e.p, v)
}

type updateDone struct {
	client.WorkflowUpdateHandle
	err error
}

func (u updateDone) Get(context.Context, any) error { return u.err }

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.run(o.WorkflowID)
	if err != nil {
		return nil, err
	}
	st := &r.st
	in, ok := o.Args[0].(workflows.SignedDecision)
	if !ok {
		return nil, fmt.Errorf("the API sent a %T, not a credential", o.Args[0])
	}
	c, err := credential.NewKeySet(testSigner.PublicKey()).Verify(in.Credential, time.Now())
	if err != nil {
		return nil, err
	}
	if r.batch != nil {
		return controlBatch(r.batch, o.UpdateName, c), nil
	}
	switch o.UpdateName {
	case workflows.UpdateApprove, workflows.UpdateReject:
		if c.Identity == "mallory" {
			return updateDone{err: temporal.NewApplicationError("mallory is not on the approvers' list", "Rejected")}, nil
		}
		st.Decisions = append(st.Decisions, activities.Decision{Approver: c.Identity, Approve: o.UpdateName == workflows.UpdateApprove, Comment: c.Comment})
	case workflows.UpdateRelease:
		if !st.OnHold {
			return updateDone{err: temporal.NewApplicationError("no legal hold to release", "Rejected")}, nil
		}
		st.OnHold = false
	case workflows.UpdateHold:
		st.OnHold = true
	case workflows.UpdateCancel:
		st.Stage, st.Outcome = workflows.OutcomeCancelled, workflows.OutcomeCancelled
	case workflows.UpdateExtendRetention:
		st.RetentionUntil = c.Until
	}
	return updateDone{}, nil
}

func (f *fakeTemporal) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*workflowpb.WorkflowExecutionInfo
	dc := converter.GetDefaultDataConverter()
	for _, r := range f.runs {
		sa := map[string]*commonpb.Payload{}
		for name, v := range map[string]string{workflows.SAGenesysUserID: r.st.UserID, workflows.SAStage: string(r.st.Stage), workflows.SADisposition: string(r.st.Disposition)} {
			p, err := dc.ToPayload(v)
			if err != nil {
				return nil, err
			}
			sa[name] = p
		}
		out = append(out, &workflowpb.WorkflowExecutionInfo{
			Execution:        &commonpb.WorkflowExecution{WorkflowId: r.id, RunId: r.runID},
			Status:           enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: sa},
		})
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: out}, nil
}

func (f *fakeTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	if f.down {
		return nil, serviceerror.NewUnavailable("down")
	}
	return &client.CheckHealthResponse{}, nil
}

// served records which of the API's routes the requests matched.
type served struct {
	mu       sync.Mutex
	mux      *http.ServeMux
	patterns map[string]bool
}

func newServed() *served {
	s := &served{mux: http.NewServeMux(), patterns: map[string]bool{}}
	for _, r := range hrapi.Routes() {
		s.mux.HandleFunc(r.Pattern(), func(http.ResponseWriter, *http.Request) {})
	}
	return s
}

func (s *served) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, p := s.mux.Handler(r); p != "" {
			s.mu.Lock()
			s.patterns[p] = true
			s.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// testSigner is the API's signing key in these tests.
var testSigner = func() *credential.Signer {
	s, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, ed25519.SeedSize)), hrapi.Issuer)
	if err != nil {
		panic(err)
	}
	return s
}()

// newAPI serves the real HR API over fake Temporal; seen records the routes it served.
var eventSecret = func() webhook.Secret {
	s, err := webhook.ParseSecret("whsec_b2ZmYm9hcmQtZGV2LXdlYmhvb2stc2VjcmV0LTAx")
	if err != nil {
		panic(err)
	}
	return s
}()

func newAPI(t *testing.T) (base string, temporal *fakeTemporal, seen *served) {
	t.Helper()
	temporal = &fakeTemporal{runs: map[string]*fakeRun{}}
	policy := workflows.DefaultPolicy()
	policy.Approvers = []string{"alice", "mallory"}
	policy.DecisionKeys = []string{credential.EncodePublicKey(testSigner.PublicKey())}
	h, err := hrapi.New(hrapi.Options{Temporal: temporal, Policy: policy, Signer: testSigner, EventSecrets: []webhook.Secret{eventSecret}, Tokens: []config.Token{
		config.NewToken("hr-token-0123456789", config.RoleHR, "workday"),
		config.NewToken("alice-token-0123456789", config.RoleApprover, "alice"),
		config.NewToken("mallory-token-0123456789", config.RoleApprover, "mallory"),
	}, Store: testStore(t)})
	require.NoError(t, err)
	seen = newServed()
	srv := httptest.NewServer(seen.wrap(h))
	t.Cleanup(srv.Close)
	return srv.URL, temporal, seen
}

func requireProblem(t *testing.T, err error, status int) *hrapi.Problem {
	t.Helper()
	var p *hrapi.Problem
	require.True(t, errors.As(err, &p), "want a *hrapi.Problem, got %v", err)
	require.Equal(t, status, p.Status, "%v", p)
	return p
}

func Test_GivenTheHRAPI_ShouldAnswerEveryOperationWithItsOwnTypes(t *testing.T) {
	base, _, seen := newAPI(t)
	ctx := context.Background()
	hr := hrclient.New(base+"/", "hr-token-0123456789", nil)
	alice := hrclient.New(base, "alice-token-0123456789", &http.Client{Timeout: 10 * time.Second})
	public := hrclient.New(base, "", nil)

	require.NoError(t, public.Health(ctx))
	require.NoError(t, public.Ready(ctx))
	doc, err := public.OpenAPI(ctx)
	require.NoError(t, err)
	assert.Equal(t, hrapi.OpenAPI, doc)
	problemPage, err := public.ProblemPage(ctx, hrapi.TypeUnavailable)
	require.NoError(t, err)
	assert.Contains(t, string(problemPage), "Temporal unavailable", "a problem's type is the path of its page")

	req := hrapi.OffboardingRequest{UserID: userID, Disposition: "delete", Reason: "resigned", HREventID: "evt-1"}
	res, err := hr.Start(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, hrapi.StartResult{WorkflowID: workflows.WorkflowID(userID), RunID: "run-1"}, res)
	again, err := hr.Start(ctx, req)
	require.NoError(t, err)
	assert.True(t, again.Existing, "a redelivery answers the run it started")

	st, err := alice.Status(ctx, userID)
	require.NoError(t, err)
	assert.Equal(t, workflows.StageAwaitingApproval, st.Stage)
	assert.Equal(t, "workday", st.RequestedBy)

	page, err := alice.List(ctx, hrapi.ListQuery{Stage: string(workflows.StageAwaitingApproval), Disposition: "delete", PageSize: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, userID, page.Items[0].UserID)

	st, err = alice.Approve(ctx, userID, "ok")
	require.NoError(t, err)
	require.Len(t, st.Decisions, 1)
	assert.Equal(t, "alice", st.Decisions[0].Approver)
	st, err = alice.Reject(ctx, userID, "changed my mind")
	require.NoError(t, err)
	require.Len(t, st.Decisions, 2)
	assert.False(t, st.Decisions[1].Approve)

	st, err = hr.Hold(ctx, userID, "litigation")
	require.NoError(t, err)
	assert.True(t, st.OnHold)
	st, err = hr.Release(ctx, userID, "")
	require.NoError(t, err)
	assert.False(t, st.OnHold)
	until := time.Date(2031, 1, 31, 0, 0, 0, 0, time.UTC)
	st, err = hr.ExtendRetention(ctx, userID, until, "audit")
	require.NoError(t, err)
	assert.Equal(t, until, st.RetentionUntil)
	issued, err := alice.IssueCredential(ctx, userID, hrapi.CredentialRequest{Action: "approve", Comment: "by link"})
	require.NoError(t, err)
	assert.Equal(t, "alice", issued.Identity)
	d, err := public.InspectDecision(ctx, issued.Credential)
	require.NoError(t, err)
	assert.Equal(t, "by link", d.Comment)
	st, err = public.FollowDecision(ctx, issued.Credential)
	require.NoError(t, err)
	require.Len(t, st.Decisions, 3)
	assert.Equal(t, "by link", st.Decisions[2].Comment)
	event := []byte(`{"specversion":"1.0","id":"term-1","source":"/hr/workday","type":"` + hrapi.EventTypeTerminated +
		`","datacontenttype":"application/json","data":{"genesysUserId":"9b2f3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d","disposition":"archive"}}`)
	first, err := public.SendEvent(ctx, event, eventSecret, "msg_1")
	require.NoError(t, err)
	assert.False(t, first.Existing)
	redelivered, err := public.SendEvent(ctx, event, eventSecret, "msg_1")
	require.NoError(t, err, "a redelivery is signed afresh and answers the run it started")
	assert.True(t, redelivered.Existing)
	assert.Equal(t, first.RunID, redelivered.RunID)
	forged, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	_, err = public.SendEvent(ctx, event, forged, "msg_2")
	requireProblem(t, err, http.StatusUnauthorized)

	st, err = hr.Cancel(ctx, userID, "rehired")
	require.NoError(t, err)
	assert.Equal(t, workflows.OutcomeCancelled, st.Outcome)

	exerciseBatches(t, hr)

	var want []string
	for _, r := range hrapi.Routes() {
		// The codec server speaks Temporal's codec protocol, to the Web UI and the temporal CLI.
		if !strings.HasPrefix(r.Path, "/codec/") {
			want = append(want, r.Pattern())
		}
	}
	var got []string
	for p := range seen.patterns {
		got = append(got, p)
	}
	assert.ElementsMatch(t, want, got, "the client has a method for every route")
}

func Test_GivenFailures_ShouldReturnTheAPIsProblemTyped(t *testing.T) {
	base, temporal, _ := newAPI(t)
	ctx := context.Background()
	hr := hrclient.New(base, "hr-token-0123456789", nil)
	mallory := hrclient.New(base, "mallory-token-0123456789", nil)

	_, err := hr.Start(ctx, hrapi.OffboardingRequest{UserID: "not-a-uuid", Disposition: "erase"})
	p := requireProblem(t, err, http.StatusBadRequest)
	assert.Equal(t, hrapi.TypeInvalidRequest, p.Type)
	assert.Equal(t, "Invalid request", p.Title)
	var fields []string
	for _, f := range p.Errors {
		fields = append(fields, f.Field)
	}
	assert.Subset(t, fields, []string{"userId", "disposition", "reason", "hrEventId"})

	_, err = hrclient.New(base, "", nil).Status(ctx, userID)
	assert.Equal(t, hrapi.TypeUnauthorized, requireProblem(t, err, http.StatusUnauthorized).Type)
	_, err = hrclient.New(base, "wrong-token-0123456789", nil).Status(ctx, userID)
	requireProblem(t, err, http.StatusUnauthorized)
	_, err = hr.Approve(ctx, userID, "")
	assert.Equal(t, hrapi.TypeForbidden, requireProblem(t, err, http.StatusForbidden).Type)
	_, err = hr.Status(ctx, missing)
	p = requireProblem(t, err, http.StatusNotFound)
	assert.Equal(t, "/v1/offboardings/"+missing, p.Instance)
	_, err = hr.Cancel(ctx, missing, "")
	requireProblem(t, err, http.StatusNotFound)
	_, err = hr.List(ctx, hrapi.ListQuery{Stage: "bogus"})
	requireProblem(t, err, http.StatusBadRequest)

	_, err = hr.Start(ctx, hrapi.OffboardingRequest{UserID: userID, Disposition: "delete", Reason: "left", HREventID: "evt-1"})
	require.NoError(t, err)
	_, err = hr.Start(ctx, hrapi.OffboardingRequest{UserID: userID, Disposition: "archive", Reason: "left", HREventID: "evt-2"})
	p = requireProblem(t, err, http.StatusConflict)
	assert.Contains(t, p.Detail, "in flight")
	_, err = mallory.Approve(ctx, userID, "")
	p = requireProblem(t, err, http.StatusConflict)
	assert.Equal(t, hrapi.TypeRejected, p.Type)
	assert.Contains(t, p.Error(), "mallory", "the error reads as the problem")
	_, err = hr.Release(ctx, userID, "")
	requireProblem(t, err, http.StatusConflict)

	temporal.down = true
	assert.Equal(t, hrapi.TypeUnavailable, requireProblem(t, hr.Ready(ctx), http.StatusServiceUnavailable).Type)
}

func Test_GivenAnAnswerThatIsNoProblem_ShouldStillReturnAProblemWithItsStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream connect error", http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := hrclient.New(srv.URL, "t", nil).Status(context.Background(), userID)
	p := requireProblem(t, err, http.StatusBadGateway)
	assert.Equal(t, "Bad Gateway", p.Title)
	assert.Equal(t, "upstream connect error", p.Detail)

	_, err = hrclient.New("http://127.0.0.1:1", "t", nil).Status(context.Background(), userID)
	require.Error(t, err)
	var none *hrapi.Problem
	assert.False(t, errors.As(err, &none), "a transport failure is no problem of the API: %v", err)
}
