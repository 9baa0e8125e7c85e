package hrapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

// loadOpenAPI is openapi.yaml, loaded and validated by kin-openapi.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	return doc
}

// jsonField is one field of a type's JSON encoding.
type jsonField struct {
	name     string
	typ      reflect.Type
	optional bool // omitempty or omitzero: absent when empty
}

// jsonFields lists the fields encoding/json writes for the struct t, embedded structs flattened.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case tag == "-" || !f.IsExported() && !f.Anonymous:
			continue
		case f.Anonymous && name == "":
			out = append(out, jsonFields(f.Type)...)
			continue
		case name == "":
			name = f.Name
		}
		optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		out = append(out, jsonField{name: name, typ: f.Type, optional: optional})
	}
	return out
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for _, f := range jsonFields(t) {
		names = append(names, f.name)
	}
	return names
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// schemaDrift lists where schema s does not describe how Go encodes t: a field missing from
// the document or documented but never written, a required field that may be absent (or the
// reverse), an object open to undocumented fields, or a wrong type.
func schemaDrift(at string, t reflect.Type, s *openapi3.Schema) []string {
	if s == nil {
		return []string{at + ": no schema"}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	want := func(typ string) []string {
		if !s.Type.Is(typ) {
			return []string{fmt.Sprintf("%s: %s is documented as %v, not %s", at, t, s.Type, typ)}
		}
		return nil
	}
	switch {
	case t == rawType:
		return nil // any JSON
	case t == timeType:
		if d := want("string"); d != nil || s.Format != "date-time" {
			return append(d, at+": a time is a string in format date-time")
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return append(want("object"), structDrift(at, t, s)...)
	case reflect.Slice:
		if d := want("array"); d != nil || s.Items == nil {
			return append(d, at+": no items")
		}
		return schemaDrift(at+"[]", t.Elem(), s.Items.Value)
	case reflect.String:
		return want("string")
	case reflect.Bool:
		return want("boolean")
	case reflect.Int, reflect.Int32, reflect.Int64:
		return want("integer")
	case reflect.Map:
		if d := want("object"); d != nil || s.AdditionalProperties.Schema == nil {
			return append(d, at+": a map documents its values as additionalProperties")
		}
		return schemaDrift(at+"{}", t.Elem(), s.AdditionalProperties.Schema.Value)
	}
	return []string{fmt.Sprintf("%s: the test cannot compare %s", at, t)}
}

func structDrift(at string, t reflect.Type, s *openapi3.Schema) []string {
	var drift, required []string
	if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
		drift = append(drift, at+": additionalProperties is not false, so drift would pass unseen")
	}
	fields := jsonFields(t)
	for _, f := range fields {
		prop, ok := s.Properties[f.name]
		if !ok {
			drift = append(drift, fmt.Sprintf("%s.%s: not documented", at, f.name))
			continue
		}
		if !f.optional {
			required = append(required, f.name)
		}
		drift = append(drift, schemaDrift(at+"."+f.name, f.typ, prop.Value)...)
	}
	for name := range s.Properties {
		if !slices.ContainsFunc(fields, func(f jsonField) bool { return f.name == name }) {
			drift = append(drift, fmt.Sprintf("%s.%s: documented but never written", at, name))
		}
	}
	slices.Sort(required)
	documented := slices.Sorted(slices.Values(s.Required))
	if !slices.Equal(required, documented) {
		drift = append(drift, fmt.Sprintf("%s: required is %v; the fields always written are %v", at, documented, required))
	}
	return drift
}

func Test_GivenTheResponseTypes_ShouldDocumentEveryFieldTheyWriteAndNoOther(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"Status":           reflect.TypeFor[workflows.Status](),
		"ListPage":         reflect.TypeFor[ListPage](),
		"StartResult":      reflect.TypeFor[StartResult](),
		"IssuedCredential": reflect.TypeFor[IssuedCredential](),
		"Decision":         reflect.TypeFor[Decision](),
		"Problem":          reflect.TypeFor[Problem](),
		"BatchResult":      reflect.TypeFor[BatchResult](),
		"BatchView":        reflect.TypeFor[BatchView](),
		"BatchStatus":      reflect.TypeFor[workflows.BatchStatus](),
	} {
		ref := doc.Components.Schemas[name]
		require.NotNil(t, ref, "components.schemas.%s", name)
		assert.Empty(t, schemaDrift(name, typ, ref.Value), "openapi.yaml's %s against %s", name, typ)
	}
}

func Test_GivenTheRequestBodies_ShouldDocumentExactlyTheFieldsTheDecoderTakes(t *testing.T) {
	doc := loadOpenAPI(t)
	off := "/v1/offboardings/{userId}"
	for path, typ := range map[string]reflect.Type{
		"/v1/offboardings":   reflect.TypeFor[OffboardingRequest](),
		off + "/approvals":   reflect.TypeFor[DecisionRequest](),
		off + "/cancel":      reflect.TypeFor[ControlRequest](),
		off + "/hold":        reflect.TypeFor[ControlRequest](),
		off + "/release":     reflect.TypeFor[ControlRequest](),
		off + "/retention":   reflect.TypeFor[RetentionRequest](),
		off + "/credentials": reflect.TypeFor[CredentialRequest](),
		"/v1/batches":        reflect.TypeFor[BatchRequest](),
		batchPath + "/pause": reflect.TypeFor[ControlRequest](),
	} {
		op := doc.Paths.Find(path).Post
		require.NotNil(t, op, path)
		body := op.RequestBody.Value.Content.Get("application/json")
		require.NotNil(t, body, path)
		assert.Empty(t, schemaDrift(path, typ, body.Schema.Value), "openapi.yaml's body of POST %s against %s", path, typ)
	}
}

func Test_GivenTheEnumsOfTheDocument_ShouldListExactlyTheValuesTheCodeKnows(t *testing.T) {
	doc := loadOpenAPI(t)
	enum := func(name string) []any { return doc.Components.Schemas[name].Value.Enum }
	var stages, steps []any
	for _, s := range workflows.Stages() {
		stages = append(stages, string(s))
	}
	for _, s := range activities.RevokeSteps() {
		steps = append(steps, string(s))
	}
	assert.ElementsMatch(t, stages, enum("Stage"))
	assert.ElementsMatch(t, steps, enum("AccessStep"))
	assert.ElementsMatch(t, []any{string(workflows.DispositionArchive), string(workflows.DispositionDelete)}, enum("Disposition"))
}

// contractCall is one request of the contract test and the status it must answer.
type contractCall struct {
	name   string
	mode   temporalMode
	method string
	path   string
	body   string
	header map[string]string
	code   int
	// times sends the request this often, the last answer checked (to spend a rate limit).
	times int
	// nonconforming marks a request that breaks the document on purpose (an unsigned or
	// unknown event): only the answer is checked.
	nonconforming bool
}

// contractValidator checks exchanges against openapi.yaml.
type contractValidator struct {
	router routers.Router
	opts   *openapi3filter.Options
}

func newContractValidator(t *testing.T) *contractValidator {
	t.Helper()
	doc := loadOpenAPI(t)
	doc.Servers = openapi3.Servers{{URL: "http://example.com"}}
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	t.Cleanup(func() { openapi3filter.UnregisterBodyDecoder("text/html") })
	return &contractValidator{router: router, opts: &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true,
	}}
}

// check validates the request (unless the API rightly refused it as malformed) and the answer,
// and returns the operation the document routes it to.
func (v *contractValidator) check(t *testing.T, c contractCall, a answer) string {
	t.Helper()
	req := httptest.NewRequest(c.method, "http://example.com"+c.path, strings.NewReader(c.body))
	for k, val := range c.header {
		req.Header.Set(k, val)
	}
	route, params, err := v.router.FindRoute(req)
	require.NoError(t, err, "%s %s is not in openapi.yaml", c.method, c.path)
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.opts}
	if malformed := a.code == http.StatusBadRequest || a.code == http.StatusUnsupportedMediaType || c.nonconforming; !malformed {
		assert.NoError(t, openapi3filter.ValidateRequest(ctx, in), "the request conforms")
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: a.code, Header: a.header,
		Body: io.NopCloser(bytes.NewReader([]byte(a.body))), Options: v.opts}
	assert.NoError(t, openapi3filter.ValidateResponse(ctx, out), "the %d answer conforms: %s", a.code, a.body)
	return route.Operation.OperationID
}

func asAuditor() map[string]string {
	return map[string]string{"Authorization": "Bearer " + auditorSecret}
}

// contractCalls covers every route, and the main errors of each kind.
func contractCalls(t *testing.T) []contractCall {
	link := func(action string) string {
		tok, err := testSigner.Issue(credentialClaims(action))
		require.NoError(t, err)
		return DecisionLink(tok)
	}
	off := "/v1/offboardings/" + uid
	start := startJSON(uid, "wd-2")
	text := map[string]string{"Authorization": "Bearer " + approverSecret, "Content-Type": "text/plain"}
	bad := map[string]string{"Authorization": "Bearer wrong-token-0123456789"}
	return append([]contractCall{
		{name: "start", mode: absent, method: "POST", path: "/v1/offboardings", body: start, header: asHR(), code: 202},
		{name: "start again", method: "POST", path: "/v1/offboardings", body: startJSON(uid, "wd-1"), header: asHR(), code: 200},
		{name: "start while in flight", method: "POST", path: "/v1/offboardings", body: start, header: asHR(), code: 409},
		{name: "start invalid", method: "POST", path: "/v1/offboardings", body: `{"userId":"x"}`, header: asHR(), code: 400},
		{name: "start by email", mode: absent, method: "POST", path: "/v1/offboardings", body: startBody(`"email":"ada@example.com"`), header: asHR(), code: 202},
		{name: "start by employee ID", mode: absent, method: "POST", path: "/v1/offboardings", body: startBody(`"employeeId":"E1000042"`), header: asHR(), code: 202},
		{name: "start unknown person", mode: absent, method: "POST", path: "/v1/offboardings", body: startBody(`"email":"unknown@example.com"`), header: asHR(), code: 422},
		{name: "start two identifiers", mode: absent, method: "POST", path: "/v1/offboardings", body: startBody(`"userId":"` + uid + `","employeeId":"E1"`), header: asHR(), code: 400},
		{name: "start as auditor", method: "POST", path: "/v1/offboardings", body: start, header: map[string]string{"Authorization": "Bearer " + auditorSecret, "Content-Type": "application/json"}, code: 403},
		{name: "start Temporal down", mode: down, method: "POST", path: "/v1/offboardings", body: start, header: asHR(), code: 503},
		{name: "list", method: "GET", path: "/v1/offboardings?stage=retention&pageSize=10", header: asAuditor(), code: 200},
		{name: "list bad stage", method: "GET", path: "/v1/offboardings?stage=gone", header: asAuditor(), code: 400},
		{name: "list unauthenticated", method: "GET", path: "/v1/offboardings", code: 401},
		{name: "list Temporal down", mode: down, method: "GET", path: "/v1/offboardings", header: asAuditor(), code: 503},
		{name: "status", method: "GET", path: off, header: asAuditor(), code: 200},
		{name: "status unknown", mode: absent, method: "GET", path: off, header: asAuditor(), code: 404},
		{name: "status bad id", method: "GET", path: "/v1/offboardings/nope", header: asAuditor(), code: 400},
		{name: "status undecodable", mode: garbled, method: "GET", path: off, header: asAuditor(), code: 500},
		{name: "status Temporal down", mode: down, method: "GET", path: off, header: asAuditor(), code: 503},
		{name: "status rate limited", method: "GET", path: off, header: bad, code: 429, times: 3},
		{name: "approve", method: "POST", path: off + "/approvals", body: `{"decision":"approve","comment":"ok"}`, header: asApprover(), code: 200},
		{name: "approve as text", method: "POST", path: off + "/approvals", body: `{"decision":"approve"}`, header: text, code: 415},
		{name: "approve finished", mode: finished, method: "POST", path: off + "/approvals", body: `{"decision":"reject"}`, header: asApprover(), code: 409},
		{name: "approve unknown", mode: absent, method: "POST", path: off + "/approvals", body: `{"decision":"reject"}`, header: asApprover(), code: 404},
		{name: "cancel", method: "POST", path: off + "/cancel", header: asHR(), code: 200},
		{name: "hold", method: "POST", path: off + "/hold", body: `{"reason":"litigation"}`, header: asHR(), code: 200},
		{name: "release", method: "POST", path: off + "/release", header: asHR(), code: 200},
		{name: "release as approver", method: "POST", path: off + "/release", header: asApprover(), code: 403},
		{name: "retention", method: "POST", path: off + "/retention", body: `{"until":"2030-03-01T00:00:00Z","reason":"audit"}`, header: asHR(), code: 200},
		{name: "retention bad until", method: "POST", path: off + "/retention", body: `{"until":"soon"}`, header: asHR(), code: 400},
		{name: "credential", method: "POST", path: off + "/credentials", body: `{"action":"approve","ttl":"PT1H"}`, header: asApprover(), code: 201},
		{name: "credential finished", mode: finished, method: "POST", path: off + "/credentials", body: `{"action":"cancel"}`, header: asHR(), code: 409},
		{name: "credential Temporal down", mode: down, method: "POST", path: off + "/credentials", body: `{"action":"cancel"}`, header: asHR(), code: 503},
	}, append(append(eventCalls(), batchContractCalls()...), append([]contractCall{
		{name: "inspect link", method: "GET", path: link("approve"), code: 200},
		{name: "inspect bad link", method: "GET", path: DecisionLink("not-a-credential"), code: 401},
		{name: "follow link", method: "POST", path: link("approve"), code: 200},
		{name: "follow link finished", mode: finished, method: "POST", path: link("reject"), code: 409},
		{name: "follow link Temporal down", mode: down, method: "POST", path: link("reject"), code: 503},
		{name: "health", method: "GET", path: "/healthz", code: 200},
		{name: "ready", method: "GET", path: "/readyz", code: 200},
		{name: "not ready", mode: down, method: "GET", path: "/readyz", code: 503},
		{name: "document", method: "GET", path: "/openapi.yaml", code: 200},
		{name: "problem page", method: "GET", path: TypeUnavailable, code: 200},
		{name: "unknown problem page", method: "GET", path: "/problems/gone", code: 404},
	}, codecContractCalls(t)...)...)...)
}

func Test_GivenACallOfEveryRoute_ShouldConformToOpenAPIAndAnswerOnlyTheRouteTablesStatuses(t *testing.T) {
	v := newContractValidator(t)
	seen := map[string][]int{}
	for _, c := range contractCalls(t) {
		t.Run(c.name, func(t *testing.T) {
			h := newContractAPI(t, c.mode)
			var a answer
			for range max(c.times, 1) {
				a = send(h, c.method, c.path, c.body, c.header)
			}
			require.Equal(t, c.code, a.code, a.body)
			op := v.check(t, c, a)
			seen[op] = append(seen[op], a.code)
			if a.code >= 400 {
				p := problemOf(t, a)
				page, ok := problemPageOf(p.Type)
				require.True(t, ok, "the type %q has a page", p.Type)
				assert.Equal(t, page.Status, p.Status, "the status of %s", p.Type)
				assert.Equal(t, page.Title, p.Title, "the title of %s", p.Type)
			}
		})
	}
	for _, r := range Routes() {
		codes, ok := seen[r.Operation]
		if assert.True(t, ok, "no contract call of %s %s", r.Method, r.Path) {
			for _, code := range codes {
				assert.Contains(t, r.Statuses, code, "%s answered %d, which its route does not list", r.Operation, code)
			}
		}
	}
}

// newContractAPI is the API over a contractTemporal in mode, with a failed-authentication limit
// that two failures spend.
func newContractAPI(t *testing.T, mode temporalMode) http.Handler {
	t.Helper()
	h, err := New(Options{Temporal: &contractTemporal{mode: mode}, Policy: testPolicy(), Signer: testSigner, Now: func() time.Time { return now },
		Tokens: testTokens(), AuthFailureLimit: RateLimit{Rate: rate.Every(time.Hour), Burst: 2}, EventSecrets: contractEventSecrets(mode), Codec: testCodec, CodecOrigin: uiOrigin,
		Store: testStore(t)})
	require.NoError(t, err)
	return h
}

// problemTypeConstants are the values of the Type* constants declared in problem.go.
func problemTypeConstants(t *testing.T) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "problem.go", nil, 0)
	require.NoError(t, err)
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if strings.HasPrefix(name.Name, "Type") && i < len(spec.Values) {
				lit, ok := spec.Values[i].(*ast.BasicLit)
				require.True(t, ok, "%s is a string literal", name.Name)
				v, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				out = append(out, v)
			}
		}
		return false
	})
	require.NotEmpty(t, out)
	return out
}

func Test_GivenEveryProblemType_ShouldServeAPageAtItsURI(t *testing.T) {
	h, _, _ := newTestAPI(t, nil)
	for _, typ := range problemTypeConstants(t) {
		a := send(h, "GET", typ, "", nil)
		require.Equal(t, http.StatusOK, a.code, "GET %s: %s", typ, a.body)
		assert.Contains(t, a.header.Get("Content-Type"), "text/html", typ)
		page, ok := problemPageOf(typ)
		require.True(t, ok, typ)
		assert.Contains(t, a.body, "<h1>"+page.Title+"</h1>", typ)
		assert.Contains(t, a.body, "HTTP status "+strconv.Itoa(page.Status), typ)
	}
	assert.Len(t, problemPages, len(problemTypeConstants(t)), "a page for each type, and none for a type that does not exist")
}

func Test_GivenTemporalFailures_ShouldAnswerInTheCallersTermsWithRetryAfterOn503(t *testing.T) {
	for _, c := range contractCalls(t) {
		if c.code != http.StatusServiceUnavailable && c.code != http.StatusInternalServerError && c.code != http.StatusNotFound {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			h, err := New(Options{Temporal: &contractTemporal{mode: c.mode}, Policy: testPolicy(), Signer: testSigner, Tokens: testTokens(),
				Now: func() time.Time { return now }, Logger: slogTo(&logs), EventSecrets: contractEventSecrets(c.mode), Store: testStore(t)})
			require.NoError(t, err)
			a := send(h, c.method, c.path, c.body, c.header)
			require.Equal(t, c.code, a.code, a.body)
			if c.code == http.StatusServiceUnavailable {
				secs, err := strconv.Atoi(a.header.Get("Retry-After"))
				require.NoError(t, err, "a 503 says when to retry: %v", a.header)
				assert.Positive(t, secs)
			}
			p := problemOf(t, a)
			for _, internal := range []string{"offboarding-", "query", "describe", "10.0.0.7", "connection refused", "deadline", "json:", "cannot unmarshal"} {
				assert.NotContains(t, strings.ToLower(p.Detail), internal, "the detail speaks the caller's terms")
			}
			assert.NotEmpty(t, p.Detail)
			if c.mode == down {
				assert.Contains(t, logs.String(), "connection refused", "the server log keeps the cause")
			}
		})
	}
}

func Test_GivenAStatusQueryPastItsDeadline_ShouldAnswer503WithoutTheQueryOrItsError(t *testing.T) {
	var logs bytes.Buffer
	h, _, _ := newRunningAPI(t, func(o *Options) { o.Logger = slogTo(&logs) })
	a := send(h, "GET", "/v1/offboardings/"+uid, "", asHR())
	require.Equal(t, http.StatusServiceUnavailable, a.code, a.body)
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	p := problemOf(t, a)
	assert.Equal(t, "could not read the offboarding's status: Temporal did not answer in time; retry later", p.Detail)
	assert.Contains(t, logs.String(), "context deadline exceeded", "the server log keeps the cause")
}

// credentialClaims are alice's claims to take action on uid's offboarding within the hour.
func credentialClaims(action string) credential.Claims {
	return credential.Claims{Identity: "alice", Role: credential.RoleApprover, Action: credential.Action(action),
		WorkflowID: workflows.WorkflowID(uid), RunID: "run-1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
