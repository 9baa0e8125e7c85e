package hrapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

// fakeTemporal knows no offboarding: it starts runs, answers lists with pages it makes up,
// and counts the calls that reach it.
type fakeTemporal struct {
	client.Client // every method the tests do not use panics
	mu            sync.Mutex
	calls         map[string]int
	lists         []*workflowservice.ListWorkflowExecutionsRequest
	next          []byte // the page token ListWorkflow answers
	// resolve answers ResolvePerson runs, whose starts resolves records.
	resolve  func(activities.ResolveInput) (activities.Resolution, error)
	resolves []resolveStart
	started  []workflows.Request // the offboardings started
	batches  []batchStart        // the batches started
}

// batchStart is one batch the service started.
type batchStart struct {
	opts client.StartWorkflowOptions
	in   workflows.BatchInput
}

// resolveKnown resolves every person to uid, except one whose value starts with "unknown".
func resolveKnown(in activities.ResolveInput) (activities.Resolution, error) {
	if strings.HasPrefix(in.Value, "unknown") {
		return activities.Resolution{}, temporal.NewNonRetryableApplicationError("no match", activities.ErrPersonUnknown, nil)
	}
	return activities.Resolution{UserID: uid, By: in.By, Field: "email", State: "active"}, nil
}

// resolveStart is one ResolvePerson run the service started.
type resolveStart struct {
	opts client.StartWorkflowOptions
	in   activities.ResolveInput
}

type fakeRun struct {
	client.WorkflowRun
	id string
	// resolution and err are what Get answers.
	resolution activities.Resolution
	err        error
}

// Get answers the run's result.
func (r fakeRun) Get(_ context.Context, v any) error {
	if r.err != nil {
		return r.err
	}
	*v.(*activities.Resolution) = r.resolution
	return nil
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-1" }

func (f *fakeTemporal) called(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[name]++
}

func (f *fakeTemporal) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, typ any, args ...any) (client.WorkflowRun, error) {
	if typ == workflows.ResolveWorkflowType {
		f.called("ResolvePerson")
		in := args[0].(activities.ResolveInput)
		f.mu.Lock()
		f.resolves = append(f.resolves, resolveStart{o, in})
		f.mu.Unlock()
		resolve := f.resolve
		if resolve == nil {
			resolve = resolveKnown
		}
		r, err := resolve(in)
		return fakeRun{id: o.ID, resolution: r, err: err}, nil
	}
	f.called("ExecuteWorkflow")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch in := args[0].(type) {
	case workflows.Request:
		f.started = append(f.started, in)
	case workflows.BatchInput:
		f.batches = append(f.batches, batchStart{o, in})
	}
	return fakeRun{id: o.ID}, nil
}

func (f *fakeTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.called("DescribeWorkflowExecution")
	return nil, serviceerror.NewNotFound("no such workflow")
}

func (f *fakeTemporal) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.called("ListWorkflow")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists = append(f.lists, req)
	return &workflowservice.ListWorkflowExecutionsResponse{NextPageToken: f.next}, nil
}

const (
	hrSecret       = "hr-token-0123456789"
	auditorSecret  = "auditor-token-0123456789"
	approverSecret = "alice-token-0123456789"
)

func testTokens() []config.Token {
	return []config.Token{
		config.NewToken(hrSecret, config.RoleHR, "workday"),
		config.NewToken(auditorSecret, config.RoleAuditor, "audit-team"),
		config.NewToken(approverSecret, config.RoleApprover, "alice"),
	}
}

// testClock is a clock the tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testSigner signs the tests' decision credentials; testPolicy trusts it.
var testSigner = func() *credential.Signer {
	s, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize)), Issuer)
	if err != nil {
		panic(err)
	}
	return s
}()

// testPolicy is the default policy trusting testSigner.
func testPolicy() workflows.Policy {
	p := workflows.DefaultPolicy()
	p.DecisionKeys = []string{credential.EncodePublicKey(testSigner.PublicKey())}
	return p
}

// newTestAPI is the API over a fakeTemporal and a testClock; change adjusts its options.
func newTestAPI(t testing.TB, change func(*Options)) (http.Handler, *fakeTemporal, *testClock) {
	t.Helper()
	temporal := &fakeTemporal{}
	clock := &testClock{t: now}
	opts := Options{Temporal: temporal, Policy: testPolicy(), Signer: testSigner, Now: clock.Now, Tokens: testTokens()}
	if change != nil {
		change(&opts)
	}
	h, err := New(opts)
	require.NoError(t, err)
	return h, temporal, clock
}

// answer is one response of the API.
type answer struct {
	code   int
	header http.Header
	body   string
}

// send serves one request; header holds Content-Type, Authorization and the like.
func send(h http.Handler, method, path, body string, header map[string]string) answer {
	return sendFrom(h, "", method, path, body, header)
}

// sendFrom is send from the client address from (host:port); empty is httptest's.
func sendFrom(h http.Handler, from, method, path, body string, header map[string]string) answer {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	if from != "" {
		r.RemoteAddr = from
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return answer{code: w.Code, header: w.Header(), body: w.Body.String()}
}

// asHR is the header of a JSON request with the HR token.
func asHR() map[string]string {
	return map[string]string{"Authorization": "Bearer " + hrSecret, "Content-Type": "application/json"}
}
