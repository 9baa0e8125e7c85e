package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/activities/bundle"
)

// verifyCmd checks a bundle from its store alone: it needs neither Temporal nor Genesys.
func (c *cli) verifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify-bundle <url>",
		Short: "Verify an export bundle's checksums, manifest digest and uniqueness (no Genesys access needed)",
		Args:  cobra.ExactArgs(1),
		RunE:  c.verifyBundle,
	}
}

// verifyBundle verifies the bundle at the one argument; any discrepancy fails the command.
func (c *cli) verifyBundle(cmd *cobra.Command, args []string) error {
	rep, err := bundle.VerifyURL(cmd.Context(), args[0])
	if err != nil {
		return fmt.Errorf("verify %s: %w", args[0], err)
	}
	if err := c.print(cmd.OutOrStdout(), rep, func(w io.Writer) {
		fmt.Fprintf(w, "Bundle %s: %d parts, %d conversations, %d bytes\n", rep.Bundle, rep.Parts, rep.Conversations, rep.Bytes)
		for _, n := range rep.Notes {
			fmt.Fprintf(w, "note: %s\n", n)
		}
		if len(rep.Problems) == 0 {
			fmt.Fprintln(w, "OK: every checksum, the manifest digest and the conversation IDs check out.")
		}
	}); err != nil {
		return err
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("bundle %s has %d discrepancies:\n  - %s", rep.Bundle, len(rep.Problems), strings.Join(rep.Problems, "\n  - "))
	}
	return nil
}
