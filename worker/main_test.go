package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/internal/command"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/version"
)

func runWorker(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	code := command.Run(context.Background(), "worker", root, args, &errOut)
	return code, out.String(), errOut.String()
}

func Test_GivenTypedPolicyFlags_ShouldTakeABooleanAloneAndNumbersAsNumbers(t *testing.T) {
	cmd := newRootCmd()
	require.NoError(t, cmd.ParseFlags([]string{"--approve-archive", "--approvals-required", "2", "--escalation-fraction", "0.25"}))
	p, err := config.Source{Env: config.MapEnv{}, Flags: cmd.Flags()}.Policy()
	require.NoError(t, err)
	assert.True(t, p.ApproveArchive)
	assert.Equal(t, 2, p.ApprovalsRequired)
	assert.InDelta(t, 0.25, p.EscalationFraction, 1e-9)
	assert.Equal(t, "int", cmd.Flags().Lookup("approvals-required").Value.Type())
	assert.Equal(t, "bool", cmd.Flags().Lookup("approve-archive").Value.Type())
	assert.Equal(t, "duration", cmd.Flags().Lookup("shutdown-timeout").Value.Type())
}

func Test_GivenAWordForANumberOrAnUnknownFlag_ShouldExit2WithTheUsageLine(t *testing.T) {
	for _, args := range [][]string{{"--approvals-required", "two"}, {"--no-such-flag"}, {"extra"}} {
		code, _, stderr := runWorker(t, args...)
		assert.Equal(t, command.ExitUsage, code, stderr)
		assert.Contains(t, stderr, "Usage: worker [flags]", stderr)
	}
}

func Test_GivenVersion_ShouldPrintTheBuildsVersion(t *testing.T) {
	code, out, stderr := runWorker(t, "--version")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "worker "+version.String()+"\n", out)
}

func Test_GivenABuildIDWithASpace_ShouldRefuseToStartNamingTheFlag(t *testing.T) {
	code, _, stderr := runWorker(t, "--build-id", "v 2", "--deployment-name", "offboard")

	assert.Equal(t, command.ExitFailure, code, stderr)
	assert.Contains(t, stderr, `--build-id="v 2"`)
	assert.NotContains(t, stderr, "--deployment-name", "a good deployment name is not an error")
}
