package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
)

// Test_GivenTheOperatorDocs_ShouldNameEveryPermissionARunNeeds keeps the two places where an
// administrator reads which permissions the OAuth client's role needs in step with the code.
func Test_GivenTheOperatorDocs_ShouldNameEveryPermissionARunNeeds(t *testing.T) {
	need := []string{genesys.PermUserEdit, genesys.PermUserDelete, genesys.PermConversationDetail,
		genesys.PermOAuthClientView, "authorization:role:view", genesys.PermUserView}
	for _, s := range activities.RevokeSteps() {
		need = append(need, activities.StepPermissions(s)...)
		need = append(need, activities.RestorePermissions(s)...)
	}
	for _, doc := range []string{"docs/operations.md", "deploy/genesys.env.example"} {
		raw, err := os.ReadFile(filepath.Join(root, doc))
		require.NoError(t, err)
		for _, p := range need {
			assert.True(t, strings.Contains(string(raw), p), "%s does not name the permission %s", doc, p)
		}
	}
}
