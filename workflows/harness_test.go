package workflows_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/identity"
	"github.com/offboard/offboard/workflows"
)

const (
	userID    = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	requester = "hr-workday"
	// The snapshot's PII, which must never reach search attributes or current details.
	userName  = "Ada Lovelace"
	userEmail = "ada.lovelace@example.com"
	// testRunID is the run ID the test environment gives every run.
	testRunID = "default-test-run-id"
)

var (
	acts  *activities.Activities
	start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	day   = 24 * time.Hour
)

// testPolicy is a policy with an allow-list of three approvers and round numbers.
func testPolicy() workflows.Policy {
	p := workflows.DefaultPolicy()
	p.Approvers = []string{"alice", "bob", "carol"}
	p.DecisionKeys = []string{credential.EncodePublicKey(testSigner.PublicKey())}
	p.EscalateTo = []string{"hr-lead"}
	p.ApprovalTimeout = 4 * day
	p.MinRetention = 7 * day
	return p
}

func deleteRequest() workflows.Request {
	return workflows.Request{
		UserID:      userID,
		Disposition: workflows.DispositionDelete,
		Retention:   new(workflows.Duration(30 * day)),
		Reason:      "left the company",
		RequestedBy: requester,
		HREventID:   "evt-1",
		RequestedAt: start,
	}
}

func archiveRequest() workflows.Request {
	req := deleteRequest()
	req.Disposition = workflows.DispositionArchive
	req.Retention = nil
	return req
}

// call is one activity call as the fake saw it, at workflow time.
type call struct {
	name string
	at   time.Time
	in   any
}

// fixture is a test environment whose activities are fakes that record their calls. Replace
// a behaviour field before run; name an activity in never to mock it with .Never().
type fixture struct {
	t      testing.TB
	env    *testsuite.TestWorkflowEnvironment
	policy workflows.Policy
	// workflows is the registered worker configuration; tests change it to act as a redeployed worker.
	workflows *workflows.Workflows
	never     map[string]bool
	// legacyPath: the run takes the archiving stage of runs begun before the revoking stage.
	legacyPath bool
	// unsignedStart: run sends the request without the start credential the HR API would sign.
	unsignedStart bool
	// real, when set, runs these activities instead of the fakes (see BenchmarkGenesysCalls).
	real *activities.Activities
	// user is the Genesys user whose workflow the decision credentials name; "" is userID.
	user string

	checkAccess func(activities.CheckAccessInput) (activities.AccessReport, error)
	snapshot    func(activities.SnapshotInput) (activities.UserSnapshot, error)
	deactivate  func(activities.UserRef) (activities.StateChange, error)
	export      func(activities.ExportInput) (activities.ExportSummary, error)
	deleteUser  func(activities.UserRef) (activities.StateChange, error)
	restore     func(activities.RestoreInput) (activities.StateChange, error)
	// snapshotAccess, revokeAccess and restoreAccess are the revoking path's activities.
	snapshotAccess func(activities.SnapshotAccessInput) (activities.AccessSnapshot, error)
	revokeAccess   func(activities.AccessStepInput) (activities.StepResult, error)
	restoreAccess  func(activities.AccessStepInput) (activities.StepResult, error)
	count          func(activities.CountInput) (int, error)
	verify         func(activities.VerifyInput) (activities.Verification, error)
	notify         func(activities.Notification) error
	// exportDelay, deleteDelay, revokeDelay and verifyDelay keep those activities running for a while of workflow time.
	exportDelay, deleteDelay, revokeDelay, verifyDelay time.Duration

	calls         []call
	audits        []activities.AuditRecord
	notifications []activities.Notification
	stages        []string
	retentionSA   []time.Time
	startSA       map[string]string
	// ui records the summaries of the activities and timers, as the Temporal UI shows them.
	ui *uiRecorder
}

func newFixture(t testing.TB, policy workflows.Policy) *fixture {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	if _, ok := t.(*testing.B); ok {
		suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	}
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.WorkflowID(userID), TaskQueue: workflows.TaskQueue})
	f := &fixture{t: t, env: env, policy: policy, never: map[string]bool{}, startSA: map[string]string{}, ui: &uiRecorder{}}
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{f.ui}})
	f.checkAccess = func(in activities.CheckAccessInput) (activities.AccessReport, error) {
		return activities.AccessReport{ClientID: "client-1", Checked: in.Permissions}, nil
	}
	f.snapshot = func(in activities.SnapshotInput) (activities.UserSnapshot, error) {
		return activities.UserSnapshot{User: genesys.User{
			ID: in.UserID, Name: userName, Email: userEmail, State: genesys.StateActive, Version: 3,
		}, TakenAt: start}, nil
	}
	f.deactivate = func(in activities.UserRef) (activities.StateChange, error) {
		return activities.StateChange{UserID: in.UserID, Previous: genesys.StateActive, State: genesys.StateInactive, Version: 4, Changed: true}, nil
	}
	f.export = func(in activities.ExportInput) (activities.ExportSummary, error) {
		return activities.ExportSummary{Bundle: in.Bundle, ManifestURL: "mem://" + in.Bundle + "/manifest.json", Parts: 2, Conversations: 1234, Bytes: 99, Windows: 3}, nil
	}
	f.deleteUser = func(in activities.UserRef) (activities.StateChange, error) {
		return activities.StateChange{UserID: in.UserID, Previous: genesys.StateInactive, State: genesys.StateDeleted, Version: 5, Changed: true}, nil
	}
	f.restore = func(in activities.RestoreInput) (activities.StateChange, error) {
		return activities.StateChange{UserID: in.UserID, Previous: genesys.StateInactive, State: in.State, Version: 5, Changed: true}, nil
	}
	f.snapshotAccess = func(in activities.SnapshotAccessInput) (activities.AccessSnapshot, error) {
		return testAccess(in.UserID), nil
	}
	f.revokeAccess = func(in activities.AccessStepInput) (activities.StepResult, error) {
		return stepResult(in.Step, f.env.Now()), nil
	}
	f.restoreAccess = func(in activities.AccessStepInput) (activities.StepResult, error) {
		r := stepResult(in.Step, f.env.Now())
		if in.Step == activities.StepTokens {
			r.Changed, r.Warnings = false, []string{"revoked tokens cannot be given back; the user signs in again"}
		}
		return r, nil
	}
	f.count = func(activities.CountInput) (int, error) { return 1234, nil }
	f.verify = func(in activities.VerifyInput) (activities.Verification, error) {
		return activities.Verification{State: in.ExpectedState, Count: in.ManifestCount, ManifestCount: in.ManifestCount, Linked: true, CheckedAt: start}, nil
	}
	f.notify = func(activities.Notification) error { return nil }
	return f
}

// forbid marks activities that must not run.
func (f *fixture) forbid(names ...string) *fixture {
	for _, n := range names {
		f.never[n] = true
	}
	return f
}

// forbidChanges forbids every activity that changes the user.
func (f *fixture) forbidChanges() *fixture {
	return f.forbid("DeactivateUser", "DeleteUser", "RestoreUser", "RevokeAccess", "RestoreAccess")
}

// legacy makes the run take the path of runs started before the revoking stage, which never
// calls the revoking path's activities. A run on the revoking path never calls the legacy ones.
func (f *fixture) legacy() *fixture {
	f.legacyPath = true
	return f
}

// otherPath forbids the activities of the path the run does not take.
func (f *fixture) otherPath() {
	if f.legacyPath {
		f.env.OnGetVersion("revoking-stage", workflow.DefaultVersion, workflow.Version(1)).Return(workflow.DefaultVersion)
		f.forbid("SnapshotAccess", "RevokeAccess", "RestoreAccess")
		return
	}
	f.forbid("DeactivateUser", "RestoreUser")
}

// testAccess is a user's access as SnapshotAccess finds it: something for every step.
func testAccess(userID string) activities.AccessSnapshot {
	return activities.AccessSnapshot{
		UserID:        userID,
		State:         genesys.StateActive,
		Grants:        []genesys.Grant{{RoleID: "r-agent", RoleName: "Agent", DivisionID: "d-home", DivisionName: "Home"}},
		Queues:        []genesys.QueueMembership{{QueueID: "q-sales", QueueName: "Sales", Joined: true}, {QueueID: "q-all", QueueName: "Everyone", ViaGroup: true}},
		RoutingStatus: "IDLE",
		Stations:      genesys.Stations{AssociatedID: "st-1", AssociatedName: "Desk 1", DefaultID: "st-1", DefaultName: "Desk 1"},
		Forwarding:    genesys.CallForwarding{Enabled: true, PhoneNumber: "+15550100"},
		ManagerID:     "4f2504e0-4f89-41d3-9a0c-0305e82c3301",
		DirectReports: []string{"5f2504e0-4f89-41d3-9a0c-0305e82c3301"},
		OAuthClients:  []genesys.OAuthClientRef{{ID: "oc-1", Name: "Ada's integration"}},
		TakenAt:       start,
	}
}

// allPermissions is base and every revoking step's permissions: what a run with no optional
// steps checks.
func allPermissions(base ...string) []string {
	out := base
	for _, s := range activities.RevokeSteps() {
		for _, p := range append(activities.StepPermissions(s), activities.RestorePermissions(s)...) {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// stepResult is a verified step that changed something.
func stepResult(step activities.AccessStep, at time.Time) activities.StepResult {
	return activities.StepResult{Step: step, Changed: true, Before: []byte(`{"before":"` + string(step) + `"}`),
		After: []byte(`{"after":"` + string(step) + `"}`), VerifiedAt: at.UTC()}
}

func (f *fixture) record(name string, in any) {
	f.calls = append(f.calls, call{name: name, at: f.env.Now().UTC(), in: in})
}

// mock registers every activity: a fake, or .Never() when forbidden.
func (f *fixture) mock() {
	type entry struct {
		fn    any
		fake  any
		delay *time.Duration
	}
	entries := map[string]entry{
		"CheckAccess": {acts.CheckAccess, func(_ context.Context, in activities.CheckAccessInput) (activities.AccessReport, error) {
			f.record("CheckAccess", in)
			return f.checkAccess(in)
		}, nil},
		"SnapshotUser": {acts.SnapshotUser, func(_ context.Context, in activities.SnapshotInput) (activities.UserSnapshot, error) {
			f.record("SnapshotUser", in)
			return f.snapshot(in)
		}, nil},
		"DeactivateUser": {acts.DeactivateUser, func(_ context.Context, in activities.UserRef) (activities.StateChange, error) {
			f.record("DeactivateUser", in)
			return f.deactivate(in)
		}, nil},
		"ExportInteractions": {acts.ExportInteractions, func(_ context.Context, in activities.ExportInput) (activities.ExportSummary, error) {
			f.record("ExportInteractions", in)
			return f.export(in)
		}, &f.exportDelay},
		"DeleteUser": {acts.DeleteUser, func(_ context.Context, in activities.UserRef) (activities.StateChange, error) {
			f.record("DeleteUser", in)
			return f.deleteUser(in)
		}, &f.deleteDelay},
		"RestoreUser": {acts.RestoreUser, func(_ context.Context, in activities.RestoreInput) (activities.StateChange, error) {
			f.record("RestoreUser", in)
			return f.restore(in)
		}, nil},
		"SnapshotAccess": {acts.SnapshotAccess, func(_ context.Context, in activities.SnapshotAccessInput) (activities.AccessSnapshot, error) {
			f.record("SnapshotAccess", in)
			return f.snapshotAccess(in)
		}, nil},
		"RevokeAccess": {acts.RevokeAccess, func(_ context.Context, in activities.AccessStepInput) (activities.StepResult, error) {
			f.record("RevokeAccess", in)
			return f.revokeAccess(in)
		}, &f.revokeDelay},
		"RestoreAccess": {acts.RestoreAccess, func(_ context.Context, in activities.AccessStepInput) (activities.StepResult, error) {
			f.record("RestoreAccess", in)
			return f.restoreAccess(in)
		}, nil},
		"CountInteractions": {acts.CountInteractions, func(_ context.Context, in activities.CountInput) (int, error) {
			f.record("CountInteractions", in)
			return f.count(in)
		}, nil},
		"VerifyOutcome": {acts.VerifyOutcome, func(_ context.Context, in activities.VerifyInput) (activities.Verification, error) {
			f.record("VerifyOutcome", in)
			return f.verify(in)
		}, &f.verifyDelay},
		"WriteAudit": {acts.WriteAudit, func(_ context.Context, rec activities.AuditRecord) (activities.AuditRef, error) {
			f.record("WriteAudit", rec)
			f.audits = append(f.audits, rec)
			return activities.AuditRef{URL: "mem://" + rec.Bundle + "/audit.json", SHA256: "feed"}, nil
		}, nil},
		"Notify": {acts.Notify, func(_ context.Context, n activities.Notification) error {
			f.record("Notify", n)
			f.notifications = append(f.notifications, n)
			return f.notify(n)
		}, nil},
	}
	for name, e := range entries {
		m := f.env.OnActivity(e.fn, mock.Anything, mock.Anything)
		if f.never[name] {
			m.Never()
			continue
		}
		m.Return(e.fake).Maybe()
		if e.delay != nil {
			d := e.delay
			m.AfterFn(func() time.Duration { return *d })
		}
	}
	f.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		if v, ok := sa.GetKeyword(workflows.KeyStage); ok {
			f.stages = append(f.stages, v)
		}
		if v, ok := sa.GetTime(workflows.KeyRetentionUntil); ok {
			f.retentionSA = append(f.retentionSA, v)
		}
		for _, k := range []temporal.SearchAttributeKeyKeyword{workflows.KeyGenesysUserID, workflows.KeyDisposition, workflows.KeyRequestedBy, workflows.KeyBatchID} {
			if v, ok := sa.GetKeyword(k); ok {
				f.startSA[k.GetName()] = v
			}
		}
		for _, v := range sa.GetUntypedValues() {
			if s, ok := v.(string); ok && (strings.Contains(s, userName) || strings.Contains(s, userEmail)) {
				f.t.Errorf("search attribute holds PII: %q", s)
			}
		}
	}).Maybe()
}

// run executes the workflow with req and returns its result and error.
func (f *fixture) run(req workflows.Request) (workflows.Result, error) {
	f.t.Helper()
	if f.workflows == nil {
		f.workflows = &workflows.Workflows{Policy: f.policy}
	}
	f.workflows.Register(f.env)
	f.otherPath()
	if f.real != nil {
		f.env.RegisterActivity(f.real)
	} else {
		f.mock()
	}
	if req.Credential == "" && req.Resume == nil && !f.unsignedStart {
		req.Credential = f.startCredential(req)
	}
	f.env.ExecuteWorkflow(workflows.WorkflowType, req)
	require.True(f.t, f.env.IsWorkflowCompleted(), "the workflow did not complete")
	f.env.AssertExpectations(f.t)
	var res workflows.Result
	err := f.env.GetWorkflowError()
	if err == nil {
		require.NoError(f.t, f.env.GetWorkflowResult(&res))
	}
	return res, err
}

// status queries the status of the running or finished workflow.
func (f *fixture) status() workflows.Status {
	f.t.Helper()
	v, err := f.env.QueryWorkflow(workflows.QueryStatus)
	require.NoError(f.t, err)
	var s workflows.Status
	require.NoError(f.t, v.Get(&s))
	return s
}

// at schedules fn at offset d of workflow time from the start.
func (f *fixture) at(d time.Duration, fn func()) { f.env.RegisterDelayedCallback(fn, d) }

// testSigner signs the tests' decision credentials; testPolicy trusts its key.
var testSigner = func() *credential.Signer {
	s, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)), "test-hrapi")
	if err != nil {
		panic(err)
	}
	return s
}()

// claims are the claims of a credential for the control name, as the HR API would issue them now
// for the caller the legacy input names: approvers decide and shorten retention, HR controls.
func (f *fixture) claims(name string, arg any) credential.Claims {
	t := f.env.Now().UTC()
	c := credential.Claims{Issuer: "test-hrapi", WorkflowID: workflows.WorkflowID(cmp.Or(f.user, userID)), RunID: testRunID,
		Action: credential.Action(name), IssuedAt: t, ExpiresAt: t.Add(credential.DefaultTTL)}
	switch in := arg.(type) {
	case workflows.DecisionInput:
		c.Identity, c.Role, c.Comment = in.Approver, credential.RoleApprover, in.Comment
	case workflows.ControlInput:
		c.Identity, c.Role, c.Comment = in.By, credential.RoleHR, in.Reason
	case workflows.RetentionInput:
		c.Identity, c.Role, c.Comment, c.Until = in.By, credential.RoleHR, in.Reason, in.Until
		if in.Approver != "" {
			c.Identity, c.Role = in.Approver, credential.RoleApprover
		}
	default:
		f.t.Fatalf("no credential for a %T", arg)
	}
	if id, err := identity.Normalize(c.Identity); err == nil {
		c.Identity = id
	}
	return c
}

// startCredential is the start credential the HR API signs for req, as the env starts it; none
// when req has no valid requester, whom no credential can name.
func (f *fixture) startCredential(req workflows.Request) string {
	tok, _ := testSigner.Issue(credential.Claims{Identity: req.RequestedBy, Role: credential.RoleHR, Action: credential.ActionStart,
		WorkflowID: workflows.WorkflowID(req.UserID), Request: workflows.RequestDigest(req), IssuedAt: f.env.Now(), ExpiresAt: f.env.Now().Add(5 * time.Minute)})
	return tok
}

// signed is the payload of c, signed by testSigner.
func (f *fixture) signed(c credential.Claims) workflows.SignedDecision {
	tok, err := testSigner.Issue(c)
	require.NoError(f.t, err)
	return workflows.SignedDecision{Credential: tok}
}

// credentialFor turns a legacy input into the credential the HR API would issue for it; any
// other payload is sent as it is.
func (f *fixture) credentialFor(name string, arg any) any {
	switch arg.(type) {
	case workflows.DecisionInput, workflows.ControlInput, workflows.RetentionInput:
		return f.signed(f.claims(name, arg))
	}
	return arg
}

// signal sends a signal, with a credential when arg is a legacy input (see credentialFor).
func (f *fixture) signal(name string, arg any) {
	f.env.SignalWorkflow(name, f.credentialFor(name, arg))
}

// update sends an update, with a credential when arg is a legacy input (see credentialFor), and
// returns a pointer to its rejection, set once it is answered.
func (f *fixture) update(name string, arg any) *updateResult {
	arg = f.credentialFor(name, arg)
	res := &updateResult{}
	f.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept: func() { res.accepted = true },
		OnReject: func(err error) { res.rejected = err },
		OnComplete: func(v any, err error) {
			res.completed = true
			res.err = err
		},
	}, arg)
	return res
}

type updateResult struct {
	accepted, completed bool
	rejected, err       error
}

func (f *fixture) callsOf(name string) []call {
	var out []call
	for _, c := range f.calls {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

func (f *fixture) lastAudit() activities.AuditRecord {
	f.t.Helper()
	require.Len(f.t, f.audits, 1, "exactly one audit record")
	return f.audits[0]
}

// requireAppError asserts that err carries an application error of type typ.
func requireAppError(t *testing.T, err error, typ string) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	require.Equal(t, typ, appErr.Type(), "error: %v", err)
	return appErr
}

func decide(approver string) workflows.DecisionInput {
	return workflows.DecisionInput{Approver: approver, Comment: "ok"}
}

func clientOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}
}
