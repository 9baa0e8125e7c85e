package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/workflows"
)

func Test_GivenRequest_ShouldStartWithItsIDsAndTheFirstStage(t *testing.T) {
	sa := workflows.StartSearchAttributes(deleteRequest())
	for _, tc := range []struct {
		key  temporal.SearchAttributeKeyKeyword
		want string
	}{
		{workflows.KeyGenesysUserID, userID},
		{workflows.KeyDisposition, "delete"},
		{workflows.KeyRequestedBy, requester},
		{workflows.KeyStage, string(workflows.StageChecking)},
	} {
		got, ok := sa.GetKeyword(tc.key)
		assert.True(t, ok, tc.key.GetName())
		assert.Equal(t, tc.want, got, tc.key.GetName())
	}
	assert.Equal(t, 4, sa.Size())
}
