package hrapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/workflows"
)

const hrEmail = "Ada.Lovelace@example.com"

// resolvingAPI is the test API whose workers answer ResolvePerson with resolve; its log is in logs.
func resolvingAPI(t *testing.T, resolve func(activities.ResolveInput) (activities.Resolution, error)) (http.Handler, *fakeTemporal, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	h, temporal, _ := newTestAPI(t, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
	temporal.resolve = resolve
	return h, temporal, logs
}

// resolvesTo answers every resolution with userID.
func resolvesTo(userID string) func(activities.ResolveInput) (activities.Resolution, error) {
	return func(in activities.ResolveInput) (activities.Resolution, error) {
		return activities.Resolution{UserID: userID, By: in.By, Field: "email", State: "active"}, nil
	}
}

func startBody(identifier string) string {
	return `{` + identifier + `,"disposition":"archive","reason":"resigned","hrEventId":"wd-7"}`
}

func Test_GivenAnEmailInsteadOfAUserID_ShouldResolveItOnTheWorkersAndStartTheResolvedUser(t *testing.T) {
	h, temporal, _ := resolvingAPI(t, resolvesTo(uid))

	a := send(h, "POST", "/v1/offboardings", startBody(`"email":"`+hrEmail+`"`), asHR())

	require.Equal(t, http.StatusAccepted, a.code, a.body)
	assert.Equal(t, "/v1/offboardings/"+uid, a.header.Get("Location"))
	var res StartResult
	require.NoError(t, json.Unmarshal([]byte(a.body), &res))
	assert.Equal(t, workflows.WorkflowID(uid), res.WorkflowID)
	require.Len(t, temporal.resolves, 1)
	r := temporal.resolves[0]
	assert.Equal(t, activities.ResolveInput{By: workflows.IdentifyByEmail, Value: hrEmail}, r.in)
	assert.Regexp(t, `^resolve-[0-9a-f-]{36}$`, r.opts.ID, "random, never derived from the email")
	assert.Equal(t, workflows.TaskQueue, r.opts.TaskQueue, "the workers hold the Genesys credentials")
	assert.Equal(t, workflows.ResolveTimeout, r.opts.WorkflowExecutionTimeout)
	assert.Empty(t, r.opts.TypedSearchAttributes.GetUntypedValues(), "no search attribute")
	assert.Nil(t, r.opts.Memo)
	assert.NotContains(t, r.opts.StaticSummary, "Ada")
	require.Len(t, temporal.started, 1)
	req := temporal.started[0]
	assert.Equal(t, uid, req.UserID)
	assert.Equal(t, &workflows.Identification{By: workflows.IdentifyByEmail, Value: hrEmail, ResolvedAt: now}, req.IdentifiedBy)
	assert.NotEmpty(t, req.Credential, "the start credential is signed over the resolved request")
}

func Test_GivenAnEmployeeIDThroughTheService_ShouldStartWithTheResolvedID(t *testing.T) {
	temporal := &fakeTemporal{resolve: resolvesTo(uid)}
	s := &Service{Client: temporal, Policy: testPolicy(), Signer: testSigner, Now: func() time.Time { return now }}
	res, err := s.Start(context.Background(), workflows.Request{Disposition: workflows.DispositionArchive, Reason: "resigned",
		RequestedBy: "workday", HREventID: "wd-8", RequestedAt: now,
		IdentifiedBy: &workflows.Identification{By: workflows.IdentifyByEmployeeID, Value: "E1000042"}})
	require.NoError(t, err)
	assert.Equal(t, workflows.WorkflowID(uid), res.WorkflowID)
	assert.Equal(t, "E1000042", temporal.resolves[0].in.Value)
}

func Test_GivenAnUnknownOrAmbiguousPerson_ShouldAnswer422WithoutEchoingTheValue(t *testing.T) {
	for name, c := range map[string]struct {
		err              error
		identifier, want string
		typ              string
	}{
		"unknown email": {temporal.NewNonRetryableApplicationError("no match", activities.ErrPersonUnknown, nil),
			`"email":"` + hrEmail + `"`, "no active or inactive Genesys user has that email; check it, or send the Genesys user ID instead", TypeUnknownPerson},
		"ambiguous employee ID": {temporal.NewNonRetryableApplicationError("several", activities.ErrPersonAmbiguous, nil, 2),
			`"employeeId":"E1000042"`, "2 Genesys users share that employee ID; send the Genesys user ID instead", TypeAmbiguousPerson},
	} {
		h, temporal, logs := resolvingAPI(t, func(activities.ResolveInput) (activities.Resolution, error) { return activities.Resolution{}, c.err })

		a := send(h, "POST", "/v1/offboardings", startBody(c.identifier), asHR())

		require.Equal(t, http.StatusUnprocessableEntity, a.code, name)
		var p Problem
		require.NoError(t, json.Unmarshal([]byte(a.body), &p))
		assert.Equal(t, c.typ, p.Type, name)
		assert.Equal(t, c.want, p.Detail, name)
		for _, text := range []string{a.body, logs.String()} {
			assert.NotContains(t, text, "Ada.Lovelace", name)
			assert.NotContains(t, text, "E1000042", name)
		}
		assert.Zero(t, temporal.count("ExecuteWorkflow"), "%s: nothing started", name)
	}
}

func Test_GivenWorkersThatDoNotAnswerInTime_ShouldAnswer503WithRetryAfter(t *testing.T) {
	h, temporal, _ := resolvingAPI(t, func(activities.ResolveInput) (activities.Resolution, error) {
		return activities.Resolution{}, context.DeadlineExceeded
	})
	a := send(h, "POST", "/v1/offboardings", startBody(`"email":"`+hrEmail+`"`), asHR())
	require.Equal(t, http.StatusServiceUnavailable, a.code, a.body)
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	assert.Contains(t, a.body, TypeResolutionUnavailable)
	assert.Zero(t, temporal.count("ExecuteWorkflow"))
}

func Test_GivenWorkersThatMayNotSearchUsers_ShouldAnswer503NamingThePermission(t *testing.T) {
	h, temporal, _ := resolvingAPI(t, func(activities.ResolveInput) (activities.Resolution, error) {
		return activities.Resolution{}, temporal.NewNonRetryableApplicationError("the OAuth client lacks Genesys Cloud permission(s) directory:user:view",
			string(genesys.KindPermissionDenied), nil, []string{genesys.PermUserView})
	})
	a := send(h, "POST", "/v1/offboardings", startBody(`"email":"`+hrEmail+`"`), asHR())
	require.Equal(t, http.StatusServiceUnavailable, a.code, a.body)
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	assert.Contains(t, a.body, TypeResolutionUnavailable)
	assert.Contains(t, a.body, genesys.PermUserView, "the operators learn what to grant")
	assert.NotContains(t, a.body, hrEmail)
	assert.Zero(t, temporal.count("ExecuteWorkflow"))
}

func Test_GivenTwoIdentifiersOrNone_ShouldAnswer400AndResolveNothing(t *testing.T) {
	h, temporal, _ := resolvingAPI(t, resolvesTo(uid))
	for body, field := range map[string]string{
		startBody(`"userId":"` + uid + `","email":"` + hrEmail + `"`):                    "email",
		startBody(`"email":"` + hrEmail + `","employeeId":"E1"`):                         "employeeId",
		startBody(`"hrEventId2":"x"`):                                                    "hrEventId2",
		`{"disposition":"archive","reason":"resigned","hrEventId":"wd-7"}`:               "userId",
		startBody(`"email":"not-an-address"`):                                            "email",
		`{"email":"` + hrEmail + `","disposition":"purge","reason":"r","hrEventId":"e"}`: "disposition",
	} {
		a := send(h, "POST", "/v1/offboardings", body, asHR())
		require.Equal(t, http.StatusBadRequest, a.code, body)
		var p Problem
		require.NoError(t, json.Unmarshal([]byte(a.body), &p))
		require.NotEmpty(t, p.Errors, body)
		assert.Equal(t, field, p.Errors[0].Field, body)
		assert.Len(t, p.Errors, 1, "%s: %v", body, p.Errors)
	}
	assert.Zero(t, temporal.count("ResolvePerson"))
	assert.Zero(t, temporal.count("ExecuteWorkflow"))
}
