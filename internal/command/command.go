// Package command runs Offboard's programs one way: the command's context ends on SIGINT or
// SIGTERM, and a failure is printed to standard error after the program's name, with exit
// status 1.
package command

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Execute runs root as the program name and exits the process if it fails.
func Execute(name string, root *cobra.Command) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
