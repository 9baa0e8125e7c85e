package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/workflows"
)

// While the export runs, the status and the current details say how far it is, from the
// export's own reports; once it is done, the summary of what it wrote replaces them.
func Test_GivenExportReportingProgress_ShouldShowItInTheStatusWhileExporting(t *testing.T) {
	f := newFixture(t, testPolicy())
	f.exportDelay = time.Hour
	var during workflows.Status
	f.at(10*time.Minute, func() {
		f.env.SignalWorkflow(activities.SignalExportProgress, activities.ExportProgress{
			Windows: 3, WindowsDone: 2, Conversations: 812, Job: "PENDING", Attempt: 1, At: start})
	})
	f.at(20*time.Minute, func() { during = f.status() })

	_, err := f.run(archiveRequest())

	require.NoError(t, err)
	require.Equal(t, workflows.StageExporting, during.Stage)
	require.NotNil(t, during.Exporting)
	assert.Equal(t, 2, during.Exporting.WindowsDone)
	assert.Contains(t, during.Summary, "2 of 3 windows done, 812 conversations so far, current job PENDING")
	after := f.status()
	assert.Nil(t, after.Exporting)
	assert.NotContains(t, after.Summary, "so far")
}
