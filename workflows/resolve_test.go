package workflows_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/workflows"
)

// registry records what Register registers.
type registry struct{ names []string }

func (r *registry) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	r.names = append(r.names, o.Name)
}

// resolveRun runs ResolvePerson in the test environment over the real activity and the emulator.
func resolveRun(t *testing.T, emu *emulator.Emulator, in activities.ResolveInput) (activities.Resolution, error) {
	t.Helper()
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	g, err := genesys.New(context.Background(), genesys.Config{ClientID: emulator.DevClientID, ClientSecret: emulator.DevClientSecret,
		APIURL: srv.URL, RequestsPerMinute: 60000, Timeout: 5 * time.Second})
	require.NoError(t, err)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	(&workflows.Workflows{Policy: testPolicy()}).Register(env)
	env.RegisterActivity(&activities.Activities{Genesys: g})
	env.ExecuteWorkflow(workflows.ResolveWorkflowType, in)
	require.True(t, env.IsWorkflowCompleted())
	if err := env.GetWorkflowError(); err != nil {
		return activities.Resolution{}, err
	}
	var r activities.Resolution
	require.NoError(t, env.GetWorkflowResult(&r))
	return r, nil
}

func Test_GivenTheWorkflows_ShouldRegisterOffboardingResolvePersonAndTheBatch(t *testing.T) {
	var r registry
	(&workflows.Workflows{}).Register(&r)
	assert.Equal(t, []string{workflows.WorkflowType, workflows.ResolveWorkflowType, workflows.BatchWorkflowType, workflows.ReconciliationWorkflowType}, r.names)
}

func Test_GivenAnEmployeeID_ShouldResolvePersonToItsUser(t *testing.T) {
	emu := emulator.New(emulator.Options{RequestsPerMinute: -1, Conversations: 100})
	rec, _ := emu.User(emu.SeedUsers()[4].ID)
	got, err := resolveRun(t, emu, activities.ResolveInput{By: workflows.IdentifyByEmployeeID, Value: rec.EmployeeID})
	require.NoError(t, err)
	assert.Equal(t, activities.Resolution{UserID: rec.ID, By: workflows.IdentifyByEmployeeID, Field: "hr.employeeId", State: genesys.StateActive}, got)
}

func Test_GivenAnAmbiguousEmployeeID_ShouldFailResolvePersonWithoutRetrying(t *testing.T) {
	emu := emulator.New(emulator.Options{RequestsPerMinute: -1, Conversations: 100})
	rec, _ := emu.User(emu.SeedUsers()[emulator.AmbiguousRehireIndex].ID)
	_, err := resolveRun(t, emu, activities.ResolveInput{By: workflows.IdentifyByEmployeeID, Value: rec.EmployeeID})
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "%v", err)
	assert.Equal(t, activities.ErrPersonAmbiguous, ae.Type())
	searches := 0
	for _, c := range emu.Calls() {
		if c.Path == "/api/v2/users/search" {
			searches++
		}
	}
	assert.Equal(t, 1, searches, "a final failure is not retried")
}

func Test_GivenResolveWorkflowIDs_ShouldBeRandomAndCarryNoPersonalData(t *testing.T) {
	a, b := workflows.ResolveWorkflowID(), workflows.ResolveWorkflowID()
	assert.NotEqual(t, a, b)
	assert.Regexp(t, `^resolve-[0-9a-f-]{36}$`, a)
}

func Test_GivenARequestHRNamedByEmail_ShouldRecordHowInTheAuditAndNowhereElse(t *testing.T) {
	f := newFixture(t, testPolicy())
	req := archiveRequest()
	id := workflows.Identification{By: workflows.IdentifyByEmail, Value: "Resolved.Person@example.com", ResolvedAt: start.Add(-time.Minute)}
	req.IdentifiedBy = &id

	_, err := f.run(req)

	require.NoError(t, err)
	require.Len(t, f.audits, 1)
	assert.Equal(t, &id, f.audits[0].IdentifiedBy)
	assert.NotContains(t, workflows.StaticSummary(req), "Resolved.Person")
	assert.NotContains(t, workflows.StaticDetails(req, testPolicy()), "Resolved.Person")
	for _, v := range f.startSA {
		assert.NotContains(t, v, "Resolved.Person")
	}
	for _, v := range workflows.StartSearchAttributes(req).GetUntypedValues() {
		assert.NotContains(t, v, "Resolved.Person")
	}
}
