package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	operatorpb "go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

// process is a binary running as a child process, with its output kept for failure messages.
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func startProcess(t *testing.T, env []string, name string, args ...string) *process {
	t.Helper()
	p := &process{done: make(chan error, 1)}
	p.cmd = exec.Command(filepath.Join(bins, name), args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p, p
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	return p
}

// freeAddrs returns n distinct free loopback addresses.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	// All are held open until all are picked, so that no two are the same port.
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// createNamespace registers a namespace with Offboard's search attributes, so that the test's
// own worker process is the only one polling it.
func createNamespace(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	_, err := stk.Client.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: name, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	require.NoError(t, err)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := stk.Client.OperatorService().AddSearchAttributes(ctx, &operatorpb.AddSearchAttributesRequest{
			Namespace: name, SearchAttributes: workflows.SearchAttributes(),
		})
		assert.NoError(c, err)
	}, 20*time.Second, 250*time.Millisecond)
}

// busiestActiveUser is the active seeded user with the most conversations.
func busiestActiveUser(t *testing.T, em *emulator.Emulator) emulator.UserSummary {
	t.Helper()
	var u emulator.UserSummary
	for _, s := range em.SeedUsers() {
		if s.State == "active" && s.Conversations > u.Conversations {
			u = s
		}
	}
	require.Positive(t, u.Conversations)
	return u
}

// processStack is a namespace of its own served by the worker and the HR API binaries, each a
// child process, against the test's Temporal server and a Genesys emulator at genesysURL.
type processStack struct {
	env        []string // the processes' environment, for starting more workers
	worker     *process
	hr         *hrclient.Client
	approver   *hrclient.Client // alice's, an approver
	healthAddr string           // the first worker's health and metrics address
}

// Tokens of the process stack's HR API.
const (
	procHRToken       = "proc-hr-token-0123456789"
	procApproverToken = "proc-approver-token-0123456789"
)

// startProcessStack starts the stack; extra (KEY=value) adds to or overrides both processes'
// environment.
func startProcessStack(t *testing.T, ns, genesysURL, exportDir string, extra ...string) processStack {
	t.Helper()
	createNamespace(t, ns)
	addrs := freeAddrs(t, 2)
	apiAddr, healthAddr := addrs[0], addrs[1]
	key, err := credential.GenerateKey()
	require.NoError(t, err)
	env := append(os.Environ(),
		"OFFBOARD_DECISION_SIGNING_KEY="+base64.StdEncoding.EncodeToString(key.Seed()),
		"OFFBOARD_DECISION_KEYS="+credential.EncodePublicKey(key.Public().(ed25519.PublicKey)),
		"TEMPORAL_ADDRESS="+stk.Temporal.Address,
		"TEMPORAL_NAMESPACE="+ns,
		"GENESYSCLOUD_API_URL="+genesysURL,
		"GENESYSCLOUD_OAUTHCLIENT_ID="+emulator.DevClientID,
		"GENESYSCLOUD_OAUTHCLIENT_SECRET="+emulator.DevClientSecret,
		"OFFBOARD_EXPORT_URL=file://"+filepath.ToSlash(exportDir),
		"OFFBOARD_EXPORT_WINDOW=P60D",
		"OFFBOARD_WORKER_ADDR="+healthAddr,
		"OFFBOARD_SHUTDOWN_TIMEOUT=2s",
		"OFFBOARD_API_ADDR="+apiAddr,
		"OFFBOARD_API_TOKENS="+procHRToken+":hr:hr-system,"+procApproverToken+":approver:alice",
		"OFFBOARD_LOG_FORMAT=text",
		config.EnvPayloadKeysFile+"="+stk.PayloadKeysPath,
	)
	env = append(env, extra...)
	ps := processStack{env: env, worker: startProcess(t, env, "worker"), healthAddr: healthAddr}
	startProcess(t, env, "starter", "serve")
	ps.hr = hrclient.New("http://"+apiAddr, procHRToken, nil)
	ps.approver = hrclient.New("http://"+apiAddr, procApproverToken, nil)
	require.Eventually(t, func() bool { return ps.hr.Ready(context.Background()) == nil }, 30*time.Second, 100*time.Millisecond, "starter serve never became ready")
	return ps
}

// The worker binary is stopped with SIGTERM while it exports; a restarted worker finishes the
// run from the export's last heartbeat, and the bundle holds every conversation exactly once.
func Test_GivenWorkerSIGTERMMidExport_ShouldResumeAfterRestartWithoutDuplicates(t *testing.T) {
	// Its own emulator, slowed down so that the export is still running when the worker stops.
	em := emulator.New(emulator.Options{Seed: 7, Users: 8, Conversations: 4000, JobPolls: -1})
	gen := httptest.NewServer(em)
	defer gen.Close()
	u := busiestActiveUser(t, em)
	em.SetFaults(emulator.Faults{Latency: 40 * time.Millisecond})

	const ns = "process-e2e"
	exportDir := t.TempDir()
	ps := startProcessStack(t, ns, gen.URL, exportDir)
	worker, hr, healthAddr, env := ps.worker, ps.hr, ps.healthAddr, ps.env
	ctx := context.Background()

	res, err := hr.Start(ctx, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "archive", Reason: "left", HREventID: "proc-1"})
	require.NoError(t, err)
	require.False(t, res.Existing, "want a new run (202)")

	stageOf := func() workflows.Status {
		st, err := hr.Status(ctx, u.ID)
		require.NoError(t, err)
		return st
	}
	require.Eventually(t, func() bool { return stageOf().Stage == workflows.StageExporting }, 60*time.Second, 100*time.Millisecond)

	// The worker answers its health probe and exposes the SDK's metrics for Prometheus.
	for path, want := range map[string]string{"/healthz": "", "/metrics": "temporal_"} {
		resp, err := http.Get("http://" + healthAddr + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, body)
		assert.Contains(t, string(body), want, path)
	}
	time.Sleep(3 * time.Second) // some windows written and heartbeated

	require.NoError(t, worker.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-worker.done:
		require.NoError(t, err, "the worker must exit cleanly on SIGTERM:\n%s", worker.output())
	case <-time.After(30 * time.Second):
		t.Fatalf("the worker did not stop within 30 s of SIGTERM:\n%s", worker.output())
	}
	worker.done <- nil // for the cleanup's wait
	// No worker runs now, so ask the server rather than the workflow: the export is pending.
	desc, err := stk.Client.WorkflowService().DescribeWorkflowExecution(context.Background(),
		&workflowservice.DescribeWorkflowExecutionRequest{Namespace: ns, Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.WorkflowID(u.ID)}})
	require.NoError(t, err)
	var pending []string
	for _, a := range desc.GetPendingActivities() {
		pending = append(pending, a.GetActivityType().GetName())
	}
	require.Equal(t, []string{"ExportInteractions"}, pending, "the export must have been interrupted, not finished")
	require.NotEmpty(t, desc.GetPendingActivities()[0].GetHeartbeatDetails().GetPayloads(), "the interrupted export must have heartbeated its progress")

	startProcess(t, env, "worker")
	var st workflows.Status
	require.Eventually(t, func() bool {
		st = stageOf()
		return st.Stage.Final()
	}, 120*time.Second, 250*time.Millisecond)
	require.Equal(t, workflows.OutcomeArchived, st.Stage, "errors: %v", st.Notes)

	rep, err := bundle.VerifyURL(context.Background(), "file://"+filepath.ToSlash(filepath.Join(exportDir, st.Export.Bundle)))
	require.NoError(t, err)
	require.True(t, rep.OK(), "bundle problems: %v", rep.Problems)
	assert.Equal(t, em.ConversationCount(u.ID, rep.Manifest.Window.Start, rep.Manifest.Window.End), rep.Conversations)
	assert.Equal(t, "inactive", func() string { r, _ := em.User(u.ID); return r.State }())

	// The export ran more than once, and the later attempt started from a heartbeat.
	attempts := exportAttempts(t, ns, workflows.WorkflowID(u.ID))
	assert.GreaterOrEqual(t, attempts, int32(2), "the export must have been retried after the SIGTERM")
}

// exportAttempts returns the attempt number of the ExportInteractions activity that completed.
func exportAttempts(t *testing.T, ns, workflowID string) int32 {
	t.Helper()
	scheduled := map[int64]string{}
	var token []byte
	for {
		resp, err := stk.Client.WorkflowService().GetWorkflowExecutionHistory(context.Background(),
			&workflowservice.GetWorkflowExecutionHistoryRequest{
				Namespace: ns, Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID}, NextPageToken: token,
			})
		require.NoError(t, err)
		for _, ev := range resp.GetHistory().GetEvents() {
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
				scheduled[ev.EventId] = a.GetActivityType().GetName()
			}
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] == "ExportInteractions" {
				return a.GetAttempt()
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	require.Fail(t, fmt.Sprintf("no ExportInteractions in the history of %s", workflowID))
	return 0
}
