package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/command"
)

// Exit statuses of verify-bundle, as its help and the README document them; a verified bundle
// (with the digest expected, if one is) exits 0.
const (
	// verifyDiscrepancies is a bundle read in full that has discrepancies, or another digest.
	verifyDiscrepancies = 1
	// verifyUnchecked is a bundle that could not be checked: bad URL, unreadable store, nothing there.
	verifyUnchecked = 2
)

// verifyCmd checks a bundle from its store alone: it needs neither Temporal nor Genesys.
func (c *cli) verifyCmd() *cobra.Command {
	var expect string
	cmd := &cobra.Command{
		Use:   "verify-bundle <path or URL> [--expect-digest <sha256>]",
		Short: "Verify an export bundle's checksums, manifest digest and uniqueness (no Genesys access needed)",
		Long: "verify-bundle reads the bundle at a directory path or a store URL (file://, s3://, gs://, azblob://;\n" +
			"the bundle's directory or its manifest.json) and checks every part's size and digest, the manifest\n" +
			"digest and that no conversation appears twice. With --expect-digest it also checks that the manifest\n" +
			"digest is the one the run recorded (status: Export digest; audit.json: export.manifestSha256), so the\n" +
			"bundle is proven to be the run's own.\n\n" +
			"Exit status: 0 verified; 1 discrepancies (including another digest than expected); 2 could not\n" +
			"check (bad URL, unreadable store, no bundle there) or a usage error.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.verifyBundle(cmd, args[0], expect) },
	}
	cmd.Flags().StringVar(&expect, "expect-digest", "", "the manifest digest (sha256 hex) the run recorded; another is a discrepancy")
	c.jsonFlag(cmd)
	return cmd
}

// verifyBundle verifies the bundle at where, a path or URL; see verifyCmd for the exit statuses.
func (c *cli) verifyBundle(cmd *cobra.Command, where, expect string) error {
	bundleURL, expect, err := verifyTarget(where, expect)
	if err != nil {
		return &command.ExitError{Code: verifyUnchecked, Err: err}
	}
	rep, err := bundle.VerifyURL(cmd.Context(), bundleURL)
	if err == nil && rep.Manifest == nil && rep.Parts == 0 && len(rep.Notes) == 0 {
		err = errors.New("no manifest and no parts there: nothing to check")
	}
	if err != nil {
		return &command.ExitError{Code: verifyUnchecked, Err: fmt.Errorf("could not check %s: %w", where, err)}
	}
	if expect != "" && rep.Manifest != nil && rep.Manifest.ManifestSHA256 != expect {
		rep.Problems = append(rep.Problems, fmt.Sprintf("the manifest digest is %s, not the %s expected: this is not the bundle that run wrote", rep.Manifest.ManifestSHA256, expect))
	}
	if err := c.print(cmd.OutOrStdout(), rep, reportText(rep, expect != "")); err != nil {
		return err
	}
	if len(rep.Problems) > 0 {
		return &command.ExitError{Code: verifyDiscrepancies, Err: fmt.Errorf("bundle %s has %d discrepancies:\n  - %s", rep.Bundle, len(rep.Problems), strings.Join(rep.Problems, "\n  - "))}
	}
	return nil
}

// verifyTarget is the store URL of where and the expected digest in lower case, or what is wrong
// with them.
func verifyTarget(where, expect string) (string, string, error) {
	expect = strings.ToLower(strings.TrimSpace(expect))
	if expect != "" && !isSHA256Hex(expect) {
		return "", "", fmt.Errorf("--expect-digest %q: want the 64 hex digits of a sha256", expect)
	}
	bundleURL, err := bundleLocation(where)
	return bundleURL, expect, err
}

// reportText prints a report for people; expected says a digest was expected (and matched when
// there is no problem).
func reportText(rep bundle.Report, expected bool) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprintf(w, "Bundle %s: %d parts, %d conversations, %d bytes\n", rep.Bundle, rep.Parts, rep.Conversations, rep.Bytes)
		for _, n := range rep.Notes {
			fmt.Fprintf(w, "note: %s\n", n)
		}
		if len(rep.Problems) == 0 {
			what := "every checksum, the manifest digest and the conversation IDs check out"
			if expected {
				what += ", and the manifest digest is the one expected"
			}
			fmt.Fprintf(w, "OK: %s.\n", what)
		}
	}
}

// bundleLocation is the store URL of where: a URL as given, a plain path as its file:// URL.
func bundleLocation(where string) (string, error) {
	if u, err := url.Parse(where); err == nil && len(u.Scheme) > 1 {
		return where, nil
	}
	abs, err := filepath.Abs(where)
	if err != nil {
		return "", fmt.Errorf("bundle path %q: %w", where, err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// isSHA256Hex reports whether s is the hex of a sha256 digest.
func isSHA256Hex(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}
