package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/workerproc"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// env is the stack every test in this package shares: one in-process Temporal server, the
// Genesys emulator, and a real worker running the real workflow and activities.
var env struct {
	ts        *temporaltest.TestServer
	client    client.Client
	emu       *emulator.Emulator
	policy    workflows.Policy
	exportDir string
	// apiURL is an HR API with apiTokens and cliTokens, from which the CLI obtains credentials.
	apiURL string
	users  []string // seeded emulator user IDs, handed out one per test
	next   int
}

// testSigner is the HR API's signing key in these tests; testPolicy trusts it.
var testSigner = func() *credential.Signer {
	s, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize)), hrapi.Issuer)
	if err != nil {
		panic(err)
	}
	return s
}()

// testPolicy allows alice and bob to approve, so mallory's decisions are rejected.
func testPolicy() workflows.Policy {
	p := workflows.DefaultPolicy()
	p.Approvers = []string{"alice", "bob"}
	p.DecisionKeys = []string{credential.EncodePublicKey(testSigner.PublicKey())}
	p.ExportLookback = 90 * 24 * time.Hour
	return p
}

func quietLogger() tlog.Logger { return tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)) }

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx := context.Background()
	quiet := quietLogger()
	env.ts = temporaltest.NewServer()
	defer env.ts.Stop()
	env.client = env.ts.NewClientWithOptions(client.Options{Logger: quiet, DataConverter: testDataConverter()})
	if _, err := env.client.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        env.ts.GetDefaultNamespace(),
		SearchAttributes: workflows.SearchAttributes(),
	}); err != nil {
		log.Printf("register search attributes: %v", err)
		return 1
	}

	env.emu = emulator.New(emulator.Options{Users: 40, Conversations: 400, Span: 60 * 24 * time.Hour, JobPolls: -1, RequestsPerMinute: -1})
	gsrv := httptest.NewServer(env.emu)
	defer gsrv.Close()
	gc, err := genesys.New(ctx, genesys.Config{ClientID: emulator.DevClientID, ClientSecret: genesys.Secret(emulator.DevClientSecret), APIURL: gsrv.URL})
	if err != nil {
		log.Printf("genesys client: %v", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "offboard-starter-test-")
	if err != nil {
		log.Print(err)
		return 1
	}
	defer os.RemoveAll(dir)
	env.exportDir = dir
	store, err := bundle.Open(ctx, "file://"+dir)
	if err != nil {
		log.Printf("export store: %v", err)
		return 1
	}
	defer store.Close()
	for _, u := range env.emu.SeedUsers() {
		env.users = append(env.users, u.ID)
	}

	env.policy = testPolicy()
	w := worker.New(env.client, workflows.TaskQueue, worker.Options{})
	workerproc.Register(w, env.policy, &activities.Activities{Genesys: gc, Store: store})
	registerStubBatch(w, env.policy, store)
	if err := w.Start(); err != nil {
		log.Printf("start worker: %v", err)
		return 1
	}
	defer w.Stop()
	api, err := hrapi.New(hrapi.Options{Temporal: env.client, Policy: env.policy, Tokens: append(apiTokens(), cliTokens()...), Signer: testSigner, Codec: testPayloadCodec(), Store: store})
	if err != nil {
		log.Printf("HR API: %v", err)
		return 1
	}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	env.apiURL = apiSrv.URL
	return m.Run()
}

// nextUser hands out a seeded emulator user no other test uses.
func nextUser(t *testing.T) string {
	t.Helper()
	if env.next >= len(env.users) {
		t.Fatalf("out of seeded users (%d)", len(env.users))
	}
	env.next++
	return env.users[env.next-1]
}

// eventually polls f until it returns nil or the deadline passes.
func eventually(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %v", d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitStage waits until the user's offboarding reports stage.
func waitStage(t *testing.T, userID string, stage workflows.Stage) workflows.Status {
	t.Helper()
	var st workflows.Status
	eventually(t, 90*time.Second, func() error {
		v, err := env.client.QueryWorkflow(context.Background(), workflows.WorkflowID(userID), "", workflows.QueryStatus)
		if err != nil {
			return err
		}
		if err := v.Get(&st); err != nil {
			return err
		}
		if st.Stage != stage {
			return fmt.Errorf("stage %s (errors %v)", st.Stage, st.Notes)
		}
		return nil
	})
	return st
}
