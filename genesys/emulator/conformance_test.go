package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/offboard/offboard/genesys/emulator"
)

// The conformance test checks every Genesys path the emulator serves against the OpenAPI
// document that ships in the SDK module (swagger.json, Swagger 2.0): each exchange that a
// scenario makes through the SDK is validated (request, response status, headers and body
// schema), and every operation must have been seen answering successfully.

// servedOperations are the Genesys operations the emulator serves (its catch-all 404 aside), as
// the document names them. POST /oauth/token is not in the document (login is not part of the
// Platform API).
func servedOperations(e *emulator.Emulator) []string {
	var out []string
	for _, op := range e.Operations() {
		if strings.Contains(op, " ") {
			out = append(out, op)
		}
	}
	return out
}

// swaggerPath finds swagger.json at the root of the SDK module.
func swaggerPath(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/mypurecloud/platform-client-sdk-go/v157").Output()
	if err != nil {
		t.Fatalf("locate the SDK module: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "swagger.json")
}

var definitionRef = regexp.MustCompile(`"#/definitions/([^"]+)"`)

// servedDocument is the part of swagger.json that the served operations use: their paths
// (only the methods served) and the definitions they reach, converted to OpenAPI 3 and
// addressed at serverURL. Converting the whole 19 MB document would take far longer.
func servedDocument(t *testing.T, serverURL string, ops []string) *openapi3.T {
	t.Helper()
	raw, err := os.ReadFile(swaggerPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var full map[string]json.RawMessage
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	var paths, defs map[string]map[string]json.RawMessage
	if json.Unmarshal(full["paths"], &paths) != nil || json.Unmarshal(full["definitions"], &defs) != nil {
		t.Fatal("swagger.json has no paths or definitions")
	}
	kept := map[string]map[string]json.RawMessage{}
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		item, ok := paths[path][strings.ToLower(method)]
		if !ok {
			t.Fatalf("swagger.json has no %s", op)
		}
		if kept[path] == nil {
			kept[path] = map[string]json.RawMessage{}
		}
		kept[path][strings.ToLower(method)] = withoutSecurity(t, item)
	}
	keptDefs := map[string]json.RawMessage{}
	pending := []string{string(mustMarshal(t, kept))}
	for len(pending) > 0 {
		text := pending[0]
		pending = pending[1:]
		for _, m := range definitionRef.FindAllStringSubmatch(text, -1) {
			if _, seen := keptDefs[m[1]]; !seen {
				keptDefs[m[1]] = mustMarshal(t, defs[m[1]])
				pending = append(pending, string(keptDefs[m[1]]))
			}
		}
	}
	full["paths"], full["definitions"] = mustMarshal(t, kept), mustMarshal(t, keptDefs)
	delete(full, "securityDefinitions")
	var doc2 openapi2.T
	if err := json.Unmarshal(mustMarshal(t, full), &doc2); err != nil {
		t.Fatalf("read swagger.json: %v", err)
	}
	doc3, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		t.Fatalf("convert swagger.json to OpenAPI 3: %v", err)
	}
	doc3.Servers = openapi3.Servers{{URL: serverURL}}
	return doc3
}

// withoutSecurity drops an operation's security requirements (their scheme names, "PureCloud
// OAuth", are not valid OpenAPI 3 identifiers, and authentication has tests of its own) and its
// boolean enums.
func withoutSecurity(t *testing.T, op json.RawMessage) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(op, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "security")
	var v any
	if err := json.Unmarshal(mustMarshal(t, m), &v); err != nil {
		t.Fatal(err)
	}
	return mustMarshal(t, dropBooleanEnums(v))
}

// dropBooleanEnums removes the enums of boolean parameters, which the document writes as
// strings (["true","false"]) that no boolean matches: a flaw of the document, not the emulator.
func dropBooleanEnums(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x["type"] == "boolean" {
			delete(x, "enum")
		}
		for k, y := range x {
			x[k] = dropBooleanEnums(y)
		}
	case []any:
		for i, y := range x {
			x[i] = dropBooleanEnums(y)
		}
	}
	return v
}

func mustMarshal(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exchange is one request to a Genesys path and the emulator's answer.
type exchange struct {
	method, url string
	reqHeader   http.Header
	reqBody     []byte
	status      int
	header      http.Header
	body        []byte
}

// recorder keeps every exchange on /api/v2/ that passes through it to the emulator.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	seen []exchange
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/v2/") {
		rec.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	cw := httptest.NewRecorder()
	rec.next.ServeHTTP(cw, r)
	for k, v := range cw.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(cw.Code)
	_, _ = w.Write(cw.Body.Bytes())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.seen = append(rec.seen, exchange{method: r.Method, url: r.URL.String(), reqHeader: r.Header.Clone(), reqBody: body,
		status: cw.Code, header: cw.Header().Clone(), body: cw.Body.Bytes()})
}

// validation checks exchanges against the document.
type validation struct {
	doc    *openapi3.T
	router routers.Router
	base   string
	opts   *openapi3filter.Options
}

func newValidation(t *testing.T, base string, ops []string) *validation {
	t.Helper()
	doc := servedDocument(t, base, ops)
	// The document's own defaults are not always among its enums (sortOrder "ASC" of
	// ascending/descending): do not hold the document to them.
	router, err := legacy.NewRouter(doc, openapi3.DisableSchemaDefaultsValidation(), openapi3.DisableExamplesValidation())
	if err != nil {
		t.Fatalf("route the document: %v", err)
	}
	return &validation{doc: doc, router: router, base: base, opts: &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true,
		SkipSettingDefaults: true, // the document's defaults are not always valid (sortOrder "ASC")
	}}
}

// check validates one exchange and returns the operation it is, or an error for each way in
// which it does not conform.
func (v *validation) check(ctx context.Context, x exchange) (string, error) {
	req, err := http.NewRequestWithContext(ctx, x.method, v.base+x.url, bytes.NewReader(x.reqBody))
	if err != nil {
		return "", err
	}
	req.Header = x.reqHeader
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return "", fmt.Errorf("%s %s: no such operation in swagger.json: %w", x.method, x.url, err)
	}
	op := x.method + " " + route.Path
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.opts}
	var errs []error
	// A request the emulator rejected (400) is meant not to conform; its answer still must.
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && x.status != http.StatusBadRequest {
		errs = append(errs, fmt.Errorf("request: %s", brief(err)))
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.status, Header: x.header,
		Body: io.NopCloser(bytes.NewReader(x.body)), Options: v.opts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		errs = append(errs, fmt.Errorf("response %d: %s", x.status, brief(err)))
	}
	if err := errors.Join(errs...); err != nil {
		return op, fmt.Errorf("%s (%s): %w\nbody: %.300s", op, x.url, err, x.body)
	}
	return op, nil
}

// brief says where and why a validation failed, without the schemas kin-openapi prints.
func brief(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var parts []string
		for _, e := range me[:min(len(me), 3)] {
			parts = append(parts, brief(e))
		}
		if len(me) > 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(me)-3))
		}
		return strings.Join(parts, "; ")
	}
	var se *openapi3.SchemaError
	var re *openapi3filter.RequestError
	var pe *openapi3filter.ResponseError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("at /%s: %s (value %.80v)", strings.Join(se.JSONPointer(), "/"), se.Reason, se.Value)
	case errors.As(err, &re) && re.Err != nil:
		name := ""
		if re.Parameter != nil {
			name = "parameter " + re.Parameter.Name + ": "
		}
		return name + re.Reason + " " + brief(re.Err)
	case errors.As(err, &pe) && pe.Err != nil:
		return pe.Reason + " " + brief(pe.Err)
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

func Test_GivenEveryServedOperation_ShouldConformToTheSDKsSwaggerDocument(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the SDK's 19 MB swagger.json")
	}
	e := newEnv(t, conformanceOptions())
	rec := &recorder{next: e.emu}
	srv := httptest.NewServer(rec)
	closeServer := sync.OnceFunc(srv.Close)
	t.Cleanup(closeServer)
	v := newValidation(t, srv.URL, servedOperations(e.emu))

	runConformanceScenario(t, e, srv.URL)
	// A handler records its exchange after the client has its answer; closing waits for them all.
	closeServer()

	ok := map[string]bool{}
	statuses := map[string][]int{}
	for _, x := range rec.seen {
		op, err := v.check(context.Background(), x)
		if err != nil {
			t.Error(err)
			continue
		}
		statuses[op] = append(statuses[op], x.status)
		if x.status < 300 {
			ok[op] = true
		}
	}
	for _, op := range servedOperations(e.emu) {
		if !ok[op] {
			t.Errorf("%s was not seen answering successfully (statuses %v)", op, statuses[op])
		}
	}
	var errorStatuses []int
	for _, ss := range statuses {
		for _, s := range ss {
			if s >= 400 && !slices.Contains(errorStatuses, s) {
				errorStatuses = append(errorStatuses, s)
			}
		}
	}
	slices.Sort(errorStatuses)
	if want := []int{400, 401, 403, 404, 409}; !slices.Equal(errorStatuses, want) {
		t.Errorf("error statuses validated %v, want %v", errorStatuses, want)
	}
	t.Logf("validated %d exchanges over %d operations", len(rec.seen), len(statuses))
}
