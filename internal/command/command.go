// Package command runs Offboard's programs one way: the command's context ends on SIGINT or
// SIGTERM, every program answers --version, and a failure is printed to standard error after
// the program's name. The exit status says what failed: 2 for a usage error (unknown flag or
// command, missing or extra argument, bad flag value), printed with the usage line; the code of
// an *ExitError; otherwise 1.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/version"
)

// Exit statuses shared by every program.
const (
	// ExitFailure is a command that ran and failed.
	ExitFailure = 1
	// ExitUsage is a command line that could not be understood.
	ExitUsage = 2
)

// ExitError is a failure with its own exit status; an empty message prints nothing.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageError is a command line cmd could not understand.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string { return e.err.Error() }

func (e *usageError) Unwrap() error { return e.err }

// Execute runs root as the program name with the process's arguments and exits the process
// with the status Run returns.
func Execute(name string, root *cobra.Command) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := Run(ctx, name, root, os.Args[1:], os.Stderr)
	stop()
	if code != 0 {
		os.Exit(code)
	}
}

// Run runs root with args, prints a failure to stderr and returns the exit status.
func Run(ctx context.Context, name string, root *cobra.Command, args []string, stderr io.Writer) int {
	prepare(root)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var usage *usageError
	if _, _, ferr := root.Find(args); ferr != nil && cmd == root && !errors.As(err, &usage) {
		// cobra refuses an unknown subcommand before it parses anything.
		err = &usageError{cmd: root, err: err}
	}
	var exit *ExitError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s: %s\nUsage: %s\nRun '%s --help' for more.\n", name, strings.TrimRight(err.Error(), "\n"), usageLine(usage.cmd), usage.cmd.CommandPath())
		return ExitUsage
	case errors.As(err, &exit):
		if msg := exit.Error(); msg != "" {
			fmt.Fprintln(stderr, name+":", msg)
		}
		return exit.Code
	}
	fmt.Fprintln(stderr, name+":", err)
	return ExitFailure
}

// usageLine is how cmd is called: its use line, or "<path> [command]" when it only groups others.
func usageLine(cmd *cobra.Command) string {
	if !cmd.Runnable() && cmd.HasAvailableSubCommands() {
		return cmd.CommandPath() + " [command]"
	}
	return cmd.UseLine()
}

// prepare gives root --version and makes every command's flag and argument errors usage
// errors.
func prepare(root *cobra.Command) {
	if root.Version == "" {
		root.Version = version.String()
		root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	}
	root.SilenceUsage, root.SilenceErrors = true, true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return &usageError{cmd: cmd, err: err} })
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if args := c.Args; args != nil {
			c.Args = func(cmd *cobra.Command, a []string) error {
				if err := args(cmd, a); err != nil {
					return &usageError{cmd: cmd, err: err}
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
