// Command worker runs an Offboard worker: the Offboarding workflow and its activities.
// Configuration comes from the environment (see internal/config.Vars) with flags overriding it.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/command"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/workerproc"
)

func main() { command.Execute("worker", newRootCmd()) }

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
		if strings.HasPrefix(v.Used, "worker") {
			names = append(names, v.Name)
		}
	}
	return names
}
