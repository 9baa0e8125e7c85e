package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/offboard/offboard/devstack/defaults"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

// The identities of the HR API's tokens. Two approvers, because the policy wants two approvals
// and each decides through its own API replica.
const (
	requester = "hr-system"
	approverA = "alice"
	approverB = "bob"
	auditor   = "audit"
)

// quiet drops the SDK client's own logs; the driver reports what matters itself.
var quiet = tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))

// buildID is the fleet's Worker Deployment version: the workers run versioned, offboardings
// pinned to it, as in production. A rolling restart keeps it; a new build would be deployed
// beside it (docs/operations.md, "Deploying a new worker version").
const buildID = "cluster-1"

// shutdownTimeout is how long a stopping worker waits for its activities: a rolling restart
// waits this long at most per worker, and the export that outlasts it resumes elsewhere.
const shutdownTimeout = 10 * time.Second

// cluster is Offboard in its production shape on this machine: a private PostgreSQL, the Temporal
// server as its own process on it, the Genesys emulator, a worker fleet and HR API replicas, each
// a process of the binaries an operator runs.
type cluster struct {
	s         settings
	logs      string // directory of every process's log
	exportDir string

	pgDir  string
	pgPort int

	temporal     *proc
	temporalAddr string
	tc           client.Client

	emulator    *proc
	emulatorURL string

	workers     []*proc
	workerAddrs []string

	apis []*proc
	// hr, approvers and audit are each API replica's clients, one per identity.
	hr, audit []*hrclient.Client
	approve   map[string][]*hrclient.Client
}

// freePorts returns n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// randomToken is an API token: 32 random bytes in hex.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startCluster starts every process, each ready before the next that needs it. On error, what
// started is left for stopAll.
func startCluster(ctx context.Context, s settings, c *cluster) error {
	c.s, c.logs, c.exportDir, c.pgDir = s, filepath.Join(s.work, "logs"), filepath.Join(s.work, "exports"), filepath.Join(s.work, "pg")
	for _, d := range []string{c.logs, c.exportDir, c.pgDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	ports, err := freePorts(4 + s.workers + s.apis)
	if err != nil {
		return err
	}
	c.pgPort = ports[0]
	c.temporalAddr = "127.0.0.1:" + strconv.Itoa(ports[1])
	c.emulatorURL = "http://127.0.0.1:" + strconv.Itoa(ports[2])

	dbURL, password, err := c.startPostgres(ctx)
	if err != nil {
		return err
	}
	if err := c.startTemporal(ctx, dbURL, password); err != nil {
		return err
	}
	if err := c.startEmulator(ctx); err != nil {
		return err
	}
	env, tokens, err := c.fleetEnv(ctx)
	if err != nil {
		return err
	}
	for i := range s.workers {
		addr := "127.0.0.1:" + strconv.Itoa(ports[4+i])
		c.workerAddrs = append(c.workerAddrs, addr)
		w := &proc{name: fmt.Sprintf("worker-%d", i+1), bin: c.bin("worker"), log: filepath.Join(c.logs, fmt.Sprintf("worker-%d.log", i+1)),
			env: append(slices.Clip(env), config.EnvWorkerAddr+"="+addr)}
		c.workers = append(c.workers, w)
		if err := c.startWorker(ctx, i); err != nil {
			return err
		}
	}
	if err := c.promote(ctx, env); err != nil {
		return err
	}
	c.approve = map[string][]*hrclient.Client{}
	for i := range s.apis {
		addr := "127.0.0.1:" + strconv.Itoa(ports[4+s.workers+i])
		a := &proc{name: fmt.Sprintf("hr-api-%d", i+1), bin: c.bin("starter"), args: []string{"serve"},
			log: filepath.Join(c.logs, fmt.Sprintf("hr-api-%d.log", i+1)), env: append(slices.Clip(env), config.EnvAPIAddr+"="+addr)}
		c.apis = append(c.apis, a)
		base := "http://" + addr
		c.hr = append(c.hr, hrclient.New(base, tokens[requester], nil))
		c.audit = append(c.audit, hrclient.New(base, tokens[auditor], nil))
		for _, who := range []string{approverA, approverB} {
			c.approve[who] = append(c.approve[who], hrclient.New(base, tokens[who], nil))
		}
		if err := a.start(); err != nil {
			return err
		}
		if err := a.waitReady(ctx, time.Minute, c.audit[i].Ready); err != nil {
			return err
		}
	}
	return nil
}

func (c *cluster) bin(name string) string { return filepath.Join(c.s.bin, name) }

// startPostgres starts the private PostgreSQL with deploy/postgres.sh, creates Temporal's schemas
// and returns the database URL without its password, and the password apart.
func (c *cluster) startPostgres(ctx context.Context) (string, string, error) {
	if _, err := script(ctx, c.s.repo, "start", c.pgDir, strconv.Itoa(c.pgPort)); err != nil {
		return "", "", err
	}
	if _, err := script(ctx, c.s.repo, "schema", c.pgDir); err != nil {
		return "", "", err
	}
	out, err := script(ctx, c.s.repo, "url", c.pgDir)
	if err != nil {
		return "", "", err
	}
	u, err := url.Parse(strings.TrimSpace(out))
	if err != nil {
		return "", "", fmt.Errorf("deploy/postgres.sh url printed no URL")
	}
	password, _ := u.User.Password()
	u.User = url.User(u.User.Username())
	return u.String(), password, nil
}

// startTemporal runs the Temporal server as its own process on PostgreSQL (devstack temporal --db,
// the password in PGPASSWORD rather than on the command line) and dials it.
func (c *cluster) startTemporal(ctx context.Context, dbURL, password string) error {
	host, port, _ := net.SplitHostPort(c.temporalAddr)
	c.temporal = &proc{name: "temporal", bin: c.bin("devstack"), log: filepath.Join(c.logs, "temporal.log"),
		args: []string{"temporal", "--db", dbURL, "--host", host, "--temporal-port", port, "--no-ui", "--log-level", "warn"},
		env:  append(os.Environ(), "PGPASSWORD="+password)}
	if err := c.restartTemporal(ctx); err != nil {
		return err
	}
	tc, err := client.Dial(client.Options{HostPort: c.temporalAddr, Namespace: defaults.Namespace, Logger: quiet})
	if err != nil {
		return fmt.Errorf("dial Temporal at %s: %w", c.temporalAddr, err)
	}
	c.tc = tc
	return nil
}

// restartTemporal starts the server process and waits until its frontend answers health checks.
func (c *cluster) restartTemporal(ctx context.Context) error {
	if err := c.temporal.start(); err != nil {
		return err
	}
	return c.temporal.waitReady(ctx, 2*time.Minute, c.temporalReady)
}

// temporalReady checks that the server answers a visibility query on Offboard's search
// attributes in the namespace: it holds once the server has registered both, and again after
// PostgreSQL came back.
func (c *cluster) temporalReady(ctx context.Context) error {
	tc, err := client.Dial(client.Options{HostPort: c.temporalAddr, Namespace: defaults.Namespace, Logger: quiet})
	if err != nil {
		return err
	}
	defer tc.Close()
	_, err = tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: workflows.SAGenesysUserID + " IS NOT NULL"})
	return err
}

// startEmulator runs the seeded Genesys emulator with the Genesys rate limit the fleet shares and
// a call log that keeps every call of the test.
func (c *cluster) startEmulator(ctx context.Context) error {
	u, _ := url.Parse(c.emulatorURL)
	c.emulator = &proc{name: "emulator", bin: c.bin("emulator"), log: filepath.Join(c.logs, "emulator.log"), env: os.Environ(),
		args: []string{"--addr", u.Host, "--seed", "7", "--users", strconv.Itoa(c.s.users), "--conversations", strconv.Itoa(c.s.conversations),
			"--requests-per-minute", strconv.Itoa(c.s.rateLimit), "--call-log", "2000000"}}
	if err := c.emulator.start(); err != nil {
		return err
	}
	return c.emulator.waitReady(ctx, time.Minute, httpOK(c.emulatorURL+"/emulator/v1/faults"))
}

// fleetEnv is the environment every worker and API replica shares: one Temporal namespace, one
// Genesys OAuth client whose budget the workers split, one export store, one payload keyring,
// one decision key and the four-eyes policy. It returns the API tokens by identity.
func (c *cluster) fleetEnv(ctx context.Context) ([]string, map[string]string, error) {
	keys := filepath.Join(c.s.work, "payload-keys")
	out, err := exec.CommandContext(ctx, c.bin("starter"), "keys", "payload").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("starter keys payload: %w", err)
	}
	if err := os.WriteFile(keys, out, 0o600); err != nil {
		return nil, nil, err
	}
	key, err := credential.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	tokens := map[string]string{}
	var lines []string
	for who, role := range map[string]string{requester: "hr", approverA: "approver", approverB: "approver", auditor: "auditor"} {
		tokens[who] = randomToken()
		lines = append(lines, tokens[who]+":"+role+":"+who)
	}
	tokenFile := filepath.Join(c.s.work, "api-tokens")
	if err := os.WriteFile(tokenFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, nil, err
	}
	env := append(os.Environ(),
		"TEMPORAL_ADDRESS="+c.temporalAddr,
		"TEMPORAL_NAMESPACE="+defaults.Namespace,
		genesys.EnvAPIURL+"="+c.emulatorURL,
		genesys.EnvClientID+"="+emulator.DevClientID,
		genesys.EnvClientSecret+"="+emulator.DevClientSecret,
		config.EnvFleetRequestsPerMin+"="+strconv.Itoa(c.s.budget),
		config.EnvWorkerReplicas+"="+strconv.Itoa(c.s.workers),
		config.EnvBuildID+"="+buildID,
		config.EnvExportURL+"=file://"+filepath.ToSlash(c.exportDir),
		config.EnvShutdownTimeout+"="+shutdownTimeout.String(),
		config.EnvPayloadKeysFile+"="+keys,
		config.EnvAPITokensFile+"="+tokenFile,
		config.EnvDecisionSigningKey+"="+base64.StdEncoding.EncodeToString(key.Seed()),
		workflows.EnvDecisionKeys+"="+credential.EncodePublicKey(key.Public().(ed25519.PublicKey)),
		workflows.EnvApprovalsRequired+"=2",
		// The batch benchmark archives without approvals: it measures the Genesys budget.
		workflows.EnvApproveArchive+"="+strconv.FormatBool(c.s.workload != workloadBatch),
		workflows.EnvApprovers+"="+approverA+","+approverB,
		workflows.EnvApprovalTimeout+"=P1D",
		workflows.EnvRetentionDefault+"="+c.s.retention,
		workflows.EnvRetentionMin+"=PT0S",
		workflows.EnvExportWindow+"="+c.s.exportWindow,
		workflows.EnvExportLookback+"="+c.s.exportLookback,
		config.EnvLogFormat+"=text",
	)
	return env, tokens, nil
}

// promote makes the fleet's version the deployment's current one, as the deploy procedure does
// before any run can start on a versioned fleet.
func (c *cluster) promote(ctx context.Context, env []string) error {
	cmd := exec.CommandContext(ctx, c.bin("starter"), "deployment", "promote", "--build-id", buildID)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("starter deployment promote: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// startWorker starts worker i and waits for its health endpoint.
func (c *cluster) startWorker(ctx context.Context, i int) error {
	if err := c.workers[i].start(); err != nil {
		return err
	}
	return c.workers[i].waitReady(ctx, time.Minute, httpOK("http://"+c.workerAddrs[i]+"/healthz"))
}

// stopAll stops every process it started, the database last; it is safe on a partial start.
func (c *cluster) stopAll() {
	for _, p := range append(append([]*proc{}, c.apis...), c.workers...) {
		p.kill()
	}
	if c.tc != nil {
		c.tc.Close()
	}
	for _, p := range []*proc{c.temporal, c.emulator} {
		if p != nil {
			_ = p.stop(30 * time.Second)
		}
	}
	if c.pgDir != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := script(ctx, c.s.repo, "stop", c.pgDir); err != nil {
			fmt.Fprintln(os.Stderr, "clustertest:", err)
		}
	}
}
