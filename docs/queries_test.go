package docs

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/workflows"
)

var (
	listQuery  = regexp.MustCompile("(?m)^WorkflowType = 'Offboarding'.*$")
	queryName  = regexp.MustCompile(`\b([A-Z][A-Za-z]+) (?:=|<|>|IN)`)
	stageValue = regexp.MustCompile(`OffboardingStage (?:= '([^']+)'|IN \(([^)]*)\))`)
)

// Test_GivenTheListQueryRecipe_ShouldNameOnlyTheWorkflowsAttributesAndStages keeps the saved-view
// recipe in operations.md true: every attribute it queries is one the workflow sets (or Temporal's
// own), and every stage is one of workflows.Stages().
func Test_GivenTheListQueryRecipe_ShouldNameOnlyTheWorkflowsAttributesAndStages(t *testing.T) {
	text, err := os.ReadFile("operations.md")
	require.NoError(t, err)
	queries := listQuery.FindAllString(string(text), -1)
	require.GreaterOrEqual(t, len(queries), 5, "the recipe's queries")
	known := []string{"WorkflowType", "ExecutionStatus"}
	for name := range workflows.SearchAttributes() {
		known = append(known, name)
	}
	stages := 0
	for _, q := range queries {
		for _, m := range queryName.FindAllStringSubmatch(q, -1) {
			assert.Contains(t, known, m[1], "query %q", q)
		}
		for _, m := range stageValue.FindAllStringSubmatch(q, -1) {
			for _, v := range strings.Split(m[1]+m[2], ",") {
				v = strings.Trim(strings.TrimSpace(v), "'")
				stages++
				assert.True(t, slices.Contains(workflows.Stages(), workflows.Stage(v)), "query %q names stage %q", q, v)
			}
		}
	}
	assert.GreaterOrEqual(t, stages, 4)
	for name := range workflows.SearchAttributes() {
		assert.Contains(t, string(text), "| `"+name+"` |", "the saved view's columns")
	}
}
