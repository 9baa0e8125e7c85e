package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"golang.org/x/sync/errgroup"

	"github.com/offboard/offboard/devstack/stack"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// A link carries a credential bound to its approver and run: it decides once, and is refused
// when tampered with, expired or sent to another run.
func Test_GivenDecisionLinks_ShouldDecideOnceAndRefuseTamperedExpiredAndMisdirectedOnes(t *testing.T) {
	t.Parallel()
	u, other := users.take(t), users.take(t)
	wfID, _ := startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "delete", Retention: retention, Reason: "left", HREventID: "e2e-links"})
	otherID, _ := startOffboarding(t, hrapi.OffboardingRequest{UserID: other.ID, Disposition: "delete", Retention: retention, Reason: "left", HREventID: "e2e-links-other"})
	waitStage(t, u.ID, workflows.StageAwaitingApproval)
	waitStage(t, other.ID, workflows.StageAwaitingApproval)
	ctx, anyone := context.Background(), as("")

	alice, err := as(stack.TokenAlice).IssueCredential(ctx, u.ID, hrapi.CredentialRequest{Action: "approve", Comment: "via link", TTL: "PT1H"})
	require.NoError(t, err)
	assert.Equal(t, hrapi.DecisionLink(alice.Credential), alice.Link)

	d, err := anyone.InspectDecision(ctx, alice.Credential)
	require.NoError(t, err)
	assert.Equal(t, hrapi.Decision{Action: "approve", Identity: "alice", Role: "approver", WorkflowID: wfID, UserID: u.ID, Comment: "via link", ExpiresAt: alice.ExpiresAt}, d)
	assert.Empty(t, status(t, u.ID).Decisions, "inspecting a link decides nothing")

	tampered := tamper(alice.Credential)
	code, body := answer(t, second(anyone.FollowDecision(ctx, tampered)))
	assert.Equal(t, http.StatusUnauthorized, code, body)
	assert.NotContains(t, body, tampered[:40], "a problem never echoes the credential")

	short, err := as(stack.TokenBob).IssueCredential(ctx, u.ID, hrapi.CredentialRequest{Action: "approve", TTL: "PT1S"})
	require.NoError(t, err)
	time.Sleep(1500 * time.Millisecond)
	code, body = answer(t, second(anyone.FollowDecision(ctx, short.Credential)))
	assert.Equal(t, http.StatusUnauthorized, code, "expired: %s", body)
	assert.Contains(t, body, "expired")

	st, err := anyone.FollowDecision(ctx, alice.Credential)
	require.NoError(t, err)
	require.Len(t, st.Decisions, 1)
	assert.Equal(t, "alice", st.Decisions[0].Approver)
	code, body = answer(t, second(anyone.FollowDecision(ctx, alice.Credential)))
	assert.Equal(t, http.StatusConflict, code, "a link decides once: %s", body)

	// bob's credential for the other run, signalled to this one, is recorded and ignored.
	misdirected, err := as(stack.TokenBob).IssueCredential(ctx, other.ID, hrapi.CredentialRequest{Action: "approve"})
	require.NoError(t, err)
	assert.Equal(t, otherID, misdirected.WorkflowID)
	require.NoError(t, stk.Client.SignalWorkflow(ctx, wfID, "", misdirected.Message.Name, misdirected.Message.Input))
	st = waitIgnored(t, u.ID, 1)
	assert.Equal(t, "wrong-run", st.Ignored.Last[0].Reason)
	assert.Len(t, st.Decisions, 1)

	bob, err := as(stack.TokenBob).IssueCredential(ctx, u.ID, hrapi.CredentialRequest{Action: "approve"})
	require.NoError(t, err)
	_, err = anyone.FollowDecision(ctx, bob.Credential)
	require.NoError(t, err)
	st = waitStage(t, u.ID, workflows.OutcomeDeleted)
	assert.Len(t, st.Decisions, 2)
	_, err = as(stack.TokenHR).Cancel(ctx, other.ID, "test over")
	require.NoError(t, err)
	waitStage(t, other.ID, workflows.OutcomeCancelled)
}

// second drops a call's value, keeping its error.
func second[T any](_ T, err error) error { return err }

// 10,000 ignored signals and 1,000 malformed ones on a real server: the run continues as new with
// a small state, reaches its outcome and writes its audit record.
func Test_GivenSignalFlood_ShouldReachItsOutcomeAndWriteItsAudit(t *testing.T) {
	t.Parallel()
	var desc *workflowservice.DescribeWorkflowExecutionResponse
	u := users.take(t)
	// Retention waits a day, so the flood arrives while the run waits, as a real one would.
	wfID, _ := startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "delete", Retention: "P1D", Reason: "left", HREventID: "e2e-flood"})
	waitStage(t, u.ID, workflows.StageAwaitingApproval)
	for _, tok := range []string{stack.TokenAlice, stack.TokenBob} {
		code, body := decide(t, tok, u.ID, "approve")
		require.Equal(t, http.StatusOK, code, body)
	}
	waitStage(t, u.ID, workflows.StageRetention)

	// Temporal refuses more than 10,000 signals to one run, so the flood comes in bursts that
	// the run takes in before the next, continuing as new on the way, as a flood faster than the
	// worker would meet the server's limit instead.
	ctx := context.Background()
	burst := func(n int, name string, arg func(i int) any) {
		var g errgroup.Group
		g.SetLimit(16)
		for i := range n {
			g.Go(func() error { return stk.Client.SignalWorkflow(ctx, wfID, "", name, arg(i)) })
		}
		require.NoError(t, g.Wait(), "Temporal accepts every signal of a burst")
	}
	sent := 0
	for range 10 {
		burst(1_000, workflows.UpdateApprove, func(i int) any {
			return workflows.DecisionInput{Approver: []string{"alice", "bob"}[i%2], Comment: "forged"}
		})
		sent += 1_000
		waitIgnored(t, u.ID, sent)
	}
	burst(1_000, workflows.UpdateCancel, func(int) any { return []byte{0xff, 0xfe} })
	st := waitIgnored(t, u.ID, 11_000)
	assert.Equal(t, workflows.StageRetention, st.Stage)
	assert.Len(t, st.Decisions, 2)
	assert.False(t, st.Ignored.Last[len(st.Ignored.Last)-1].At.IsZero())

	// An approver shortens retention: the run, flooded, still takes a credentialed update.
	_, err := as(stack.TokenAlice).ExtendRetention(ctx, u.ID, time.Now().Add(3*time.Second), "flood over")
	require.NoError(t, err)
	st = waitStage(t, u.ID, workflows.OutcomeDeleted)
	audit := readAudit(t, st)
	require.NotNil(t, audit.Ignored)
	assert.Equal(t, 11_000, audit.Ignored.Total)
	assert.LessOrEqual(t, len(audit.Ignored.Last), 5)
	assert.Equal(t, "deleted", audit.Outcome)
	desc, err = stk.Client.DescribeWorkflowExecution(ctx, wfID, "")
	require.NoError(t, err)
	info := desc.GetWorkflowExecutionInfo()
	t.Logf("flood: %d ignored; continued as new: %t; the last run's history: %d events",
		audit.Ignored.Total, info.GetFirstRunId() != info.GetExecution().GetRunId(), info.GetHistoryLength())
}

// tamper changes one character of tok's signature, well before its end: a base64url signature's
// last character carries only two bits, so changing the tail may decode to the same bytes.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
