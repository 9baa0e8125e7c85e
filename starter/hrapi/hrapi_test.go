package hrapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/offboard/offboard/workflows"
)

// openAPIDoc is the part of openapi.yaml the route table must agree with.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type openAPIOperation struct {
	OperationID string         `json:"operationId"`
	Security    *[]any         `json:"security"`
	Responses   map[string]any `json:"responses"`
}

func readOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	require.NoError(t, yaml.Unmarshal(OpenAPI, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."))
	return doc
}

func Test_GivenTheRouteTable_ShouldDocumentEveryStatusOfEveryRouteInOpenAPI(t *testing.T) {
	doc := readOpenAPI(t)
	for _, r := range Routes() {
		raw, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]
		require.True(t, ok, "%s %s is not in openapi.yaml", r.Method, r.Path)
		var op openAPIOperation
		require.NoError(t, json.Unmarshal(raw, &op), "%s %s", r.Method, r.Path)
		for _, s := range r.Statuses {
			assert.Contains(t, op.Responses, strconv.Itoa(s), "%s %s: status %d is not documented", r.Method, r.Path, s)
		}
		for code := range op.Responses {
			n, err := strconv.Atoi(code)
			assert.True(t, err == nil && slices.Contains(r.Statuses, n), "%s %s: status %s is documented but the route table does not list it", r.Method, r.Path, code)
		}
		assert.Equal(t, r.Operation, op.OperationID, "%s %s: operationId", r.Method, r.Path)
		public := op.Security != nil && len(*op.Security) == 0
		assert.Equal(t, len(r.Roles) == 0, public, "%s %s: a route without roles is documented with security: [], and only such a route", r.Method, r.Path)
	}
}

func Test_GivenOpenAPI_ShouldListExactlyTheOperationsOfTheRouteTable(t *testing.T) {
	doc := readOpenAPI(t)
	var documented, served []string
	for path, item := range doc.Paths {
		for method := range item {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	for _, r := range Routes() {
		served = append(served, r.Pattern())
	}
	assert.ElementsMatch(t, served, documented)
}

const uid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"

var now = time.Date(2030, 1, 15, 12, 0, 0, 0, time.UTC)

func decode(t *testing.T, body string) (workflows.Request, *Problem) {
	t.Helper()
	b, err := DecodeOffboardingRequest(strings.NewReader(body))
	if err == nil {
		_, err = b.Request("workday", now, workflows.DefaultPolicy())
		if err == nil {
			req, _ := b.Request("workday", now, workflows.DefaultPolicy())
			return req, nil
		}
	}
	var p *Problem
	require.True(t, errors.As(err, &p), "errors are problems: %v", err)
	return workflows.Request{}, p
}

func Test_GivenOffboardingBodies_ShouldNormaliseValidOnesAndNameEveryInvalidField(t *testing.T) {
	req, p := decode(t, `{"userId":"3F2504E0-4F89-41D3-9A0C-0305E82C3301","disposition":"delete","retention":"P60D","effectiveAt":"2030-02-01T17:00:00+01:00","reason":"resigned","hrEventId":"wd-1"}`)
	require.Nil(t, p)
	assert.Equal(t, uid, req.UserID, "user IDs are normalised to lower case")
	assert.Equal(t, "workday", req.RequestedBy)
	assert.Equal(t, 60*24*time.Hour, time.Duration(*req.Retention))
	assert.Equal(t, time.Date(2030, 2, 1, 16, 0, 0, 0, time.UTC), req.EffectiveAt)
	assert.Equal(t, now, req.RequestedAt)

	for body, field := range map[string]string{
		`{"userId":"x","disposition":"archive","reason":"r","hrEventId":"e"}`:                                               "userId",
		`{"userId":"` + uid + `","disposition":"purge","reason":"r","hrEventId":"e"}`:                                       "disposition",
		`{"userId":"` + uid + `","disposition":"delete","retention":"P999D","reason":"r","hrEventId":"e"}`:                  "retention",
		`{"userId":"` + uid + `","disposition":"archive","exportFrom":"2031-01-01T00:00:00Z","reason":"r","hrEventId":"e"}`: "exportFrom",
		`{"userId":"` + uid + `","disposition":"archive","reason":"r","hrEventId":"e","approver":"me"}`:                     "approver",
		`{"userId":"` + uid + `","disposition":"archive","reason":"r","hrEventId":"e\u0001"}`:                               "hrEventId",
		`{"userId":"` + uid + `","disposition":"archive","reason":"r"}`:                                                     "hrEventId",
		`{"userId":7,"disposition":"archive","reason":"r","hrEventId":"e"}`:                                                 "userId",
	} {
		_, p := decode(t, body)
		require.NotNil(t, p, body)
		assert.Equal(t, 400, p.Status)
		var fields []string
		for _, f := range p.Errors {
			fields = append(fields, f.Field)
		}
		assert.Contains(t, fields, field, body)
	}
	for _, body := range []string{"", "[]", "null", `{"userId":"` + uid + `"}{}`, `{"reason":"` + strings.Repeat("a", MaxBodyBytes) + `"}`} {
		_, p := decode(t, body)
		require.NotNil(t, p, body)
		assert.Equal(t, 400, p.Status, body)
	}
}

func Test_GivenListFilters_ShouldQueryOnlyKnownStagesAndDispositions(t *testing.T) {
	q, err := VisibilityQuery(ListQuery{Stage: "retention", Disposition: "delete"})
	require.NoError(t, err)
	assert.Equal(t, "WorkflowType = 'Offboarding' AND OffboardingStage = 'retention' AND OffboardingDisposition = 'delete'", q)
	_, err = VisibilityQuery(ListQuery{Stage: "x' OR 1=1 --"})
	require.Error(t, err)
}

// A dry run has its own stage value, so the HR system lists dry runs apart from real outcomes.
func Test_GivenStageDryRun_ShouldListOnlyDryRuns(t *testing.T) {
	q, err := VisibilityQuery(ListQuery{Stage: "dry-run"})
	require.NoError(t, err)
	assert.Equal(t, "WorkflowType = 'Offboarding' AND OffboardingStage = 'dry-run'", q)
}

// FuzzDecodeOffboardingRequest checks that no body panics the decoder or the validation, that
// every failure is a 400 problem naming a field or the body, and that an accepted request is
// one the workflow's own validation accepts, from a body that is valid UTF-8, names each field
// once and exactly, and holds no control characters (nor format characters or surrounding
// spaces in identifiers).
func FuzzDecodeOffboardingRequest(f *testing.F) {
	f.Add([]byte(`{"userId":"` + uid + `","disposition":"archive","reason":"r","hrEventId":"e"}`))
	f.Add([]byte(`{"userId":"` + uid + `","disposition":"delete","retention":"P30D","exportFrom":"2029-01-01T00:00:00Z","reason":"r","hrEventId":"e","dryRun":true}`))
	f.Add([]byte(`{"userId":"` + uid + `","disposition":"delete","retention":"P1Y"}`))
	f.Add([]byte(`{"userId":1}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"x":1}`))
	f.Add([]byte(`{"userId":"` + uid + `","disposition":"archive","reason":"r","hrEventId":"e","hrEventId":"f"}`))
	f.Add([]byte(`{"userID":"` + uid + `","disposition":"archive","reason":"r","hrEventId":"e"}`))
	f.Add([]byte(`{"userId":"` + uid + `","dispoſition":"archive","reason":"r","hrEventId":"e"}`))
	f.Add([]byte(`{"userId":"` + uid + `","disposition":"archive","reason":"r` + "\xff" + `","hrEventId":"e"}`))
	f.Add([]byte(`{"userId":"` + uid + `","disposition":"archive","reason":"r\u0085","hrEventId":"e\u200b"}`))
	f.Add([]byte(`{"userId":"` + uid + ` ","disposition":"archive","reason":"r","hrEventId":"\te"}`))
	f.Add([]byte(`{"userId":"` + uid + `","disposition":"delete","retention":"PT0S","reason":"r","hrEventId":"e"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeOffboardingRequest(bytes.NewReader(data))
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Status != 400 {
				t.Fatalf("decode error is not a 400 problem: %v", err)
			}
			return
		}
		if why := unclean(data, reflect.TypeFor[OffboardingRequest]()); why != "" {
			t.Fatalf("accepted a body that %s: %q", why, data)
		}
		policy := workflows.DefaultPolicy()
		req, err := b.Request("workday", now, policy)
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Status != 400 || len(p.Errors) == 0 {
				t.Fatalf("validation error is not a field-level 400 problem: %v", err)
			}
			return
		}
		if err := workflows.ValidateRequest(req, policy, now); err != nil {
			t.Fatalf("accepted a request the workflow rejects: %v", err)
		}
		if !workflows.IsUUID(req.UserID) || req.UserID != strings.ToLower(req.UserID) || req.HREventID == "" || req.RequestedBy != "workday" {
			t.Fatalf("accepted an invalid request: %+v", req)
		}
		for _, id := range []string{b.UserID, b.HREventID, b.Disposition, b.Retention, b.EffectiveAt, b.ExportFrom} {
			if strings.TrimSpace(id) != id || strings.ContainsFunc(id, func(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf) }) {
				t.Fatalf("accepted the identifier %q", id)
			}
		}
		// Re-encoding the body decodes to the same request.
		js, _ := json.Marshal(b)
		b2, err := DecodeOffboardingRequest(bytes.NewReader(js))
		if err != nil || b2 != b {
			t.Fatalf("round trip changed the body: %+v vs %+v (%v)", b, b2, err)
		}
	})
}

// unclean says what is wrong with data that the strict decoder must refuse, read
// independently of it: invalid UTF-8, a key twice in one object, a top-level key that is a
// field of t only when case is ignored, or a control character in a string.
func unclean(data []byte, t reflect.Type) string {
	if !utf8.Valid(data) {
		return "is not UTF-8"
	}
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	type frame struct {
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame // nil frames are arrays
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1] != nil {
				stack[len(stack)-1].wantKey = true
			}
			continue
		}
		if top != nil && top.wantKey {
			key := tok.(string)
			if top.keys[key] {
				return "names " + key + " twice"
			}
			top.keys[key] = true
			top.wantKey = false
			if len(stack) == 1 && !slices.Contains(names, key) && slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, key) }) {
				return "names " + key + " in another case"
			}
			continue
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				stack = append(stack, &frame{keys: map[string]bool{}, wantKey: true})
			} else {
				stack = append(stack, nil)
			}
			continue
		case string:
			if strings.ContainsFunc(v, unicode.IsControl) {
				return "holds a control character"
			}
		}
		if top != nil {
			top.wantKey = true
		}
	}
}

// FuzzDecodeDecision sends approvals bodies with any Content-Type: a body not declared as
// JSON in UTF-8 is a 415, any other refusal is a 400 problem, and a body that reaches
// Temporal is one the strict decoder must accept.
func FuzzDecodeDecision(f *testing.F) {
	f.Add("application/json", []byte(`{"decision":"approve","comment":"ok"}`))
	f.Add("application/json; charset=utf-8", []byte(`{"decision":"reject"}`))
	f.Add("application/json", []byte(`{"decision":1}`))
	f.Add("text/plain", []byte(`{"decision":"approve"}`))
	f.Add("application/json; charset=latin1", []byte(`{"decision":"approve"}`))
	f.Add("", []byte(`{"decision":"approve"}`))
	f.Add("application/json", []byte(`{"decision":"approve","decision":"reject"}`))
	f.Add("application/json", []byte(`{"Decision":"approve"}`))
	f.Add("application/json", []byte("{\"decision\":\"approve\",\"comment\":\"\xc3\"}"))
	f.Add("application/json", []byte(`{"decision":"approve","comment":"\u0000"}`))
	f.Add("application/json", []byte(`{"decision":"approve\u202e"}`))
	h, temporal, _ := newTestAPI(f, nil)
	f.Fuzz(func(t *testing.T, contentType string, data []byte) {
		before := temporal.count("DescribeWorkflowExecution")
		a := send(h, "POST", "/v1/offboardings/"+uid+"/approvals", string(data), map[string]string{"Authorization": "Bearer " + approverSecret, "Content-Type": contentType})
		mt, params, err := mime.ParseMediaType(contentType)
		declared := err == nil && mt == "application/json" && (params["charset"] == "" || strings.EqualFold(params["charset"], "utf-8"))
		switch {
		case a.code == 415:
			if declared || len(bytes.TrimSpace(data)) == 0 {
				t.Fatalf("415 for Content-Type %q and body %q", contentType, data)
			}
		case !declared && len(bytes.TrimSpace(data)) > 0:
			t.Fatalf("Content-Type %q answered %d, not 415", contentType, a.code)
		case a.code == 400:
		case temporal.count("DescribeWorkflowExecution") > before:
			if why := unclean(data, reflect.TypeFor[DecisionRequest]()); why != "" {
				t.Fatalf("a body that %s reached Temporal: %q", why, data)
			}
		default:
			t.Fatalf("answered %d: %s", a.code, a.body)
		}
	})
}
