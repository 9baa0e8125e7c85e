package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// cliTokens are the HR API tokens of the CLI tests' identities: the CLI decides as the identity
// of its token.
func cliTokens() []config.Token {
	return []config.Token{
		config.NewToken("ops-1-token-0123456789abcdef", config.RoleApprover, "ops-1"),
		config.NewToken("ops-1-hr-token-0123456789abcdef", config.RoleHR, "ops-1"),
		config.NewToken("bob-token-0123456789abcdef", config.RoleApprover, "bob"),
		config.NewToken("ops-2-token-0123456789abcdef", config.RoleHR, "ops-2"),
	}
}

// tokenOf is the secret of identity's token for the command: an HR token to start and control,
// an approver's to decide, any other time the first one; empty when it has none.
func tokenOf(identity string, args []string) string {
	role := config.Role("")
	if len(args) > 0 {
		switch args[0] {
		case "start", "cancel", "hold", "release":
			role = config.RoleHR
		case "approve", "reject":
			role = config.RoleApprover
		}
	}
	for _, tok := range append(cliTokens(), apiTokens()...) {
		if tok.Identity == identity && (role == "" || tok.Role == role) {
			return tok.Secret()
		}
	}
	return ""
}

// runCLI runs the starter in-process against the test server, as the given identity: the
// requester of what it starts, and the holder of that identity's HR API token.
func runCLI(t *testing.T, as string, args ...string) (string, error) {
	t.Helper()
	envv := config.MapEnv{
		config.EnvAPIURL:       env.apiURL,
		config.EnvAPIToken:     tokenOf(as, args),
		"TEMPORAL_ADDRESS":     env.ts.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE":   env.ts.GetDefaultNamespace(),
		"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml",
		config.EnvPayloadKeys:  testPayloadKeys,
	}
	cmd := newRootCmd(deps{Env: envv})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func Test_GivenTheCLI_ShouldStartDedupeReportListAndDecide(t *testing.T) {
	user := nextUser(t)
	out, err := runCLI(t, "ops-1", "start", "--json", "--user", user, "--disposition", "delete", "--reason", "left", "--hr-event-id", "cli-evt")
	require.NoError(t, err, out)
	var res hrapi.StartResult
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	assert.Equal(t, workflows.WorkflowID(user), res.WorkflowID)

	out, err = runCLI(t, "ops-1", "start", "--user", user, "--disposition", "delete", "--reason", "left", "--hr-event-id", "cli-evt")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Already started")
	assert.Contains(t, out, res.RunID)

	_, err = runCLI(t, "ops-1", "start", "--user", user, "--disposition", "archive", "--reason", "left", "--hr-event-id", "other")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in flight")

	waitStage(t, user, workflows.StageAwaitingApproval)
	out, err = runCLI(t, "ops-1", "status", user)
	require.NoError(t, err, out)
	assert.Contains(t, out, "awaiting-approval")
	assert.Contains(t, out, "ops-1")
	assert.Contains(t, out, "Access ended:")
	assert.Contains(t, out, "Revoked grants:", "each revoking step has its line")

	out, err = runCLI(t, "ops-1", "status", "--json", user)
	require.NoError(t, err, out)
	var st workflows.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	require.NotNil(t, st.Export, "exported before approval")
	assert.False(t, st.AccessEndedAt.IsZero(), "access ended before the export")
	assert.Len(t, st.Access, len(activities.RevokeSteps()))

	// The requester may not approve their own request; mallory is not on the allow-list.
	_, err = runCLI(t, "ops-1", "approve", user)
	require.Error(t, err)
	_, err = runCLI(t, "mallory", "approve", user, "--comment", "sure")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rejected")

	_, err = runCLI(t, "nobody", "approve", user, "--credential", "not.a.credential")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the credential is refused", "a credential given on the command line is checked by the run")

	out, err = runCLI(t, "bob", "reject", "--json", user, "--comment", "not yet")
	require.NoError(t, err, out)
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	require.Len(t, st.Decisions, 1)
	assert.Equal(t, "bob", st.Decisions[0].Approver)
	waitStage(t, user, workflows.OutcomeRejected)

	// The bundle written before approval verifies.
	bundleURL := "file://" + env.exportDir + "/" + st.Export.Bundle
	out, err = runCLI(t, "auditor", "verify-bundle", bundleURL)
	require.NoError(t, err, out)
	assert.Contains(t, out, "OK")
	out, err = runCLI(t, "auditor", "verify-bundle", "--json", bundleURL)
	require.NoError(t, err, out)
	assert.Contains(t, out, `"conversations"`)
	// The digest the status records proves the bundle at a plain path is the run's own.
	out, err = runCLI(t, "ops-1", "status", user)
	require.NoError(t, err, out)
	assert.Contains(t, out, "Export digest:")
	assert.Contains(t, out, st.Export.ManifestSHA256)
	out, err = runCLI(t, "auditor", "verify-bundle", "--expect-digest", st.Export.ManifestSHA256, env.exportDir+"/"+st.Export.Bundle)
	require.NoError(t, err, out)
	assert.Contains(t, out, "the one expected")

	out, err = runCLI(t, "ops-1", "list", "--disposition", "delete")
	require.NoError(t, err, out)
	out, err = runCLI(t, "ops-1", "list", "--json", "--stage", "awaiting-approval")
	require.NoError(t, err, out)
	var page hrapi.ListPage
	require.NoError(t, json.Unmarshal([]byte(out), &page), out)
}

func Test_GivenTheCLI_ShouldControlRunsAndReportEachFailure(t *testing.T) {
	user := nextUser(t)
	_, err := runCLI(t, "ops-2", "start", "--user", user, "--disposition", "delete", "--reason", "left")
	require.NoError(t, err)
	waitStage(t, user, workflows.StageAwaitingApproval)
	out, err := runCLI(t, "ops-2", "hold", user, "--reason", "litigation")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Legal hold")
	_, err = runCLI(t, "ops-2", "hold", user)
	require.Error(t, err, "second hold is rejected")
	out, err = runCLI(t, "ops-2", "release", user)
	require.NoError(t, err, out)
	out, err = runCLI(t, "ops-2", "cancel", "--json", user, "--reason", "rehired")
	require.NoError(t, err, out)
	waitStage(t, user, workflows.OutcomeCancelled)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"start", "--user", "nope", "--disposition", "archive", "--reason", "x"}, "userId"},
		{[]string{"start", "--user", user, "--disposition", "erase", "--reason", "x"}, "disposition"},
		{[]string{"status", "not-a-uuid"}, "userId"},
		{[]string{"status", nextUser(t)}, "not found"},
		{[]string{"list", "--stage", "bogus"}, "stage"},
		{[]string{"approve"}, "arg"},
		{[]string{"approve", user}, "needs a decision credential"},
		{[]string{"approve", user, "--as", "alice"}, "unknown flag: --as"},
		{[]string{"verify-bundle", "file://" + t.TempDir() + "/none/run"}, ""},
		{[]string{"cancel", user}, "finished"},
		{[]string{"status", user, "--temporal-address", "http://x:1"}, "TEMPORAL_ADDRESS"},
		{[]string{"status", user, "--temporal-namespace", "no-such-namespace"}, "check TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE"},
		{[]string{"list", "--temporal-namespace", "no-such-namespace"}, "check TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE"},
	} {
		_, err := runCLI(t, "ops-2", tc.args...)
		require.Error(t, err, "%v must fail", tc.args)
		assert.Contains(t, strings.ToLower(err.Error()), strings.ToLower(tc.want), "%v", tc.args)
	}
}

func Test_GivenTheCLI_ShouldStartByEmailOrEmployeeIDResolvedOnTheWorker(t *testing.T) {
	byEmail, byEmployeeID := nextUser(t), nextUser(t)
	for byEmployeeID == env.users[emulator.AmbiguousRehireIndex] || byEmployeeID == env.users[emulator.AmbiguousEarlierIndex] {
		byEmployeeID = nextUser(t) // the seeded rehire's employee ID names two users
	}
	rec, _ := env.emu.User(byEmail)
	out, err := runCLI(t, "ops-1", "start", "--json", "--email", strings.ToUpper(rec.Email), "--disposition", "archive", "--reason", "left", "--dry-run")
	require.NoError(t, err, out)
	var res hrapi.StartResult
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	assert.Equal(t, workflows.WorkflowID(byEmail), res.WorkflowID)

	rec, _ = env.emu.User(byEmployeeID)
	out, err = runCLI(t, "ops-1", "start", "--employee-id", rec.EmployeeID, "--disposition", "archive", "--reason", "left", "--dry-run")
	require.NoError(t, err, out)
	assert.Contains(t, out, workflows.WorkflowID(byEmployeeID))

	_, err = runCLI(t, "ops-1", "start", "--email", "nobody@example.com", "--disposition", "archive", "--reason", "left")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no active or inactive Genesys user has that email")
	assert.NotContains(t, err.Error(), "nobody@example.com")

	_, err = runCLI(t, "ops-1", "start", "--user", byEmail, "--email", "x@example.com", "--disposition", "archive", "--reason", "left")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exactly one of userId, email and employeeId")
}
