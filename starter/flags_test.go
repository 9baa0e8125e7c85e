package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/command"
	"github.com/offboard/offboard/internal/config"
)

// runStarter runs the starter as its main does, with an empty environment, and returns the
// exit status, standard output and standard error.
func runStarter(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(deps{Env: config.MapEnv{"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"}})
	root.SetOut(&out)
	code := command.Run(context.Background(), "starter", root, args, &errOut)
	return code, out.String(), errOut.String()
}

func Test_GivenAPolicyFlag_ShouldBeRefusedByEveryCLICommandAndOfferedByServeOnly(t *testing.T) {
	const user = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	for _, args := range [][]string{
		{"start", "--user", user, "--disposition", "delete", "--reason", "left"},
		{"approve", user}, {"cancel", user}, {"status", user}, {"list"},
		{"verify-bundle", t.TempDir()}, {"keys", "public"},
	} {
		code, _, stderr := runStarter(t, append(args, "--approvals-required", "2")...)
		assert.Equal(t, command.ExitUsage, code, "%v: %s", args, stderr)
		assert.Contains(t, stderr, "unknown flag: --approvals-required", "%v", args)
		assert.Contains(t, stderr, "Usage: starter "+args[0], "%v", args)
	}
	serve, _, err := newRootCmd(deps{}).Find([]string{"serve"})
	require.NoError(t, err)
	f := serve.Flags().Lookup("approvals-required")
	require.NotNil(t, f, "the HR API checks requests against the policy")
	assert.Equal(t, "int", f.Value.Type())
	assert.Equal(t, "bool", serve.Flags().Lookup("approve-archive").Value.Type())
}

func Test_GivenEachSubcommand_ShouldShowOnlyItsOwnFlags(t *testing.T) {
	for _, tc := range []struct {
		cmd       []string
		has, lack []string
	}{
		{[]string{"status"}, []string{"--temporal-address", "--json"}, []string{"--approvals-required", "--api-url", "Global Flags"}},
		{[]string{"approve"}, []string{"--temporal-namespace", "--api-url", "--credential", "--comment"}, []string{"--retention-default"}},
		{[]string{"start"}, []string{"--api-url", "--dry-run", "--json"}, []string{"--temporal-address", "--approvals-required"}},
		{[]string{"verify-bundle"}, []string{"--expect-digest", "--json", "Exit status: 0 verified; 1 discrepancies"}, []string{"--temporal-address", "--approvals-required"}},
		{[]string{"keys", "generate"}, []string{"--out"}, []string{"--json", "--temporal-address"}},
		{[]string{"serve"}, []string{"--addr", "--temporal-address", "--approvals-required int", "--approve-archive ", "--event-secrets-file", "--event-tolerance duration", "--codec-origin", "--payload-keys-file", "--export-url"}, []string{"--json", "--webhook-secret-file"}},
		{[]string{"batch"}, []string{"--file", "--max-in-flight", "--wait", "--idempotency-key", "--api-url", "--json", "status", "pause", "resume", "cancel"}, []string{"--temporal-address", "--approvals-required"}},
		{[]string{"batch", "status"}, []string{"--problems", "--page-token", "--json", "--api-url"}, []string{"--temporal-address", "--file"}},
	} {
		code, out, stderr := runStarter(t, append(tc.cmd, "--help")...)
		require.Equal(t, 0, code, stderr)
		for _, s := range tc.has {
			assert.Contains(t, out, s, "%v --help", tc.cmd)
		}
		for _, s := range tc.lack {
			assert.NotContains(t, out, s, "%v --help", tc.cmd)
		}
	}
}

func Test_GivenAUsageError_ShouldExit2WithTheUsageLine(t *testing.T) {
	for _, args := range [][]string{
		{"list", "--page-size", "ten"},
		{"status"},
		{"status", "a", "b"},
		{"approve", "--as", "alice"},
		{"frobnicate"},
	} {
		code, _, stderr := runStarter(t, args...)
		assert.Equal(t, command.ExitUsage, code, "%v: %s", args, stderr)
		assert.Contains(t, stderr, "Usage: starter", "%v", args)
	}
	code, out, _ := runStarter(t, "--version")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "starter "), out)
}

// writeTestBundle writes a sound one-part bundle under dir/u/r and returns its directory and
// manifest digest.
func writeTestBundle(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := bundle.Open(ctx, "file://"+dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.AddDate(0, 0, 30)
	m := bundle.Manifest{
		Format: bundle.Format, ToolVersion: "test", UserID: "u",
		Window:  bundle.Window{Start: t0, End: t1},
		Query:   bundle.Query{API: "jobs", SegmentFilters: json.RawMessage(`[]`), Selection: "start in window", CountAPI: "query"},
		Windows: []bundle.JobWindow{{Start: t0, End: t1, JobIDs: []string{"j1"}, Conversations: 2}},
	}
	p, err := s.CreatePart(ctx, "u/r", bundle.PartName(0))
	require.NoError(t, err)
	for i := range 2 {
		require.NoError(t, p.Add([]byte(fmt.Sprintf(`{"conversationId":"c%d","conversationStart":%q,"participants":[{"userId":"u"}]}`, i, t0.Add(time.Hour).Format("2006-01-02T15:04:05.000Z")))))
	}
	rec, err := p.Close(ctx)
	require.NoError(t, err)
	m.Parts = append(m.Parts, rec)
	user := []byte(`{"user":{"id":"u"}}`)
	require.NoError(t, s.WriteOnce(ctx, bundle.Key("u/r", bundle.UserName), user, "application/json"))
	sum := sha256.Sum256(user)
	m.User = bundle.ObjectRecord{Name: bundle.UserName, Bytes: int64(len(user)), SHA256: hex.EncodeToString(sum[:])}
	require.NoError(t, m.Seal())
	raw, err := m.Encode()
	require.NoError(t, err)
	require.NoError(t, s.WriteOnce(ctx, bundle.Key("u/r", bundle.ManifestName), raw, "application/json"))
	return filepath.Join(dir, "u", "r"), m.ManifestSHA256
}

func Test_GivenABundle_ShouldExit0Verified1ForDiscrepanciesAnd2WhenItCannotCheck(t *testing.T) {
	path, digest := writeTestBundle(t)
	other := strings.Repeat("0", 64)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"plain path", []string{path}, 0, "OK"},
		{"relative path", []string{mustRel(t, path)}, 0, "OK"},
		{"file URL", []string{"file://" + path}, 0, "OK"},
		{"manifest URL", []string{"file://" + path + "/manifest.json"}, 0, "OK"},
		{"the run's digest", []string{path, "--expect-digest", strings.ToUpper(digest)}, 0, "the one expected"},
		{"another digest", []string{path, "--expect-digest", other}, 1, "not the " + other + " expected"},
		{"no such directory", []string{filepath.Join(path, "nope")}, 2, "could not check"},
		{"an empty directory", []string{t.TempDir()}, 2, "nothing to check"},
		{"a bucket, not a bundle", []string{"s3://bucket"}, 2, "could not check"},
		{"a digest that is none", []string{path, "--expect-digest", "abc"}, 2, "64 hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runStarter(t, append([]string{"verify-bundle"}, tc.args...)...)
			assert.Equal(t, tc.code, code, "%s%s", out, stderr)
			assert.Contains(t, out+stderr, tc.want)
		})
	}

	// A changed part is a discrepancy.
	part := filepath.Join(path, bundle.PartName(0))
	require.NoError(t, os.Chmod(part, 0o600))
	require.NoError(t, os.WriteFile(part, []byte("tampered"), 0o600))
	code, _, stderr := runStarter(t, "verify-bundle", path)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "discrepancies")
}

// mustRel is path relative to the working directory.
func mustRel(t *testing.T, path string) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, path)
	require.NoError(t, err)
	return rel
}
