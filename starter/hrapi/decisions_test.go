package hrapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
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
	"golang.org/x/time/rate"

	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

// runningTemporal knows one running offboarding of uid and records the updates sent to it.
type runningTemporal struct {
	fakeTemporal
	updates []client.UpdateWorkflowOptions
}

func (f *runningTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution:  &commonpb.WorkflowExecution{WorkflowId: workflows.WorkflowID(uid), RunId: "run-2"},
		FirstRunId: "run-1", Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	}}, nil
}

func (f *runningTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.updates = append(f.updates, o)
	return doneUpdate{}, nil
}

func (f *runningTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, context.DeadlineExceeded
}

type doneUpdate struct{ client.WorkflowUpdateHandle }

func (doneUpdate) Get(context.Context, any) error { return nil }

func newRunningAPI(t *testing.T, change func(*Options)) (http.Handler, *runningTemporal, *testClock) {
	t.Helper()
	temporal := &runningTemporal{}
	clock := &testClock{t: now}
	opts := Options{Temporal: temporal, Policy: testPolicy(), Signer: testSigner, Now: clock.Now, Tokens: testTokens()}
	if change != nil {
		change(&opts)
	}
	h, err := New(opts)
	require.NoError(t, err)
	return h, temporal, clock
}

func asApprover() map[string]string {
	return map[string]string{"Authorization": "Bearer " + approverSecret, "Content-Type": "application/json"}
}

func Test_GivenCredentialRequests_ShouldIssueOnlyWhatTheRoleMayDecide(t *testing.T) {
	h, _, _ := newRunningAPI(t, nil)
	path := "/v1/offboardings/" + uid + "/credentials"
	cases := []struct {
		name   string
		header map[string]string
		body   string
		code   int
		want   string
	}{
		{"approver approves", asApprover(), `{"action":"approve","comment":"ok"}`, http.StatusCreated, ""},
		{"hr holds", asHR(), `{"action":"hold","reason":"x"}`, http.StatusBadRequest, "reason"},
		{"hr cancels", asHR(), `{"action":"cancel","comment":"rehired"}`, http.StatusCreated, ""},
		{"hr may not approve", asHR(), `{"action":"approve"}`, http.StatusForbidden, "may not approve"},
		{"approver may not cancel", asApprover(), `{"action":"cancel"}`, http.StatusForbidden, "may not cancel"},
		{"unknown action", asApprover(), `{"action":"delete"}`, http.StatusBadRequest, "action"},
		{"retention needs until", asHR(), `{"action":"extendRetention"}`, http.StatusBadRequest, "until"},
		{"until only for retention", asApprover(), `{"action":"approve","until":"2030-02-01T00:00:00Z"}`, http.StatusBadRequest, "until"},
		{"ttl too long", asApprover(), `{"action":"approve","ttl":"P2D"}`, http.StatusBadRequest, "ttl"},
		{"ttl not ISO", asApprover(), `{"action":"approve","ttl":"1h"}`, http.StatusBadRequest, "ttl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := send(h, "POST", path, tc.body, tc.header)
			require.Equal(t, tc.code, a.code, a.body)
			assert.Contains(t, a.body, tc.want)
		})
	}
}

func Test_GivenAnIssuedCredential_ShouldBindItToTheCallerRunAndDecision(t *testing.T) {
	h, _, _ := newRunningAPI(t, nil)
	a := send(h, "POST", "/v1/offboardings/"+uid+"/credentials", `{"action":"approve","comment":"ok","ttl":"PT1H"}`, asApprover())
	require.Equal(t, http.StatusCreated, a.code, a.body)
	var issued IssuedCredential
	require.NoError(t, json.Unmarshal([]byte(a.body), &issued))

	c, err := credential.NewKeySet(testSigner.PublicKey()).Verify(issued.Credential, now)
	require.NoError(t, err)
	assert.Equal(t, "alice", c.Identity, "the identity is the token's, never the body's")
	assert.Equal(t, credential.RoleApprover, c.Role)
	assert.Equal(t, workflows.WorkflowID(uid), c.WorkflowID)
	assert.Equal(t, "run-1", c.RunID, "bound to the offboarding's first run, which survives continue-as-new")
	assert.Equal(t, credential.ActionApprove, c.Action)
	assert.Equal(t, now.Add(time.Hour), c.ExpiresAt)
	assert.Equal(t, DecisionLink(issued.Credential), issued.Link)
	assert.Equal(t, CredentialMessage{Name: "approve", Input: workflows.SignedDecision{Credential: issued.Credential}}, issued.Message)
}

func Test_GivenADecisionRoute_ShouldSendTheWorkflowACredentialNotAnIdentity(t *testing.T) {
	h, temporal, _ := newRunningAPI(t, nil)
	a := send(h, "POST", "/v1/offboardings/"+uid+"/approvals", `{"decision":"approve","comment":"ok"}`, asApprover())
	require.Equal(t, http.StatusServiceUnavailable, a.code, "the fake answers no status query: %s", a.body)
	require.Len(t, temporal.updates, 1)
	u := temporal.updates[0]
	assert.Equal(t, workflows.UpdateApprove, u.UpdateName)
	require.Len(t, u.Args, 1)
	in, ok := u.Args[0].(workflows.SignedDecision)
	require.True(t, ok, "the update's input is a SignedDecision, got %T", u.Args[0])
	c, err := credential.NewKeySet(testSigner.PublicKey()).Verify(in.Credential, now)
	require.NoError(t, err)
	assert.Equal(t, "alice", c.Identity)
	assert.Equal(t, "ok", c.Comment)
	assert.LessOrEqual(t, c.ExpiresAt.Sub(c.IssuedAt), 5*time.Minute, "a credential the API submits itself lives minutes")
}

func Test_GivenDecisionLinks_ShouldRefuseBadCredentialsCountThemAndNeverEchoThem(t *testing.T) {
	var logs bytes.Buffer
	h, temporal, _ := newRunningAPI(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		o.AuthFailureLimit = RateLimit{Rate: rate.Every(time.Minute), Burst: 2}
	})
	other, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, ed25519.SeedSize)), Issuer)
	require.NoError(t, err)
	foreign, err := other.Issue(credential.Claims{Identity: "alice", Role: credential.RoleApprover, Action: credential.ActionApprove,
		WorkflowID: workflows.WorkflowID(uid), RunID: "run-1", IssuedAt: now, ExpiresAt: now.Add(time.Minute)})
	require.NoError(t, err)

	a := send(h, "GET", DecisionLink(foreign), "", nil)
	assert.Equal(t, http.StatusUnauthorized, a.code, a.body)
	assert.Contains(t, a.body, "unknown-key")
	assert.NotContains(t, a.body, foreign[:30], "the problem never echoes the credential")
	assert.Contains(t, a.body, "/v1/decisions/{credential}")
	a = send(h, "POST", DecisionLink(foreign+"x"), "", nil)
	assert.Equal(t, http.StatusUnauthorized, a.code, a.body)
	a = send(h, "POST", DecisionLink(foreign), "", nil)
	assert.Equal(t, http.StatusTooManyRequests, a.code, "bad credentials count as failed authentications: %s", a.body)
	assert.Empty(t, temporal.updates, "nothing reached the workflow")
	assert.NotContains(t, logs.String(), foreign[:30], "logs show the link's path redacted")
	assert.Contains(t, logs.String(), "/v1/decisions/{credential}")
}

func Test_GivenAGoodDecisionLink_ShouldShowAndTakeItsDecision(t *testing.T) {
	h, temporal, _ := newRunningAPI(t, nil)
	tok, err := testSigner.Issue(credential.Claims{Identity: "alice", Role: credential.RoleApprover, Action: credential.ActionReject,
		WorkflowID: workflows.WorkflowID(uid), RunID: "run-1", Comment: "no", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	require.NoError(t, err)

	a := send(h, "GET", DecisionLink(tok), "", nil)
	require.Equal(t, http.StatusOK, a.code, a.body)
	var d Decision
	require.NoError(t, json.Unmarshal([]byte(a.body), &d))
	assert.Equal(t, Decision{Action: "reject", Identity: "alice", Role: "approver", WorkflowID: workflows.WorkflowID(uid), UserID: uid, Comment: "no", ExpiresAt: now.Add(time.Hour)}, d)
	assert.Empty(t, temporal.updates, "inspecting decides nothing")

	send(h, "POST", DecisionLink(tok), "", nil)
	require.Len(t, temporal.updates, 1)
	assert.Equal(t, workflows.UpdateReject, temporal.updates[0].UpdateName)
	assert.Equal(t, workflows.SignedDecision{Credential: tok}, temporal.updates[0].Args[0])
}

func Test_GivenASigningSetup_ShouldRefuseToServeWhatWorkersWouldRefuse(t *testing.T) {
	base := Options{Temporal: &fakeTemporal{}, Policy: testPolicy(), Signer: testSigner, Tokens: testTokens()}
	other, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, ed25519.SeedSize)), Issuer)
	require.NoError(t, err)
	unsigned := testPolicy()
	unsigned.UnsignedDecisions = true
	cases := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no signer", func(o *Options) { o.Signer = nil }, "no decision signing key"},
		{"an untrusted signer", func(o *Options) { o.Signer = other }, "not in " + workflows.EnvDecisionKeys},
		{"no keys", func(o *Options) { o.Policy.DecisionKeys = nil }, workflows.EnvDecisionKeys + " is empty"},
		{"unsigned decisions in production", func(o *Options) { o.Policy = unsigned }, workflows.EnvUnsignedDecisions},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.change(&o)
			_, err := New(o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.False(t, strings.Contains(err.Error(), "PRIVATE"), "no key material in the error")
		})
	}
	base.Policy, base.Development = unsigned, true
	_, err = New(base)
	assert.NoError(t, err, "the devstack may allow unsigned decisions")
}

// finishingTemporal's run finishes between the API's look-up and its update.
type finishingTemporal struct {
	runningTemporal
	describes int
}

func (f *finishingTemporal) DescribeWorkflowExecution(ctx context.Context, id, run string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.describes++
	d, err := f.runningTemporal.DescribeWorkflowExecution(ctx, id, run)
	if f.describes > 1 {
		d.WorkflowExecutionInfo.Status = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}
	return d, err
}

func (f *finishingTemporal) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, serviceerror.NewNotFound("workflow execution already completed")
}

func Test_GivenARunThatFinishesDuringAnUpdate_ShouldAnswerFinishedNotMissing(t *testing.T) {
	temporal := &finishingTemporal{}
	h, err := New(Options{Temporal: temporal, Policy: testPolicy(), Signer: testSigner, Now: (&testClock{t: now}).Now, Tokens: testTokens()})
	require.NoError(t, err)
	a := send(h, "POST", "/v1/offboardings/"+uid+"/cancel", "", map[string]string{"Authorization": "Bearer " + hrSecret})
	assert.Equal(t, http.StatusConflict, a.code, a.body)
	assert.Contains(t, a.body, "already finished")
}

func Test_GivenACredentialRequestNotDeclaredAsJSON_ShouldAnswer415(t *testing.T) {
	h, _, _ := newRunningAPI(t, nil)
	a := send(h, "POST", "/v1/offboardings/"+uid+"/credentials", `{"action":"approve"}`, map[string]string{"Authorization": "Bearer " + approverSecret})
	assert.Equal(t, http.StatusUnsupportedMediaType, a.code, a.body)
}
