package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/workflows"
)

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
		{"optional steps", func(p *workflows.Policy) { p.OptionalAccessSteps = []string{"tokens", "forwarding"} }, ""},
		{"unknown optional step", func(p *workflows.Policy) { p.OptionalAccessSteps = []string{"tokens", "mfa"} }, `optionalAccessSteps[1]: "mfa" is not a revoking step`},
		{"optional step twice", func(p *workflows.Policy) { p.OptionalAccessSteps = []string{"tokens", "tokens"} }, "optionalAccessSteps[1]"},
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

func Test_GivenPolicy_ShouldProtectItsUsersWhateverTheCase(t *testing.T) {
	p := workflows.DefaultPolicy()
	p.ProtectedUserIDs = []string{"3F2504E0-4F89-41D3-9A0C-0305E82C3301"}
	assert.True(t, p.Protects("3f2504e0-4f89-41d3-9a0c-0305e82c3301"))
	assert.False(t, p.Protects("4f2504e0-4f89-41d3-9a0c-0305e82c3301"))
	assert.False(t, workflows.DefaultPolicy().Protects(""))
}
