package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

const (
	hrToken       = "hr-token-0123456789abcdef"
	aliceToken    = "alice-token-0123456789abcdef"
	malloryToken  = "mallory-token-0123456789abcdef"
	auditorToken  = "auditor-token-0123456789abcdef"
	hrIdentity    = "workday"
	aliceIdentity = "alice"
)

func apiTokens() []config.Token {
	return []config.Token{
		config.NewToken(hrToken, config.RoleHR, hrIdentity),
		config.NewToken(aliceToken, config.RoleApprover, aliceIdentity),
		config.NewToken(malloryToken, config.RoleApprover, "mallory"),
		config.NewToken(auditorToken, config.RoleAuditor, "audit-team"),
	}
}

func newAPI(t *testing.T, c client.Client) *httptest.Server {
	t.Helper()
	h, err := hrapi.New(hrapi.Options{Temporal: c, Policy: env.policy, Tokens: apiTokens(), Signer: testSigner, Codec: testPayloadCodec()})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type resp struct {
	status  int
	header  http.Header
	body    []byte
	problem hrapi.Problem
}

func call(t *testing.T, srv *httptest.Server, method, path, token string, body any) resp {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		require.NoError(t, err)
		r = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	out := resp{status: res.StatusCode, header: res.Header}
	out.body, err = io.ReadAll(res.Body)
	require.NoError(t, err)
	if res.StatusCode >= 400 {
		assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"), "errors are RFC 9457 problems: %s", out.body)
		require.NoError(t, json.Unmarshal(out.body, &out.problem), "%s", out.body)
		assert.Equal(t, res.StatusCode, out.problem.Status)
	}
	return out
}

func startBody(userID, disposition, event string) map[string]any {
	return map[string]any{"userId": userID, "disposition": disposition, "reason": "resigned", "hrEventId": event}
}

// assertNothingStarted checks that no offboarding of userID exists, in describe and visibility.
func assertNothingStarted(t *testing.T, userID string) {
	t.Helper()
	_, err := env.client.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(userID), "")
	var nf *serviceerror.NotFound
	assert.ErrorAs(t, err, &nf, "an offboarding of %s was started", userID)
	res, err := env.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", workflows.WorkflowID(userID)),
	})
	require.NoError(t, err)
	assert.Empty(t, res.GetExecutions())
}

func fieldNames(p hrapi.Problem) []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

func Test_GivenMissingWrongOrUnderprivilegedTokens_ShouldRefuseWith401Or403(t *testing.T) {
	srv := newAPI(t, env.client)
	user := nextUser(t)
	r := call(t, srv, "POST", "/v1/offboardings", "", startBody(user, "archive", "e-auth"))
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer")
	r = call(t, srv, "POST", "/v1/offboardings", "not-a-valid-token-at-all", startBody(user, "archive", "e-auth"))
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.NotContains(t, string(r.body), "not-a-valid-token", "tokens never echo")
	r = call(t, srv, "POST", "/v1/offboardings", auditorToken, startBody(user, "archive", "e-auth"))
	assert.Equal(t, http.StatusForbidden, r.status)
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/approvals", hrToken, map[string]any{"decision": "approve"})
	assert.Equal(t, http.StatusForbidden, r.status, "hr may not approve")
	assertNothingStarted(t, user)
}

func Test_GivenAnInvalidStart_ShouldAnswer400AndStartNothing(t *testing.T) {
	srv := newAPI(t, env.client)
	user := nextUser(t)
	big := `{"userId":"` + user + `","disposition":"archive","reason":"` + strings.Repeat("x", hrapi.MaxBodyBytes) + `","hrEventId":"e"}`
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"bad uuid", startBody("not-a-uuid", "archive", "e1"), "userId"},
		{"unknown disposition", startBody(user, "archived", "e1"), "disposition"},
		{"retention above policy", map[string]any{"userId": user, "disposition": "delete", "retention": "P9999D", "reason": "r", "hrEventId": "e1"}, "retention"},
		{"retention on archive", map[string]any{"userId": user, "disposition": "archive", "retention": "P30D", "reason": "r", "hrEventId": "e1"}, "retention"},
		{"retention in months", map[string]any{"userId": user, "disposition": "delete", "retention": "P1M", "reason": "r", "hrEventId": "e1"}, "retention"},
		{"bad effectiveAt", map[string]any{"userId": user, "disposition": "archive", "effectiveAt": "tomorrow", "reason": "r", "hrEventId": "e1"}, "effectiveAt"},
		{"unknown field", map[string]any{"userId": user, "disposition": "archive", "reason": "r", "hrEventId": "e1", "requestedBy": "ceo"}, "requestedBy"},
		{"wrong type", map[string]any{"userId": user, "disposition": "archive", "reason": "r", "hrEventId": "e1", "dryRun": "yes"}, "dryRun"},
		{"missing hrEventId", map[string]any{"userId": user, "disposition": "archive", "reason": "r"}, "hrEventId"},
		{"missing reason", map[string]any{"userId": user, "disposition": "archive", "hrEventId": "e1"}, "reason"},
		{"body over 64 KiB", big, ""},
		{"not json", "{", ""},
		{"two objects", `{"userId":"` + user + `"} {}`, ""},
		{"empty", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, srv, "POST", "/v1/offboardings", hrToken, tc.body)
			require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
			if tc.field != "" {
				assert.Contains(t, fieldNames(r.problem), tc.field, "%s", r.body)
			}
		})
	}
	assertNothingStarted(t, user)
}

func Test_GivenAProtectedUser_ShouldRefuseTheStart(t *testing.T) {
	user := nextUser(t)
	p := env.policy
	p.ProtectedUserIDs = []string{user}
	h, err := hrapi.New(hrapi.Options{Temporal: env.client, Policy: p, Tokens: apiTokens(), Signer: testSigner})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	r := call(t, srv, "POST", "/v1/offboardings", hrToken, startBody(user, "archive", "e-prot"))
	require.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, fieldNames(r.problem), "userId")
	assertNothingStarted(t, user)
}

func Test_GivenAStartedDeletion_ShouldDedupeConflictDecideAndControlThroughTheAPI(t *testing.T) {
	srv := newAPI(t, env.client)
	user := nextUser(t)

	r := call(t, srv, "POST", "/v1/offboardings", hrToken, startBody(user, "delete", "evt-1"))
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	assert.Equal(t, "/v1/offboardings/"+user, r.header.Get("Location"))
	var first hrapi.StartResult
	require.NoError(t, json.Unmarshal(r.body, &first))
	assert.Equal(t, workflows.WorkflowID(user), first.WorkflowID)
	require.NotEmpty(t, first.RunID)

	// Redelivery of the same HR event: 200 with the same run, never a second one.
	r = call(t, srv, "POST", "/v1/offboardings", hrToken, startBody(user, "delete", "evt-1"))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var again hrapi.StartResult
	require.NoError(t, json.Unmarshal(r.body, &again))
	assert.Equal(t, first.WorkflowID, again.WorkflowID)
	assert.Equal(t, first.RunID, again.RunID)
	assert.Equal(t, "/v1/offboardings/"+user, r.header.Get("Location"))

	// A different request while this one is in flight: 409.
	r = call(t, srv, "POST", "/v1/offboardings", hrToken, startBody(user, "archive", "evt-2"))
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	assert.Contains(t, r.problem.Detail, "in flight")

	// Only one run exists.
	list, err := env.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", first.WorkflowID)})
	require.NoError(t, err)
	assert.LessOrEqual(t, len(list.GetExecutions()), 1)

	// Approver not on the allow-list: the validator rejects it with a reason, 409.
	waitStage(t, user, workflows.StageAwaitingApproval)
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/approvals", malloryToken, map[string]any{"decision": "approve"})
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	assert.Contains(t, r.problem.Detail, "mallory")
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/approvals", aliceToken, map[string]any{"decision": "maybe"})
	require.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, fieldNames(r.problem), "decision")

	// Release without a hold is rejected by its validator.
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/release", hrToken, nil)
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)

	// alice approves; the approver is the token's identity.
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/approvals", aliceToken, map[string]any{"decision": "approve", "comment": "ok"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var st workflows.Status
	require.NoError(t, json.Unmarshal(r.body, &st))
	require.Len(t, st.Decisions, 1)
	assert.Equal(t, aliceIdentity, st.Decisions[0].Approver)
	assert.Equal(t, hrIdentity, st.RequestedBy)

	// A second decision by alice: 409.
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/approvals", aliceToken, map[string]any{"decision": "reject"})
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)

	// Retention: hold, bad input, release, then cancel.
	waitStage(t, user, workflows.StageRetention)
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/hold", hrToken, map[string]any{"reason": "litigation"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.NoError(t, json.Unmarshal(r.body, &st))
	assert.True(t, st.OnHold)
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/hold", hrToken, map[string]any{"note": "x"})
	require.Equal(t, http.StatusBadRequest, r.status, "unknown field")
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/retention", hrToken, map[string]any{"until": "soon"})
	require.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, fieldNames(r.problem), "until")
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/release", hrToken, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/cancel", hrToken, map[string]any{"reason": "rehired"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	st = waitStage(t, user, workflows.OutcomeCancelled)

	// Once finished, further controls are 409, and a new HR event starts a new run.
	eventually(t, 30*time.Second, func() error {
		d, err := env.client.DescribeWorkflowExecution(context.Background(), first.WorkflowID, "")
		if err != nil {
			return err
		}
		if s := d.GetWorkflowExecutionInfo().GetStatus(); s != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			return fmt.Errorf("status %s", s)
		}
		return nil
	})
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/cancel", hrToken, nil)
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	r = call(t, srv, "POST", "/v1/offboardings", hrToken, startBody(user, "delete", "evt-1"))
	require.Equal(t, http.StatusOK, r.status, "a late redelivery still maps to the finished run: %s", r.body)
	require.NoError(t, json.Unmarshal(r.body, &again))
	assert.Equal(t, first.RunID, again.RunID)
}

func Test_GivenAnArchiveRun_ShouldRejectAnApproval(t *testing.T) {
	srv := newAPI(t, env.client)
	user := nextUser(t)
	r := call(t, srv, "POST", "/v1/offboardings", hrToken, map[string]any{"userId": user, "disposition": "archive", "reason": "left", "hrEventId": "evt-a", "dryRun": true})
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	// An archive run never awaits approval; whatever stage it is at, alice's decision is refused.
	r = call(t, srv, "POST", "/v1/offboardings/"+user+"/approvals", aliceToken, map[string]any{"decision": "approve"})
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	assert.Contains(t, []string{hrapi.TypeConflict, hrapi.TypeRejected}, r.problem.Type)
}

func Test_GivenARun_ShouldAnswerItsStatusListItAndNotFindOthers(t *testing.T) {
	srv := newAPI(t, env.client)
	user := nextUser(t)
	missing := nextUser(t)
	r := call(t, srv, "POST", "/v1/offboardings", hrToken, map[string]any{"userId": user, "disposition": "delete", "reason": "left", "hrEventId": "evt-l"})
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)

	r = call(t, srv, "GET", "/v1/offboardings/"+user, auditorToken, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var st workflows.Status
	require.NoError(t, json.Unmarshal(r.body, &st))
	assert.Equal(t, user, st.UserID)

	assert.Equal(t, http.StatusNotFound, call(t, srv, "GET", "/v1/offboardings/"+missing, auditorToken, nil).status)
	assert.Equal(t, http.StatusBadRequest, call(t, srv, "GET", "/v1/offboardings/nope", auditorToken, nil).status)
	assert.Equal(t, http.StatusNotFound, call(t, srv, "POST", "/v1/offboardings/"+missing+"/approvals", aliceToken, map[string]any{"decision": "approve"}).status)
	assert.Equal(t, http.StatusNotFound, call(t, srv, "POST", "/v1/offboardings/"+missing+"/cancel", hrToken, nil).status)

	eventually(t, 30*time.Second, func() error {
		r := call(t, srv, "GET", "/v1/offboardings?disposition=delete&pageSize=500", auditorToken, nil)
		if r.status != http.StatusOK {
			return fmt.Errorf("status %d: %s", r.status, r.body)
		}
		var page hrapi.ListPage
		if err := json.Unmarshal(r.body, &page); err != nil {
			return err
		}
		for _, it := range page.Items {
			if it.UserID == user {
				if it.Disposition != "delete" || it.RequestedBy != hrIdentity || it.Stage == "" {
					return fmt.Errorf("item %+v lacks search attributes", it)
				}
				return nil
			}
		}
		return fmt.Errorf("%s not listed yet", user)
	})
	r = call(t, srv, "GET", "/v1/offboardings?stage=archived&disposition=delete", auditorToken, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.NotContains(t, string(r.body), user)
	for _, q := range []string{"stage=bogus", "disposition=erase", "pageToken=***", "pageSize=0", "pageSize=9999"} {
		r = call(t, srv, "GET", "/v1/offboardings?"+q, auditorToken, nil)
		assert.Equal(t, http.StatusBadRequest, r.status, q)
	}
	require.NoError(t, env.client.TerminateWorkflow(context.Background(), workflows.WorkflowID(user), "", "test done"))
}

func Test_GivenTemporalUpOrDown_ShouldAnswerHealthReadinessAndUnavailable(t *testing.T) {
	srv := newAPI(t, env.client)
	assert.Equal(t, http.StatusOK, call(t, srv, "GET", "/healthz", "", nil).status)
	assert.Equal(t, http.StatusOK, call(t, srv, "GET", "/readyz", "", nil).status)
	r := call(t, srv, "GET", "/openapi.yaml", "", nil)
	assert.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, string(r.body), "openapi: 3")
	assert.Equal(t, http.StatusNotFound, call(t, srv, "GET", "/v2/nothing", "", nil).status)
	r = call(t, srv, "DELETE", "/v1/offboardings", hrToken, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)

	// A Temporal that does not answer: readyz and calls give 503.
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: quietLogger()})
	require.NoError(t, err)
	defer dead.Close()
	down := newAPI(t, dead)
	assert.Equal(t, http.StatusServiceUnavailable, call(t, down, "GET", "/readyz", "", nil).status)
	user := nextUser(t)
	r = call(t, down, "POST", "/v1/offboardings", hrToken, startBody(user, "archive", "evt-down"))
	assert.Equal(t, http.StatusServiceUnavailable, r.status, "%s", r.body)
	assertNothingStarted(t, user)
}
