package hrapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/workflows"
)

func startJSON(userID, hrEventID string) string {
	return `{"userId":"` + userID + `","disposition":"archive","reason":"resigned","hrEventId":"` + hrEventID + `"}`
}

func problemOf(t *testing.T, a answer) Problem {
	t.Helper()
	require.Equal(t, "application/problem+json", a.header.Get("Content-Type"), a.body)
	var p Problem
	require.NoError(t, json.Unmarshal([]byte(a.body), &p), a.body)
	return p
}

func Test_GivenABodyNotDeclaredAsJSONInUTF8_ShouldAnswer415SayingWhatToSend(t *testing.T) {
	h, temporal, _ := newTestAPI(t, nil)
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=iso-8859-1", "application/jsonx", "application/json;;"} {
		header := asHR()
		header["Content-Type"] = ct
		a := send(h, "POST", "/v1/offboardings", startJSON(uid, "evt-1"), header)
		require.Equal(t, 415, a.code, "Content-Type %q: %s", ct, a.body)
		p := problemOf(t, a)
		assert.Equal(t, TypeUnsupportedMediaType, p.Type)
		assert.Contains(t, p.Detail, "send Content-Type: application/json", ct)
	}
	a := send(h, "POST", "/v1/offboardings/"+uid+"/cancel", `{"reason":"rehired"}`, map[string]string{"Authorization": "Bearer " + hrSecret})
	assert.Equal(t, 415, a.code, "a body that may be empty still needs a content type when it is sent: %s", a.body)
	assert.Zero(t, temporal.count("ExecuteWorkflow")+temporal.count("DescribeWorkflowExecution"), "nothing reached Temporal")

	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"} {
		header := asHR()
		header["Content-Type"] = ct
		a := send(h, "POST", "/v1/offboardings", startJSON(uid, "evt-1"), header)
		assert.Equal(t, 202, a.code, "Content-Type %q: %s", ct, a.body)
	}
	for _, control := range []string{"cancel", "hold", "release"} {
		a := send(h, "POST", "/v1/offboardings/"+uid+"/"+control, "", map[string]string{"Authorization": "Bearer " + hrSecret})
		assert.Equal(t, 404, a.code, "an empty %s needs no content type: %s", control, a.body)
	}
}

// fieldProblem decodes body as a start and returns the one problem, with its first field.
func fieldProblem(t *testing.T, body string) (Problem, workflows.FieldError) {
	t.Helper()
	_, p := decode(t, body)
	require.NotNil(t, p, body)
	require.Equal(t, 400, p.Status, body)
	require.NotEmpty(t, p.Errors, "%s: %v", body, p)
	return *p, p.Errors[0]
}

func Test_GivenDuplicateOrCaseFoldedKeys_ShouldRefuseThemNamingTheField(t *testing.T) {
	for body, want := range map[string]workflows.FieldError{
		`{"userId":"` + uid + `","userId":"9b2c8e1a-1d7e-4a51-8f1e-2f5a3c4d5e6f","disposition":"archive","reason":"r","hrEventId":"e"}`: {Field: "userId", Message: "appears more than once"},
		`{"user\u0049d":"` + uid + `","userId":"` + uid + `","disposition":"archive","reason":"r","hrEventId":"e"}`:                     {Field: "userId", Message: "appears more than once"},
		`{"UserID":"` + uid + `","disposition":"archive","reason":"r","hrEventId":"e"}`:                                                 {Field: "UserID", Message: `send "userId"`},
		`{"userId":"` + uid + `","disposition":"archive","reason":"r","HREVENTID":"e"}`:                                                 {Field: "HREVENTID", Message: `send "hrEventId"`},
		`{"userId":"` + uid + `","dispoſition":"archive","reason":"r","hrEventId":"e"}`:                                                 {Field: "dispoſition", Message: `send "disposition"`},
		`{"userId":"` + uid + `","disposition":"archive","reason":"r","hrEventId":"e","x":{"a":1,"a":2}}`:                               {Field: "x.a", Message: "appears more than once"},
		`{"userId":"` + uid + `","disposition":"archive","reason":"r","hrEventId":"e","x":[{"a":1},{"b":1,"b":2}]}`:                     {Field: "x[1].b", Message: "appears more than once"},
	} {
		_, f := fieldProblem(t, body)
		assert.Equal(t, want.Field, f.Field, body)
		assert.Contains(t, f.Message, want.Message, body)
	}
	var d DecisionRequest
	p := decodeJSON(strings.NewReader(`{"decision":"approve","Decision":"reject"}`), &d, false)
	require.NotNil(t, p)
	assert.Equal(t, "Decision", p.Errors[0].Field)
}

func Test_GivenInvalidUTF8OrControlOrFormatCharacters_ShouldRefuseTheBody(t *testing.T) {
	_, p := decode(t, startJSON(uid, "evt-\xff"))
	require.NotNil(t, p)
	assert.Contains(t, p.Detail, "not valid UTF-8 (at byte 110)")
	for body, field := range map[string]string{
		startJSON(uid, `evt\u0000`):  "hrEventId",
		startJSON(uid, `evt\u007f`):  "hrEventId",
		startJSON(uid, "evt\u0085"):  "hrEventId",
		startJSON(uid, `evt\u200b`):  "hrEventId",
		startJSON(uid, "evt\u202e"):  "hrEventId",
		startJSON(uid, `evt\ud800`):  "hrEventId",
		startJSON(uid+`\u2060`, "e"): "userId",
		`{"userId":"` + uid + `","disposition":"archive","reason":"left\nfor good","hrEventId":"e"}`: "reason",
		`{"userId":"` + uid + `","disposition":"archive","reason":"left\u009b","hrEventId":"e"}`:     "reason",
		`{"userId":"` + uid + `","disposition":"arch\u00adive","reason":"r","hrEventId":"e"}`:        "disposition",
	} {
		_, f := fieldProblem(t, body)
		assert.Equal(t, field, f.Field, body)
		assert.Regexp(t, `(control|format|replacement) character`, f.Message, body)
	}
	req, p := decode(t, `{"userId":"`+uid+`","disposition":"archive","reason":"left \u200d\u05d0\u200f ok","hrEventId":"e"}`)
	require.Nil(t, p, "free text may hold format characters such as a joiner or a right-to-left mark")
	assert.Equal(t, "left \u200d\u05d0\u200f ok", req.Reason)

	var c ControlRequest
	pc := decodeJSON(strings.NewReader(`{"reason":"a\u0007"}`), &c, true)
	require.NotNil(t, pc, "every body is read by the same decoder")
	assert.Equal(t, "reason", pc.Errors[0].Field)
	pc = decodeJSON(strings.NewReader(strings.Repeat("[", maxDepth+2)+strings.Repeat("]", maxDepth+2)), &c, true)
	require.NotNil(t, pc)
	assert.Contains(t, pc.Detail, "nested")
}

func Test_GivenIdentifiersWithSpacesAround_ShouldRefuseThemInsteadOfTrimming(t *testing.T) {
	for body, field := range map[string]string{
		startJSON(" "+uid+"  ", "e"): "userId",
		startJSON(uid, " wd-1"):      "hrEventId",
		startJSON(uid, "wd-1\u00a0"): "hrEventId",
		startJSON(uid, "wd-1\u3000"): "hrEventId",
		`{"userId":"` + uid + `","disposition":"archive ","reason":"r","hrEventId":"e"}`: "disposition",
	} {
		_, f := fieldProblem(t, body)
		assert.Equal(t, field, f.Field, body)
		assert.Equal(t, "has spaces around it: remove them", f.Message, body)
	}
	// The CLI's flags go through Request without the decoder.
	_, err := OffboardingRequest{UserID: uid + " ", Disposition: "archive", Reason: "r", HREventID: "e"}.Request("workday", now, workflows.DefaultPolicy())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "userId: has spaces around it")
}

func Test_GivenAReasonMeasuredInCharacters_ShouldAcceptTheDocumentsMaximumAndNoMore(t *testing.T) {
	body := func(reason string) string {
		return `{"userId":"` + uid + `","disposition":"archive","reason":"` + reason + `","hrEventId":"e"}`
	}
	req, p := decode(t, body(strings.Repeat("é", 2000)))
	require.Nil(t, p, "2000 characters are 4000 bytes; openapi.yaml allows 2000 characters")
	assert.Len(t, []rune(req.Reason), 2000)
	_, f := fieldProblem(t, body(strings.Repeat("é", 2001)))
	assert.Equal(t, "reason", f.Field)
	assert.Contains(t, f.Message, "2001 characters")
	_, f = fieldProblem(t, body(strings.Repeat("a", 2001)))
	assert.Equal(t, "reason", f.Field)
}

func Test_GivenRetentionPT0S_ShouldAcceptItOnlyWhenThePolicyMinimumIsZero(t *testing.T) {
	body := `{"userId":"` + uid + `","disposition":"delete","retention":"PT0S","reason":"r","hrEventId":"e"}`
	b, err := DecodeOffboardingRequest(strings.NewReader(body))
	require.NoError(t, err)
	policy := workflows.DefaultPolicy()
	require.Zero(t, policy.MinRetention)
	req, err := b.Request("workday", now, policy)
	require.NoError(t, err)
	require.NotNil(t, req.Retention, "an explicit zero is not the policy default")
	assert.Zero(t, *req.Retention)

	policy.MinRetention = workflows.DefaultPolicy().DefaultRetention / 2
	_, err = b.Request("workday", now, policy)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "retention: PT0S is outside the policy's range [P15D, P400D]")
}
