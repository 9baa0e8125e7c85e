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
		"delete with default":     func(r *workflows.Request) { r.Retention = 0 },
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

func Test_GivenPolicies_ShouldValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*workflows.Policy)
		want   string
	}{
		{"default", func(*workflows.Policy) {}, ""},
		{"no approvals", func(p *workflows.Policy) { p.ApprovalsRequired = 0 }, "approvalsRequired"},
		{"unreachable approvals", func(p *workflows.Policy) { p.ApprovalsRequired = 4 }, "can never be reached"},
		{"escalation fraction 1", func(p *workflows.Policy) { p.EscalationFraction = 1 }, "escalationFraction"},
		{"zero timeout", func(p *workflows.Policy) { p.ApprovalTimeout = 0 }, "approvalTimeout"},
		{"default above max", func(p *workflows.Policy) { p.DefaultRetention = p.MaxRetention + time.Hour }, "defaultRetention"},
		{"min above max", func(p *workflows.Policy) { p.MinRetention = p.MaxRetention + time.Hour }, "maxRetention"},
		{"bad protected ID", func(p *workflows.Policy) { p.ProtectedUserIDs = []string{"admin"} }, "protectedUserIds[0]"},
		{"empty approver", func(p *workflows.Policy) { p.Approvers = append(p.Approvers, " ") }, "approvers[3]"},
		{"zero export window", func(p *workflows.Policy) { p.ExportWindow = 0 }, "exportWindow"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := testPolicy()
			tc.mutate(&p)
			err := p.Validate()
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
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
