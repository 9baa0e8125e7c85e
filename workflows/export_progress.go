package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
)

// listenExportProgress takes the reports a running export sends its run (see
// activities.SignalExportProgress) into the status and the current details; reports that come
// outside the exporting stage are dropped. It returns the drain of their channel.
func (o *offboarding) listenExportProgress(ctx workflow.Context) drain {
	ch := workflow.GetSignalChannel(ctx, activities.SignalExportProgress)
	next := func(ctx workflow.Context) bool {
		var p activities.ExportProgress
		if !ch.ReceiveAsync(&p) {
			return false
		}
		if o.st.Stage == StageExporting && o.st.Export == nil {
			o.exporting = &p
			o.refreshDetails(ctx)
		}
		return true
	}
	listen(ctx, ch, next)
	return next
}

// exportingNow says how far the export is, from its last report.
func (o *offboarding) exportingNow() string {
	p := o.exporting
	if p == nil {
		return "exporting conversations"
	}
	s := fmt.Sprintf("exporting conversations: %d of %d windows done, %s conversations so far", p.WindowsDone, p.Windows, formatCount(p.Conversations))
	if p.Job != "" {
		s += ", current job " + p.Job
	}
	if p.Attempt > 1 {
		s += fmt.Sprintf(" (attempt %d)", p.Attempt)
	}
	return s
}
