package hrapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

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

// FuzzDecodeOffboardingRequest checks that no body panics the decoder or the validation, that
// every failure is a 400 problem naming a field or the body, and that an accepted request is
// one the workflow's own validation accepts.
func FuzzDecodeOffboardingRequest(f *testing.F) {
	f.Add([]byte(`{"userId":"` + uid + `","disposition":"archive","reason":"r","hrEventId":"e"}`))
	f.Add([]byte(`{"userId":"` + uid + `","disposition":"delete","retention":"P30D","exportFrom":"2029-01-01T00:00:00Z","reason":"r","hrEventId":"e","dryRun":true}`))
	f.Add([]byte(`{"userId":"` + uid + `","disposition":"delete","retention":"P1Y"}`))
	f.Add([]byte(`{"userId":1}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"x":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeOffboardingRequest(bytes.NewReader(data))
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Status != 400 {
				t.Fatalf("decode error is not a 400 problem: %v", err)
			}
			return
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
		// Re-encoding the body decodes to the same request.
		js, _ := json.Marshal(b)
		b2, err := DecodeOffboardingRequest(bytes.NewReader(js))
		if err != nil || b2 != b {
			t.Fatalf("round trip changed the body: %+v vs %+v (%v)", b, b2, err)
		}
	})
}

// FuzzDecodeDecision checks the approvals body decoder.
func FuzzDecodeDecision(f *testing.F) {
	f.Add([]byte(`{"decision":"approve","comment":"ok"}`))
	f.Add([]byte(`{"decision":"reject"}`))
	f.Add([]byte(`{"decision":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d DecisionRequest
		if p := decodeJSON(bytes.NewReader(data), &d, false); p != nil && p.Status != 400 {
			t.Fatalf("decode problem has status %d", p.Status)
		}
	})
}
