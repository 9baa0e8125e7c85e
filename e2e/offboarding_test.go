package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/devstack/stack"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// requireLinked checks what an auditor would: the bundle verifies on its own, its count is the
// emulator's true count for the window, and the run's re-count proved the history linked.
func requireLinked(t *testing.T, u emulator.UserSummary, st workflows.Status) {
	t.Helper()
	require.NotNil(t, st.Export, "the run recorded no export")
	require.NotNil(t, st.Verification, "the run recorded no verification")
	assert.True(t, st.Verification.Linked, "history not linked: %+v", st.Verification)
	assert.Equal(t, st.Export.Conversations, st.Verification.Count)

	rep, err := bundle.VerifyURL(context.Background(), stk.ExportURL+"/"+st.Export.Bundle)
	require.NoError(t, err)
	require.True(t, rep.OK(), "bundle problems: %v", rep.Problems)
	assert.Equal(t, st.Export.Conversations, rep.Conversations)
	require.NotNil(t, rep.Manifest)
	truth := stk.Emulator.ConversationCount(u.ID, rep.Manifest.Window.Start, rep.Manifest.Window.End)
	assert.Equal(t, truth, rep.Conversations, "the bundle must hold every conversation of the window exactly once")
	assert.Positive(t, rep.Conversations)

	_, err = os.Stat(filepath.Join(stk.ExportDir, filepath.FromSlash(st.Export.Bundle), "audit.json"))
	assert.NoError(t, err, "audit.json must be written beside the bundle")
}

func userState(t *testing.T, id string) string {
	t.Helper()
	rec, ok := stk.Emulator.User(id)
	require.True(t, ok, "the emulator lost user %s", id)
	return rec.State
}

func Test_GivenArchive_ShouldDeactivateExportAndProveHistoryLinked(t *testing.T) {
	t.Parallel()
	u := users.take(t)
	startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "archive", Reason: "left", HREventID: "e2e-archive"})

	st := waitStage(t, u.ID, workflows.OutcomeArchived)

	assert.Equal(t, "inactive", userState(t, u.ID))
	assert.Equal(t, "hr-system", st.RequestedBy)
	requireLinked(t, u, st)
	var stages []string
	for _, tr := range st.History {
		stages = append(stages, tr.Stage)
	}
	// The history holds a transition per stage and an event per revoking step, under its stage.
	assert.Equal(t, []string{"checking", "revoking", "exporting", "verifying", "archived"}, slices.Compact(stages))
}

func Test_GivenFourEyesPolicy_ShouldDeleteOnlyAfterTwoDistinctApprovers(t *testing.T) {
	t.Parallel()
	u := users.take(t)
	wfID, _ := startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "delete", Retention: retention,
		Reason: "left", HREventID: "e2e-four-eyes"})
	waitStage(t, u.ID, workflows.StageAwaitingApproval)

	code, body := decide(t, stack.TokenHR, u.ID, "approve")
	assert.Equal(t, http.StatusForbidden, code, "the requester's HR token may not approve: %s", body)

	code, body = decide(t, stack.TokenAlice, u.ID, "approve")
	require.Equal(t, http.StatusOK, code, body)
	code, body = decide(t, stack.TokenAlice, u.ID, "approve")
	assert.Equal(t, http.StatusConflict, code, "a second decision by the same approver: %s", body)
	assert.Contains(t, body, "alice")

	st := status(t, u.ID)
	assert.Equal(t, workflows.StageAwaitingApproval, st.Stage, "one approval of two must not proceed")
	assert.Equal(t, "inactive", userState(t, u.ID), "access ends before the approvals")

	// A forged approval naming bob, as anyone who reaches Temporal could send, is ignored.
	require.NoError(t, stk.Client.SignalWorkflow(context.Background(), wfID, "", workflows.UpdateApprove,
		workflows.DecisionInput{Approver: "bob", Comment: "forged"}))
	st = waitIgnored(t, u.ID, 1)
	assert.Equal(t, workflows.StageAwaitingApproval, st.Stage)

	// bob's approval arrives as a signal with the credential the HR API gave him, as an approver
	// pastes it into the Temporal UI's Send a Signal dialog.
	issued, err := as(stack.TokenBob).IssueCredential(context.Background(), u.ID, hrapi.CredentialRequest{Action: "approve", Comment: "from the UI"})
	require.NoError(t, err)
	require.NoError(t, stk.Client.SignalWorkflow(context.Background(), wfID, "", issued.Message.Name, issued.Message.Input))

	st = waitStage(t, u.ID, workflows.OutcomeDeleted)
	assert.Equal(t, "deleted", userState(t, u.ID))
	require.Len(t, st.Decisions, 2)
	assert.Equal(t, "alice", st.Decisions[0].Approver)
	assert.Equal(t, "bob", st.Decisions[1].Approver)
	assert.Equal(t, "signal", st.Decisions[1].Via)
	assert.NotEmpty(t, st.Decisions[1].CredentialID)
	requireLinked(t, u, st)
	audit := readAudit(t, st)
	require.NotNil(t, audit.Ignored, "the audit record names what was refused")
	assert.Equal(t, "no-credential", audit.Ignored.Last[0].Reason)

	if *updateHistory {
		recordHistory(t, wfID)
	}
}

func Test_GivenNoApproval_ShouldEscalateThenEndArchivedWithoutDeleting(t *testing.T) {
	t.Parallel()
	u := users.take(t)
	wfID, _ := startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "delete", Retention: retention,
		Reason: "left", HREventID: "e2e-timeout"})

	st := waitStage(t, u.ID, workflows.OutcomeArchived)

	assert.Equal(t, "inactive", userState(t, u.ID), "an unapproved deletion never happens")
	requireLinked(t, u, st)
	var events []string
	for _, n := range hooks.For(wfID) {
		events = append(events, n.Event)
		if strings.Contains(n.Event, "escalat") {
			assert.Contains(t, n.Recipients, "carol")
		}
	}
	assert.Contains(t, strings.Join(events, ","), "escalat", "escalation must be notified before the timeout: %v", events)
}

func Test_GivenCancelDuringApproval_ShouldRestoreTheUser(t *testing.T) {
	t.Parallel()
	u := users.take(t)
	startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "delete", Reason: "left", HREventID: "e2e-cancel"})
	waitStage(t, u.ID, workflows.StageAwaitingApproval)
	require.Equal(t, "inactive", userState(t, u.ID))

	_, err := as(stack.TokenHR).Cancel(context.Background(), u.ID, "rehired")
	require.NoError(t, err)

	st := waitStage(t, u.ID, workflows.OutcomeCancelled)
	assert.Equal(t, "active", userState(t, u.ID), "a cancelled run restores the state the snapshot recorded")
	assert.Equal(t, workflows.OutcomeCancelled, st.Outcome)
}

func Test_GivenLegalHold_ShouldNotDeleteUntilReleased(t *testing.T) {
	t.Parallel()
	u := users.take(t)
	startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "delete", Retention: retention,
		Reason: "left", HREventID: "e2e-hold"})
	waitStage(t, u.ID, workflows.StageAwaitingApproval)

	hr := as(stack.TokenHR)
	_, err := hr.Hold(context.Background(), u.ID, "litigation")
	require.NoError(t, err)
	for _, tok := range []string{stack.TokenAlice, stack.TokenBob} {
		code, out := decide(t, tok, u.ID, "approve")
		require.Equal(t, http.StatusOK, code, out)
	}

	// Well past the retention, the hold still keeps the user.
	time.Sleep(3 * time.Second)
	wait, err := workflows.ParseDuration(retention)
	require.NoError(t, err)
	time.Sleep(time.Duration(wait))
	st := status(t, u.ID)
	assert.True(t, st.OnHold)
	assert.False(t, st.Stage.Final(), "a held run must not finish: %s", st.Stage)
	assert.Equal(t, "inactive", userState(t, u.ID), "a held user is never deleted")

	_, err = hr.Release(context.Background(), u.ID, "settled")
	require.NoError(t, err)
	waitStage(t, u.ID, workflows.OutcomeDeleted)
	assert.Equal(t, "deleted", userState(t, u.ID))
}

func Test_GivenDuplicateHREvent_ShouldReturnTheSameRunAndNeverStartASecond(t *testing.T) {
	t.Parallel()
	u := users.take(t)
	body := hrapi.OffboardingRequest{UserID: u.ID, Disposition: "archive", Reason: "left", HREventID: "wd-dup-1"}
	wfID, runID := startOffboarding(t, body)

	hr := as(stack.TokenHR)
	again, err := hr.Start(context.Background(), body)
	require.NoError(t, err)
	assert.True(t, again.Existing, "a redelivery answers 200 with the run it started")
	assert.Equal(t, wfID, again.WorkflowID)
	assert.Equal(t, runID, again.RunID)

	other := hrapi.OffboardingRequest{UserID: u.ID, Disposition: "delete", Reason: "left", HREventID: "wd-dup-2"}
	_, err = hr.Start(context.Background(), other)
	if code, out := answer(t, err); code != http.StatusConflict {
		// The first run may already have finished; then a new event is a new offboarding by design.
		require.Equal(t, workflows.OutcomeArchived, status(t, u.ID).Stage, "unexpected %d: %s", code, out)
	}

	waitStage(t, u.ID, workflows.OutcomeArchived)
	resp, err := stk.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("%s = %q AND %s = %q", workflows.SAGenesysUserID, u.ID, workflows.SADisposition, "archive"),
	})
	require.NoError(t, err)
	assert.Len(t, resp.Executions, 1, "one HR event, one run")
}

func Test_GivenRateLimitAnd5xxStorms_ShouldFinishWithoutLosingOrDuplicating(t *testing.T) {
	// Not parallel: the faults apply to the whole emulator.
	u := users.take(t)
	stk.Emulator.SetFaults(emulator.Faults{RateLimitBurst: 8, RetryAfter: 1, Burst5xx: 3, ErrorRate: 0.01})
	defer stk.Emulator.SetFaults(emulator.Faults{})

	startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "archive", Reason: "left", HREventID: "e2e-storm"})
	st := waitStage(t, u.ID, workflows.OutcomeArchived)

	requireLinked(t, u, st)
	var limited, failed int
	for _, c := range stk.Emulator.Calls() {
		switch {
		case c.Status == http.StatusTooManyRequests:
			limited++
		case c.Status >= 500:
			failed++
		}
	}
	assert.GreaterOrEqual(t, limited, 8, "the storm must have been served")
	assert.GreaterOrEqual(t, failed, 3)
}

func Test_GivenRuns_ShouldBeFoundByEverySearchAttribute(t *testing.T) {
	t.Parallel()
	u := users.take(t)
	startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "delete", Retention: "P3D",
		Reason: "left", HREventID: "e2e-visibility"})
	st := waitStage(t, u.ID, workflows.StageAwaitingApproval)
	require.False(t, st.RetentionUntil.IsZero())

	queries := map[string]string{
		workflows.SAGenesysUserID:  fmt.Sprintf("%s = %q", workflows.SAGenesysUserID, u.ID),
		workflows.SAStage:          fmt.Sprintf("%s = %q AND %s = %q", workflows.SAStage, workflows.StageAwaitingApproval, workflows.SAGenesysUserID, u.ID),
		workflows.SADisposition:    fmt.Sprintf("%s = 'delete' AND %s = %q", workflows.SADisposition, workflows.SAGenesysUserID, u.ID),
		workflows.SARequestedBy:    fmt.Sprintf("%s = 'hr-system' AND %s = %q", workflows.SARequestedBy, workflows.SAGenesysUserID, u.ID),
		workflows.SARetentionUntil: fmt.Sprintf("%s > %q AND %s = %q", workflows.SARetentionUntil, time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339), workflows.SAGenesysUserID, u.ID),
	}
	for attr, q := range queries {
		t.Run(attr, func(t *testing.T) {
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				resp, err := stk.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: q})
				require.NoError(c, err)
				require.Len(c, resp.Executions, 1, q)
				assert.Equal(c, workflows.WorkflowID(u.ID), resp.Executions[0].Execution.WorkflowId)
				assert.Equal(c, enums.WORKFLOW_EXECUTION_STATUS_RUNNING, resp.Executions[0].Status)
			}, 10*time.Second, 200*time.Millisecond)
		})
	}

	// The HR API's list filters by stage too.
	page, err := as(stack.TokenAuditor).List(context.Background(), hrapi.ListQuery{Stage: string(workflows.StageAwaitingApproval), Disposition: "delete"})
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(page.Items, func(it hrapi.ListItem) bool { return it.UserID == u.ID }), "%s is not listed: %+v", u.ID, page.Items)

	_, err = as(stack.TokenHR).Cancel(context.Background(), u.ID, "test done")
	require.NoError(t, err)
	waitStage(t, u.ID, workflows.OutcomeCancelled)
}

func Test_GivenTheCLI_ShouldStartApproveAndReportAsJSON(t *testing.T) {
	t.Parallel()
	u := users.take(t)
	env := append(os.Environ(), "TEMPORAL_ADDRESS="+stk.Temporal.Address, "TEMPORAL_NAMESPACE="+stk.Temporal.Namespace,
		config.EnvPayloadKeysFile+"="+stk.PayloadKeysPath)
	for k, v := range policyEnv() {
		env = append(env, k+"="+v)
	}
	cliWith := func(extra []string, args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(bins, "starter"), args...)
		cmd.Env = append(slices.Clone(env), extra...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	cli := func(args ...string) (string, error) { return cliWith(nil, args...) }

	api := func(token string) []string {
		return []string{config.EnvAPIURL + "=" + stk.APIURL, config.EnvAPIToken + "=" + token}
	}
	out, err := cli("start", "--user", u.ID, "--disposition", "delete", "--retention", retention, "--reason", "left", "--json")
	require.Error(t, err, "a start needs the HR API, which proves who asks: %s", out)
	out, err = cliWith(api(stack.TokenHR), "start", "--user", u.ID, "--disposition", "delete", "--retention", retention, "--reason", "left", "--json")
	require.NoError(t, err, out)
	waitStage(t, u.ID, workflows.StageAwaitingApproval)

	out, err = cli("approve", u.ID, "--comment", "mine")
	require.Error(t, err, "without an HR API token there is no credential: %s", out)
	assert.Contains(t, out, "needs a decision credential")
	out, err = cli("approve", u.ID, "--as", "alice")
	require.Error(t, err, "the CLI has no --as to claim an identity with: %s", out)
	assert.Contains(t, out, "unknown flag")

	// The approvers are who their tokens say, in the order they decided.
	for _, tok := range []string{stack.TokenBob, stack.TokenAlice} {
		out, err = cliWith(api(tok), "approve", u.ID, "--comment", "ok")
		require.NoError(t, err, out)
	}
	st := waitStage(t, u.ID, workflows.OutcomeDeleted)
	require.Len(t, st.Decisions, 2)
	assert.Equal(t, []string{"bob", "alice"}, []string{st.Decisions[0].Approver, st.Decisions[1].Approver})

	out, err = cli("status", u.ID, "--json")
	require.NoError(t, err, out)
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	assert.Equal(t, workflows.OutcomeDeleted, st.Stage)
	require.NotNil(t, st.Export)

	out, err = cli("verify-bundle", stk.ExportURL+"/"+st.Export.Bundle)
	require.NoError(t, err, out)

	_, err = cli("status", uuid.NewString())
	require.Error(t, err, "status of a user with no offboarding must fail")
}
