// Package e2e drives Offboard end to end through its public surfaces (the HR API, the CLI and
// Temporal signals) against the devstack: a real Temporal server in-process, the Genesys
// emulator, the worker and the HR API. One stack serves the whole package.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/devstack/stack"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

// updateHistory re-records the workflow package's replay history from a real delete run. The
// stack then encrypts with the test-only keyring beside it, so that the replay test decodes it.
var updateHistory = flag.Bool("update-history", false, "rewrite ../workflows/testdata/"+encryptedHistory+" from a real run, encrypted with "+replayKeys)

// Timing of the e2e policy: short enough for tests, long enough to act within.
const (
	approvalTimeout = 15 * time.Second
	retention       = "PT4S"
)

var (
	stk   *stack.Stack
	bins  string // directory of the built worker and starter binaries
	hooks *webhook
	users userPool
	// rosterPath is the HR roster the worker's reconciliation reads (reconcile_test.go).
	rosterPath string
	runWait    = 90 * time.Second
)

// requestsPerMinute is the emulator's limit and the fleet's budget: every client of the tests'
// OAuth client, the tests' own inspection ones too, keeps Genesys's count under it.
const requestsPerMinute = 2400

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "offboard-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	bins = filepath.Join(dir, "bin")
	if err := buildBinaries(ctx, bins); err != nil {
		fmt.Fprintln(os.Stderr, "build the worker and starter binaries:", err)
		return 1
	}

	hooks = newWebhook()
	defer hooks.Close()

	opts := stack.DefaultOptions()
	opts.DataDir = filepath.Join(dir, "data")
	opts.TemporalPort, opts.UIPort, opts.EmulatorPort, opts.APIPort, opts.MetricsPort = 0, 0, 0, 0, 0
	opts.Users, opts.Conversations = 60, 3000
	// The tests run in parallel on one emulator: Genesys's default 300 a minute would make them
	// queue for each other's count queries (31 days each); the rate-limit tests inject their 429s.
	opts.RequestsPerMinute = requestsPerMinute
	opts.WebhookURL = hooks.URL
	opts.PolicyEnv = policyEnv()
	rosterPath = filepath.Join(dir, "hr", "leavers.csv")
	env := config.MapEnv{config.EnvReconcileRosterURL: "file://" + filepath.ToSlash(rosterPath)}
	if *updateHistory {
		env[config.EnvPayloadKeysFile] = filepath.Join("..", "workflows", "testdata", replayKeys)
	}
	opts.Env = env
	logFile, err := os.Create(filepath.Join(dir, "stack.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logFile.Close()
	opts.Logger = slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	stk, err = stack.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the stack:", err)
		return 1
	}
	defer stk.Stop()
	users.init(stk.Emulator.SeedUsers())
	code := m.Run()
	if code != 0 {
		if logs, err := os.ReadFile(logFile.Name()); err == nil {
			fmt.Fprintf(os.Stderr, "stack log (warnings and errors):\n%s\n", tail(logs, 200))
		}
		fmt.Fprintln(os.Stderr, "stack stopped with:", stk.Stop())
	}
	return code
}

// tail returns the last n lines of b.
func tail(b []byte, n int) []byte {
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, []byte("\n"))
}

// policyEnv is the e2e worker policy: the dev policy made four-eyes, with short waits.
func policyEnv() map[string]string {
	env := stack.DevPolicyEnv()
	env[workflows.EnvApprovalsRequired] = "2"
	env[workflows.EnvApprovers] = "alice,bob"
	env[workflows.EnvApprovalTimeout] = workflows.Duration(approvalTimeout).String()
	env[workflows.EnvEscalateTo] = "carol"
	env[workflows.EnvRetentionDefault] = retention
	return env
}

// buildBinaries builds the worker and starter commands, as an operator would run them.
func buildBinaries(ctx context.Context, dir string) error {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./worker", "./starter")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// userPool hands each test its own seeded active user with conversations, most first.
type userPool struct {
	mu   sync.Mutex
	free []emulator.UserSummary
}

func (p *userPool) init(all []emulator.UserSummary) {
	for _, u := range all {
		if u.State == "active" && u.Conversations > 0 {
			p.free = append(p.free, u)
		}
	}
	sort.Slice(p.free, func(i, j int) bool { return p.free[i].Conversations > p.free[j].Conversations })
}

func (p *userPool) take(t *testing.T) emulator.UserSummary {
	t.Helper()
	return p.takeWhere(t, func(emulator.UserSummary) bool { return true })
}

// takeWhere takes the free user with the most conversations for whom fits holds.
func (p *userPool) takeWhere(t *testing.T, fits func(emulator.UserSummary) bool) emulator.UserSummary {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.IndexFunc(p.free, fits)
	require.GreaterOrEqual(t, i, 0, "the e2e seed has no free user with conversations that fits; raise Users in TestMain")
	u := p.free[i]
	p.free = slices.Delete(p.free, i, i+1)
	return u
}

// as is the HR API as the bearer of token.
func as(token string) *hrclient.Client { return hrclient.New(stk.APIURL, token, nil) }

// answer is the HTTP status and message of a call's error: 200 and "" when it succeeded, the
// problem's status and text when the API refused. Any other failure fails the test.
func answer(t *testing.T, err error) (int, string) {
	t.Helper()
	if err == nil {
		return http.StatusOK, ""
	}
	var p *hrapi.Problem
	require.True(t, errors.As(err, &p), "the call failed before the API answered: %v", err)
	return p.Status, p.Error()
}

// startOffboarding starts req as dev-hr and requires a new run (202).
func startOffboarding(t *testing.T, req hrapi.OffboardingRequest) (workflowID, runID string) {
	t.Helper()
	res, err := as(stack.TokenHR).Start(context.Background(), req)
	require.NoError(t, err, "start")
	require.False(t, res.Existing, "start: want a new run (202), got the run of an earlier delivery")
	require.Equal(t, workflows.WorkflowID(req.UserID), res.WorkflowID)
	return res.WorkflowID, res.RunID
}

// status reads GET /v1/offboardings/{userId}.
func status(t *testing.T, userID string) workflows.Status {
	t.Helper()
	st, err := as(stack.TokenAuditor).Status(context.Background(), userID)
	require.NoError(t, err, "status")
	return st
}

// waitStage polls the status until the stage is want, failing on any other outcome.
func waitStage(t *testing.T, userID string, want workflows.Stage) workflows.Status {
	t.Helper()
	deadline := time.Now().Add(runWait)
	var st workflows.Status
	for time.Now().Before(deadline) {
		st = status(t, userID)
		if st.Stage == want && (!want.Final() || closed(t, userID)) {
			if want.Final() {
				st = status(t, userID) // as it closed, with the audit record
			}
			return st
		}
		if st.Stage.Final() && st.Stage != want {
			require.Failf(t, "unexpected outcome", "waiting for %s, the run ended %s: %v", want, st.Stage, st.Notes)
		}
		time.Sleep(150 * time.Millisecond)
	}
	require.Failf(t, "timed out", "waiting for stage %s; last status %+v", want, st)
	return st
}

// waitIgnored waits until the user's offboarding has ignored at least n signals.
func waitIgnored(t *testing.T, userID string, n int) workflows.Status {
	t.Helper()
	deadline := time.Now().Add(runWait)
	for {
		st := status(t, userID)
		if st.Ignored != nil && st.Ignored.Total >= n {
			return st
		}
		if time.Now().After(deadline) {
			require.Failf(t, "timed out", "waiting for %d ignored signals; last status %+v", n, st)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// readAudit reads the audit record of a finished run from the export store.
func readAudit(t *testing.T, st workflows.Status) activities.AuditRecord {
	t.Helper()
	require.NotNil(t, st.Export, "the run exported, so its audit record sits beside the bundle")
	raw, err := os.ReadFile(filepath.Join(stk.ExportDir, filepath.FromSlash(st.Export.Bundle), "audit.json"))
	require.NoError(t, err)
	var rec activities.AuditRecord
	require.NoError(t, json.Unmarshal(raw, &rec))
	return rec
}

// closed reports whether the user's offboarding has finished, audit record included.
func closed(t *testing.T, userID string) bool {
	t.Helper()
	d, err := stk.Client.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(userID), "")
	require.NoError(t, err)
	return d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// decide posts an approval decision as token and returns the status code and message.
func decide(t *testing.T, token, userID, decision string) (int, string) {
	t.Helper()
	ctx, c := context.Background(), as(token)
	var err error
	switch decision {
	case "approve":
		_, err = c.Approve(ctx, userID, "e2e")
	case "reject":
		_, err = c.Reject(ctx, userID, "e2e")
	default:
		require.Failf(t, "unknown decision", "%q", decision)
	}
	return answer(t, err)
}

// webhook records the notifications the worker posts, and each delivery as sent.
type webhook struct {
	srv        *httptest.Server
	URL        string
	mu         sync.Mutex
	events     []activities.Notification
	deliveries []delivery
}

// delivery is one notification as the worker sent it.
type delivery struct {
	header http.Header
	body   []byte
}

func newWebhook() *webhook {
	h := &webhook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n activities.Notification
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = json.Unmarshal(body, &n)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.events = append(h.events, n)
		h.deliveries = append(h.deliveries, delivery{header: r.Header.Clone(), body: body})
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	h.URL = h.srv.URL
	return h
}

// Close stops the receiver.
func (h *webhook) Close() { h.srv.Close() }

// For returns the events received for a workflow.
func (h *webhook) For(workflowID string) []activities.Notification {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []activities.Notification
	for _, n := range h.events {
		if n.WorkflowID == workflowID {
			out = append(out, n)
		}
	}
	return out
}
