package command

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"

	"github.com/offboard/offboard/internal/version"
)

// program is a root with one subcommand that takes one argument and a number.
func program(run func() error) *cobra.Command {
	root := &cobra.Command{Use: "prog"}
	var n int
	sub := &cobra.Command{Use: "do <thing>", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error { return run() }}
	sub.Flags().IntVar(&n, "count", 0, "a number")
	root.AddCommand(sub)
	return root
}

func runProgram(t *testing.T, run func() error, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := program(run)
	root.SetOut(&out)
	code := Run(context.Background(), "prog", root, args, &errOut)
	return code, out.String(), errOut.String()
}

func Test_GivenAUsageError_ShouldExit2WithTheUsageLine(t *testing.T) {
	ok := func() error { return nil }
	for name, args := range map[string][]string{
		"unknown flag":       {"do", "x", "--nope"},
		"missing argument":   {"do"},
		"extra argument":     {"do", "x", "y"},
		"bad flag value":     {"do", "x", "--count", "many"},
		"unknown command":    {"undo"},
		"flag without value": {"do", "x", "--count"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runProgram(t, ok, args...)
			assert.Equal(t, ExitUsage, code, stderr)
			assert.Contains(t, stderr, "Usage: prog ", stderr)
			assert.Contains(t, stderr, "--help", stderr)
		})
	}
}

func Test_GivenAFailingCommand_ShouldExit1OrItsOwnCode(t *testing.T) {
	code, _, stderr := runProgram(t, func() error { return errors.New("boom") }, "do", "x")
	assert.Equal(t, ExitFailure, code)
	assert.Equal(t, "prog: boom\n", stderr)

	code, _, stderr = runProgram(t, func() error { return &ExitError{Code: 3, Err: errors.New("odd")} }, "do", "x")
	assert.Equal(t, 3, code)
	assert.Equal(t, "prog: odd\n", stderr)

	code, _, stderr = runProgram(t, func() error { return nil }, "do", "x")
	assert.Equal(t, 0, code)
	assert.Empty(t, stderr)
}

func Test_GivenVersion_ShouldPrintTheBuildsVersion(t *testing.T) {
	old := version.Version
	version.Version = "v9.8.7"
	t.Cleanup(func() { version.Version = old })
	code, out, stderr := runProgram(t, nil, "--version")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "prog "+version.String()+"\n", out)
	assert.Contains(t, out, "v9.8.7")
}
