package workflows_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/workflows"
)

func Test_GivenValidRequests_ShouldPassValidation(t *testing.T) {
	p := testPolicy()
	for name, mutate := range map[string]func(*workflows.Request){
		"delete with retention":   func(*workflows.Request) {},
		"delete with default":     func(r *workflows.Request) { r.Retention = nil },
		"archive":                 func(r *workflows.Request) { *r = archiveRequest() },
		"uppercase UUID":          func(r *workflows.Request) { r.UserID = strings.ToUpper(userID) },
		"future effective time":   func(r *workflows.Request) { r.EffectiveAt = start.Add(10 * day) },
		"export from the past":    func(r *workflows.Request) { r.ExportFrom = start.Add(-100 * day) },
		"no requested time given": func(r *workflows.Request) { r.RequestedAt = time.Time{} },
	} {
		t.Run(name, func(t *testing.T) {
			req := deleteRequest()
			mutate(&req)
			assert.NoError(t, workflows.ValidateRequest(req, p, start))
		})
	}
}

func Test_GivenInvalidRequest_ShouldNameEveryBadField(t *testing.T) {
	req := workflows.Request{UserID: "{3f2504e0-4f89-41d3-9a0c-0305e82c3301}", Disposition: "purge", RequestedBy: "x\n", RequestedAt: start.Add(time.Hour)}

	err := workflows.ValidateRequest(req, testPolicy(), start)

	var v *workflows.ValidationError
	require.ErrorAs(t, err, &v)
	var fields []string
	for _, f := range v.Fields {
		fields = append(fields, f.Field)
	}
	assert.Equal(t, []string{"userId", "disposition", "requestedBy", "requestedAt"}, fields)
	assert.Contains(t, err.Error(), `"purge" is unknown: use "archive" or "delete"`)
}

func Test_GivenDurations_ShouldRoundTripAsISO8601Days(t *testing.T) {
	for in, want := range map[time.Duration]string{
		0:                               "PT0S",
		15 * time.Second:                "PT15S",
		30 * day:                        "P30D",
		400 * day:                       "P400D",
		day + 2*time.Hour + time.Minute: "P1DT2H1M",
		1500 * time.Millisecond:         "PT1.5S",
	} {
		b, err := json.Marshal(workflows.Duration(in))
		require.NoError(t, err)
		assert.Equal(t, `"`+want+`"`, string(b))
		var back workflows.Duration
		require.NoError(t, json.Unmarshal(b, &back), want)
		assert.Equal(t, in, time.Duration(back))
	}
	_, err := workflows.ParseDuration("P1M")
	assert.ErrorContains(t, err, "use days")
}

func Test_GivenWorkflowID_ShouldParseBackTheUserID(t *testing.T) {
	got, ok := workflows.UserIDFromWorkflowID(workflows.WorkflowID(userID))
	assert.True(t, ok)
	assert.Equal(t, userID, got)
	_, ok = workflows.UserIDFromWorkflowID("payroll-" + userID)
	assert.False(t, ok)
}

func BenchmarkValidateRequest(b *testing.B) {
	p, req := testPolicy(), deleteRequest()
	b.ReportAllocs()
	for b.Loop() {
		if err := workflows.ValidateRequest(req, p, start); err != nil {
			b.Fatal(err)
		}
	}
}

func Test_GivenHowHRNamedThePerson_ShouldAcceptAnEmailOrEmployeeIDAndStillRequireTheUserID(t *testing.T) {
	p := testPolicy()
	for _, id := range []workflows.Identification{
		{By: workflows.IdentifyByEmail, Value: "Ada.Lovelace@example.com"},
		{By: workflows.IdentifyByEmployeeID, Value: "E1000042", ResolvedAt: start},
	} {
		req := deleteRequest()
		req.IdentifiedBy = &id
		assert.NoError(t, workflows.ValidateRequest(req, p, start), id.By)

		req.UserID = ""
		err := workflows.ValidateRequest(req, p, start)
		var v *workflows.ValidationError
		require.ErrorAs(t, err, &v)
		assert.Equal(t, "userId", v.Fields[0].Field, "the HR API resolves the user ID before the start")
	}
}

func Test_GivenABadIdentification_ShouldNameTheFieldWithoutRepeatingTheValue(t *testing.T) {
	for name, c := range map[string]struct {
		id    workflows.Identification
		field string
	}{
		"unknown way":      {workflows.Identification{By: "phone", Value: "+13175550100"}, "identifiedBy.by"},
		"empty value":      {workflows.Identification{By: workflows.IdentifyByEmail, Value: "  "}, "identifiedBy.value"},
		"too long":         {workflows.Identification{By: workflows.IdentifyByEmployeeID, Value: strings.Repeat("7", 255)}, "identifiedBy.value"},
		"control":          {workflows.Identification{By: workflows.IdentifyByEmployeeID, Value: "E1\n2"}, "identifiedBy.value"},
		"email without @":  {workflows.Identification{By: workflows.IdentifyByEmail, Value: "ada.example.com"}, "identifiedBy.value"},
		"invalid encoding": {workflows.Identification{By: workflows.IdentifyByEmployeeID, Value: "E\xff"}, "identifiedBy.value"},
	} {
		req := deleteRequest()
		req.IdentifiedBy = &c.id
		err := workflows.ValidateRequest(req, testPolicy(), start)
		var v *workflows.ValidationError
		require.ErrorAs(t, err, &v, name)
		require.Len(t, v.Fields, 1, name)
		assert.Equal(t, c.field, v.Fields[0].Field, name)
		if c.field == "identifiedBy.value" && strings.TrimSpace(c.id.Value) != "" {
			assert.NotContains(t, err.Error(), strings.TrimSpace(c.id.Value), name)
		}
	}
}
