package workflows_test

import (
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/workflows"
)

// The HR API documents the stages a list may filter on; its enum is the workflow's stage table.
func Test_GivenHRAPIOpenAPI_ShouldListExactlyTheWorkflowStages(t *testing.T) {
	raw, err := os.ReadFile("../starter/hrapi/openapi.yaml")
	require.NoError(t, err)
	var doc struct {
		Components struct {
			Schemas struct {
				Stage struct {
					Enum []workflows.Stage `json:"enum"`
				} `json:"Stage"`
				AccessStep struct {
					Enum []activities.AccessStep `json:"enum"`
				} `json:"AccessStep"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	assert.Equal(t, workflows.Stages(), doc.Components.Schemas.Stage.Enum)
	assert.Equal(t, activities.RevokeSteps(), doc.Components.Schemas.AccessStep.Enum)
}

func Test_GivenStages_ShouldRevokeAfterScheduledAndKeepArchivingAsTheLegacyStage(t *testing.T) {
	stages := workflows.Stages()
	at := func(s workflows.Stage) int { return slices.Index(stages, s) }
	assert.Equal(t, at(workflows.StageScheduled)+1, at(workflows.StageRevoking))
	assert.Positive(t, at(workflows.StageArchiving), "the legacy stage stays for runs begun before revoking")
}

func Test_GivenStages_ShouldEndWithTheOutcomesOnly(t *testing.T) {
	stages := workflows.Stages()
	require.Equal(t, workflows.StageChecking, stages[0])
	var outcomes []workflows.Stage
	for i, s := range stages {
		if s.Final() {
			outcomes = append(outcomes, s)
			continue
		}
		assert.Empty(t, outcomes, "stage %s (at %d) comes after an outcome", s, i)
	}
	assert.Equal(t, []workflows.Stage{workflows.OutcomeArchived, workflows.OutcomeDeleted, workflows.OutcomeCancelled,
		workflows.OutcomeRejected, workflows.OutcomeFailed, workflows.OutcomeDryRun}, outcomes)
	assert.False(t, workflows.Stage("unknown").Final())
}
