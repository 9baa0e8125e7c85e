// Command worker runs an Offboard worker: the Offboarding workflow and its activities.
// Configuration comes from the environment (see internal/config.Vars) with flags overriding it.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/workerproc"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// run runs the worker command with args until SIGINT or SIGTERM and returns the exit code, so
// that the signal handler is released before the process exits.
func run(args []string, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cmd := newRootCmd()
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "worker:", err)
	return 1
}

func newRootCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "worker",
		Short:         "Run an Offboard worker (Offboarding workflow and activities)",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src := config.Source{Flags: cmd.Flags()}
			logger, err := src.Logger(os.Stderr)
			if err != nil {
				return err
			}
			cfg, err := workerproc.FromSource(src, logger)
			if err != nil {
				return fmt.Errorf("configuration:\n%w", err)
			}
			return workerproc.Run(cmd.Context(), cfg)
		},
	}
	config.AddFlags(cmd.Flags(), workerVars()...)
	return cmd
}

// workerVars are the settings whose flags the worker offers.
func workerVars() []string {
	var names []string
	for _, v := range config.Vars() {
		if v.Used == "worker" || v.Used == "worker, starter" || v.Used == "worker, starter serve" {
			names = append(names, v.Name)
		}
	}
	return names
}
