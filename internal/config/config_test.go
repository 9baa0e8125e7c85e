package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/workflows"
)

func Test_GivenPolicyFileVariablesAndFlags_ShouldApplyThemInThatOrder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(file, []byte("approvalsRequired: 2\napprovers: [alice, bob, carol]\nminRetention: P7D\n"), 0o600))
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	require.NoError(t, fs.Parse([]string{"--retention-max", "P90D"}))
	src := Source{Flags: fs, Env: MapEnv{EnvPolicyFile: file, workflows.EnvApprovalTimeout: "P3D", workflows.EnvRetentionMax: "P10D", workflows.EnvProtectedUserIDs: " 3f2504e0-4f89-41d3-9a0c-0305e82c3301 ,"}}
	p, err := src.Policy()
	require.NoError(t, err)
	assert.Equal(t, 2, p.ApprovalsRequired)
	assert.Equal(t, []string{"alice", "bob", "carol"}, p.Approvers)
	assert.Equal(t, 7*24*time.Hour, p.MinRetention)
	assert.Equal(t, 3*24*time.Hour, p.ApprovalTimeout)
	assert.Equal(t, 90*24*time.Hour, p.MaxRetention, "the flag overrides the variable")
	assert.Equal(t, []string{"3f2504e0-4f89-41d3-9a0c-0305e82c3301"}, p.ProtectedUserIDs)
}

func Test_GivenAccessStepSettings_ShouldReadThemFromTheEnvironmentAndTheFile(t *testing.T) {
	p, err := Source{Env: MapEnv{workflows.EnvOptionalAccessSteps: "forwarding, tokens", workflows.EnvHandOverReports: "true"}}.Policy()
	require.NoError(t, err)
	assert.Equal(t, []string{"forwarding", "tokens"}, p.OptionalAccessSteps)
	assert.True(t, p.HandOverReports)

	file := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(file, []byte("optionalAccessSteps: [station]\nhandOverReports: true\n"), 0o600))
	p, err = Source{Env: MapEnv{EnvPolicyFile: file}}.Policy()
	require.NoError(t, err)
	assert.Equal(t, []string{"station"}, p.OptionalAccessSteps)
	assert.True(t, p.HandOverReports)
}

func Test_GivenBadPolicySettings_ShouldNameTheSetting(t *testing.T) {
	for env, want := range map[string]string{
		workflows.EnvApprovalsRequired:   "OFFBOARD_APPROVALS_REQUIRED",
		workflows.EnvApprovalTimeout:     "OFFBOARD_APPROVAL_TIMEOUT",
		workflows.EnvRetentionMax:        "OFFBOARD_RETENTION_",
		workflows.EnvProtectedUserIDs:    "OFFBOARD_PROTECTED_USER_IDS",
		workflows.EnvApproveArchive:      "OFFBOARD_APPROVE_ARCHIVE",
		workflows.EnvOptionalAccessSteps: "OFFBOARD_OPTIONAL_ACCESS_STEPS",
		workflows.EnvHandOverReports:     "OFFBOARD_HAND_OVER_REPORTS",
	} {
		bad := map[string]string{workflows.EnvApprovalsRequired: "0", workflows.EnvApprovalTimeout: "soon", workflows.EnvRetentionMax: "P1D", workflows.EnvProtectedUserIDs: "bob", workflows.EnvApproveArchive: "maybe",
			workflows.EnvOptionalAccessSteps: "tokens,mfa", workflows.EnvHandOverReports: "sometimes"}[env]
		_, err := Source{Env: MapEnv{env: bad}}.Policy()
		require.Error(t, err, env)
		assert.Contains(t, err.Error(), want)
	}
	file := filepath.Join(t.TempDir(), "p.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"approvalz": 1}`), 0o600))
	_, err := Source{Env: MapEnv{EnvPolicyFile: file}}.Policy()
	require.ErrorContains(t, err, EnvPolicyFile)
}

func Test_GivenEveryPolicySettingAtItsDefault_ShouldReadTheDefaultPolicy(t *testing.T) {
	env := MapEnv{}
	file := map[string]string{}
	for _, v := range Vars() {
		env[v.Name] = v.Default
	}
	for _, s := range workflows.PolicySettings() {
		if v := env[s.Env]; v != "" {
			file[s.Key] = v
		}
	}
	p, err := Source{Env: env}.Policy()
	require.NoError(t, err)
	assert.Equal(t, workflows.DefaultPolicy(), p)

	// The file holds every key; a number, bool or duration as YAML writes it.
	var yaml strings.Builder
	for k, v := range file {
		fmt.Fprintf(&yaml, "%s: %s\n", k, v)
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml.String()), 0o600))
	p, err = Source{Env: MapEnv{EnvPolicyFile: path}}.Policy()
	require.NoError(t, err)
	assert.Equal(t, workflows.DefaultPolicy(), p)
}

func Test_GivenTokens_ShouldNeverShowTheirSecrets(t *testing.T) {
	secret := "s3cr3t-s3cr3t-s3cr3t"
	toks, err := Source{Env: MapEnv{EnvAPITokens: secret + ":hr:workday, " + secret + "x:approver:alice"}}.Tokens()
	require.NoError(t, err)
	require.Len(t, toks, 2)
	assert.Equal(t, "hr:workday", toks[0].String())
	assert.Equal(t, secret, toks[0].Secret())

	file := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(file, []byte("# comment\n"+secret+"y:auditor:audit\n"), 0o600))
	toks, err = Source{Env: MapEnv{EnvAPITokensFile: file}}.Tokens()
	require.NoError(t, err)
	require.Len(t, toks, 1)

	for _, bad := range []string{"short:hr:x", secret + ":admin:x", secret + ":hr:", secret + ":hr:bob@example.com", secret, secret + ":hr:a," + secret + ":hr:b"} {
		_, err := Source{Env: MapEnv{EnvAPITokens: bad}}.Tokens()
		require.Error(t, err, bad)
		assert.NotContains(t, err.Error(), secret, "errors never show a token")
		assert.Contains(t, err.Error(), EnvAPITokens)
	}
}

func Test_GivenTokenIdentities_ShouldNormaliseThemAndRefuseHiddenCharactersByPosition(t *testing.T) {
	secret := "s3cr3t-s3cr3t-s3cr3t"
	toks, err := Source{Env: MapEnv{EnvAPITokens: secret + "a:hr:Alice," + secret + "b:approver:ａｌｉｃｅ," + secret + "c:approver:Jane Doe"}}.Tokens()
	require.NoError(t, err)
	require.Len(t, toks, 3)
	assert.Equal(t, []string{"hr:alice", "approver:alice", "approver:jane doe"}, []string{toks[0].String(), toks[1].String(), toks[2].String()},
		"one identity may hold several tokens and roles; its spellings are one identity")

	for _, c := range []struct{ entries, position, problem string }{
		{secret + "a:hr:workday," + secret + "b:approver:alice\u200b", EnvAPITokens + " entry 2", "U+200B"},
		{secret + "a:approver:\u0430lice", EnvAPITokens + " entry 1", "mixes the scripts"},
		{secret + "a:approver:jane\tdoe", EnvAPITokens + " entry 1", "U+0009"},
		{secret + "a:approver:bob＠example.com", EnvAPITokens + " entry 1", "email"},
	} {
		_, err := Source{Env: MapEnv{EnvAPITokens: c.entries}}.Tokens()
		require.Error(t, err, c.entries)
		assert.Contains(t, err.Error(), c.position)
		assert.Contains(t, err.Error(), c.problem)
		assert.NotContains(t, err.Error(), secret, "errors never show a token")
	}

	file := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(file, []byte("# comment\n"+secret+"y:auditor:audit\n"+secret+"z:hr:\ufeffhr\n"), 0o600))
	_, err = Source{Env: MapEnv{EnvAPITokensFile: file}}.Tokens()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 3")
	assert.Contains(t, err.Error(), "U+FEFF")
	assert.NotContains(t, err.Error(), secret)
}

func Test_GivenTemporalAndBudgetSettings_ShouldBuildOptionsAndShares(t *testing.T) {
	env := MapEnv{"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "prod", "TEMPORAL_API_KEY": "key-abc", "TEMPORAL_CONFIG_FILE": "/nonexistent", EnvPayloadKeys: testKeyring}
	opts, err := Source{Env: env}.Temporal()
	require.NoError(t, err)
	assert.Equal(t, "temporal:7233", opts.HostPort)
	assert.Equal(t, "prod", opts.Namespace)
	assert.NotNil(t, opts.ConnectionOptions.TLS, "an API key enables TLS")

	_, err = Source{Env: MapEnv{"TEMPORAL_ADDRESS": "http://x:1", "TEMPORAL_CONFIG_FILE": "/nonexistent"}}.Temporal()
	require.ErrorContains(t, err, "TEMPORAL_ADDRESS")

	b, err := Source{Env: MapEnv{EnvFleetRequestsPerMin: "600", EnvWorkerReplicas: "4"}}.Budget()
	require.NoError(t, err)
	assert.Equal(t, 150, b.PerProcess())
	_, err = Source{Env: MapEnv{EnvWorkerReplicas: "-1"}}.Budget()
	require.ErrorContains(t, err, EnvWorkerReplicas)
}

func Test_GivenVars_ShouldDocumentEachOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Vars() {
		assert.False(t, seen[v.Name], "duplicate %s", v.Name)
		seen[v.Name] = true
		assert.NotEmpty(t, v.Usage, v.Name)
		if v.Secret {
			assert.Empty(t, v.Flag, "secret %s must have no flag", v.Name)
		}
		assert.True(t, strings.HasPrefix(v.Name, "OFFBOARD_") || strings.HasPrefix(v.Name, "TEMPORAL_") || strings.HasPrefix(v.Name, "GENESYSCLOUD_"), v.Name)
	}
}

// The README's configuration table is the operators' reference: every row must be there as
// the code has it (name, flag, default, programs and usage).
func Test_GivenREADME_ShouldHaveEveryVariablesRowAsTheCodeHasIt(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	rows := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok {
			if i := strings.Index(name, "`"); i > 0 {
				rows[name[:i]] = line
			}
		}
	}
	for _, v := range Vars() {
		row, ok := rows[v.Name]
		if !assert.True(t, ok, "README.md has no row for %s", v.Name) {
			continue
		}
		assert.Equal(t, readmeRow(v), row, "README row of %s", v.Name)
	}
}

// readmeRow is v's row in the README's configuration table.
func readmeRow(v Var) string {
	code := func(s, prefix string) string {
		if s == "" {
			return ""
		}
		return "`" + prefix + s + "`"
	}
	usage := v.Usage
	if v.Secret {
		usage += " Secret: never logged; no flag."
	}
	return fmt.Sprintf("| `%s` | %s | %s | %s | %s |", v.Name, code(v.Flag, "--"), code(v.Default, ""), v.Used, usage)
}

// The devstack's dev policy applies only where the operator's environment and policy file are silent.
func Test_GivenDefaultsUnderTheEnvironmentAndAFile_ShouldApplyThemOnlyWhereNothingIsSet(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(file, []byte("approvalTimeout: P3D\n"), 0o600))
	defaults := map[string]string{
		workflows.EnvApprovalsRequired: "1",
		workflows.EnvApprovalTimeout:   "P1D",
		workflows.EnvRetentionDefault:  "PT1M",
		workflows.EnvRetentionMin:      "PT0S",
	}
	src := Source{Env: MapEnv{workflows.EnvApprovalsRequired: "2", workflows.EnvApprovers: "alice,bob", EnvPolicyFile: file}}

	p, err := src.PolicyOver(defaults)

	require.NoError(t, err)
	assert.Equal(t, 2, p.ApprovalsRequired, "the environment wins over the default")
	assert.Equal(t, 3*24*time.Hour, p.ApprovalTimeout, "the file wins over the default")
	assert.Equal(t, time.Minute, p.DefaultRetention, "the default applies where nothing is set")
	values := PolicyValues(p)
	require.Len(t, values, len(workflows.PolicySettings()))
	assert.Contains(t, values, PolicyValue{Key: "approvalTimeout", Env: workflows.EnvApprovalTimeout, Value: "P3D"})
}
