package activities_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/activities"
)

// progressRecorder is the worker's Temporal client as far as an export uses it: it records the
// progress the export reports to its run.
type progressRecorder struct {
	client.Client
	mu  sync.Mutex
	got []activities.ExportProgress
}

func (r *progressRecorder) SignalWorkflow(_ context.Context, _, _, name string, arg any) error {
	if name != activities.SignalExportProgress {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, arg.(activities.ExportProgress))
	return nil
}

// An export tells its run how far it is: at the end of each window, and (not tested here, being
// about time) at most every 30 s in between.
func Test_GivenAnExportOverSeveralWindows_ShouldReportItsProgressToItsRun(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	rec := &progressRecorder{}
	f.a.Temporal = rec
	start, end := exportSeededWindow()
	in := f.input("run-progress", start, end)

	run := runExport(t, f.a, in, nil)

	require.NoError(t, run.err)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.NotEmpty(t, rec.got)
	last := rec.got[len(rec.got)-1]
	assert.Equal(t, run.summary.Windows, last.Windows)
	assert.Equal(t, last.Windows, last.WindowsDone, "the last report comes when the last window is done")
	assert.Equal(t, run.summary.Conversations, last.Conversations)
	done := -1
	for _, p := range rec.got {
		assert.GreaterOrEqual(t, p.WindowsDone, done, "progress never goes back")
		done = p.WindowsDone
	}
	assert.LessOrEqual(t, len(rec.got), run.summary.Windows+1, "one report a window, and the first one")
}
