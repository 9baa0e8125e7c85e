package stack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

// Test_GivenTemporalOnPostgreSQL_ShouldFinishARunAcrossAServerRestart starts a private PostgreSQL
// with deploy/postgres.sh, creates the schemas with the server's tool, runs the stack on it and
// requests a delete; while the run awaits approval it restarts the Temporal server on the same
// database, then approves through the HR API and requires the same run to finish deleted.
func Test_GivenTemporalOnPostgreSQL_ShouldFinishARunAcrossAServerRestart(t *testing.T) {
	requirePostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pgDir, dbURL, password := startPostgres(t)

	var logs lockedBuffer
	o := Options{DataDir: t.TempDir(), TemporalDB: dbURL, Host: DefaultHost, Seed: 7, Users: 5, Conversations: 200, NoUI: true,
		Notices: io.Discard, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	s, err := Start(ctx, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })
	require.Empty(t, s.Temporal.DBPath)
	require.Contains(t, s.Temporal.Persistence, "PostgreSQL temporal@127.0.0.1:")

	user, err := pickUser(ctx, hrclient.New(s.APIURL, TokenAuditor, nil), s.Emulator.SeedUsers())
	require.NoError(t, err)
	started, err := hrclient.New(s.APIURL, TokenHR, nil).Start(ctx, hrapi.OffboardingRequest{
		UserID: user.ID, Disposition: string(workflows.DispositionDelete), Retention: "PT1S",
		Reason: "postgres restart test", HREventID: "pg-" + user.ID,
	})
	require.NoError(t, err)
	auditor := hrclient.New(s.APIURL, TokenAuditor, nil)
	waitStage(ctx, t, auditor, user.ID, workflows.StageAwaitingApproval)

	restartTemporal(ctx, t, s, o)

	desc, err := s.Client.DescribeWorkflowExecution(ctx, started.WorkflowID, "")
	require.NoError(t, err, "the run is in PostgreSQL after the restart")
	require.Equal(t, started.RunID, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId())
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())
	require.Eventually(t, func() bool {
		list, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: workflows.SAGenesysUserID + " = '" + user.ID + "'"})
		return err == nil && len(list.GetExecutions()) == 1
	}, 10*time.Second, 100*time.Millisecond, "the visibility database finds the run by its search attribute")

	_, err = hrclient.New(s.APIURL, TokenAlice, nil).Approve(ctx, user.ID, "approved after the restart")
	require.NoError(t, err)
	require.NoError(t, s.Client.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, nil))
	st, err := auditor.Status(ctx, user.ID)
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomeDeleted, st.Outcome, "notes: %v", st.Notes)

	require.NoError(t, s.Stop())
	require.NotContains(t, logs.String(), password, "the password is never logged")
	out, err := postgresScript(t, "stop", pgDir)
	require.NoError(t, err, out)
	_, err = postgresScript(t, "status", pgDir)
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit) && exit.ExitCode() == 3, "PostgreSQL is stopped (pg_ctl status exit 3), got %v", err)
}

// restartTemporal stops the stack's Temporal server and starts a new one on the same database and
// addresses; the worker, the HR API and the stack's client reconnect by themselves.
func restartTemporal(ctx context.Context, t *testing.T, s *Stack, o Options) {
	t.Helper()
	old := s.Temporal
	require.NoError(t, old.Stop())
	topts := o.TemporalOptions(o.Logger)
	topts.Port, topts.HTTPPort = portOf(t, old.Address), portOf(t, old.HTTPAddress)
	topts.DataConverter = old.dataConverter
	restarted, err := StartTemporal(ctx, topts)
	require.NoError(t, err)
	s.Temporal = restarted
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return n
}

func waitStage(ctx context.Context, t *testing.T, c *hrclient.Client, userID string, want workflows.Stage) {
	t.Helper()
	var last workflows.Stage
	require.Eventually(t, func() bool {
		st, err := c.Status(ctx, userID)
		last = st.Stage
		return err == nil && st.Stage == want
	}, 90*time.Second, 200*time.Millisecond, "stage %s, want %s", &last, want)
}

// requirePostgres skips outside CI when the machine has no PostgreSQL; under CI=true
// deploy/postgres.sh installs it, and failing to is a failure.
func requirePostgres(t *testing.T) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		return
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if _, err := exec.LookPath("initdb"); err != nil && len(bins) == 0 {
		t.Skip("PostgreSQL is not installed (CI=true installs it through deploy/postgres.sh)")
	}
}

// startPostgres starts a private PostgreSQL in a temporary directory with the schemas, stopped
// when the test ends, and returns the directory, the URL and the password.
func startPostgres(t *testing.T) (dir, dbURL, password string) {
	t.Helper()
	dir = t.TempDir()
	// As root the instance runs as the user postgres, who must reach the directory.
	if os.Geteuid() == 0 {
		require.NoError(t, os.Chmod(filepath.Dir(dir), 0o711))
	}
	port, err := freePort(DefaultHost)
	require.NoError(t, err)
	t.Cleanup(func() {
		if out, err := postgresScript(t, "stop", dir); err != nil {
			t.Errorf("stop PostgreSQL: %v\n%s", err, out)
		}
	})
	for _, args := range [][]string{{"start", dir, strconv.Itoa(port)}, {"schema", dir}} {
		out, err := postgresScript(t, args...)
		require.NoError(t, err, "deploy/postgres.sh %s:\n%s", args[0], out)
	}
	out, err := postgresScript(t, "url", dir)
	require.NoError(t, err, out)
	raw, err := os.ReadFile(filepath.Join(dir, "password"))
	require.NoError(t, err)
	return dir, strings.TrimSpace(out), string(raw)
}

func postgresScript(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("bash", append([]string{filepath.Join("..", "..", "deploy", "postgres.sh")}, args...)...).CombinedOutput()
	return string(out), err
}

// lockedBuffer is a log sink the stack's goroutines share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
