package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// SignalExportProgress is the signal by which a running export tells its own run how far it is
// (an ExportProgress), for the run's status and current details: the workflow cannot read an
// activity's heartbeat while it runs.
const SignalExportProgress = "exportProgress"

// ExportProgress is how far a running export is. It holds counts and states, no personal data.
type ExportProgress struct {
	// WindowsDone of Windows job windows are exported.
	Windows     int `json:"windows"`
	WindowsDone int `json:"windowsDone"`
	// Conversations is how many conversations are stored so far.
	Conversations int `json:"conversations"`
	// Job is the current window's job state as last polled (QUEUED, PENDING, FULFILLED...),
	// "reading" while its results are read, or "" between jobs.
	Job string `json:"job,omitempty"`
	// Attempt is the activity's attempt; At is when this was taken.
	Attempt int32     `json:"attempt"`
	At      time.Time `json:"at"`
}

// progressEvery is the least time between two reports of an export to its run: each one is an
// event in the run's history, so they come at the pace a reader needs, not at every heartbeat.
const progressEvery = 30 * time.Second

// progress is how far the export is now.
func (x *exporter) progress(ctx context.Context) ExportProgress {
	p := ExportProgress{Windows: len(x.windows), Job: x.job, At: time.Now().UTC()}
	for _, w := range x.p.Windows {
		p.Conversations += w.Conversations
		if w.Exported {
			p.WindowsDone++
		}
	}
	if activity.IsActivity(ctx) {
		p.Attempt = activity.GetInfo(ctx).Attempt
	}
	return p
}

// report tells the run how far the export is, at most every progressEvery and at the end of
// every window; it never holds the export up, and a report that fails is only logged.
func (x *exporter) report(ctx context.Context, windowDone bool) {
	c := x.a.Temporal
	if c == nil || !activity.IsActivity(ctx) || (!windowDone && time.Since(x.reported) < progressEvery) {
		return
	}
	x.reported = time.Now()
	p, run := x.progress(ctx), activity.GetInfo(ctx).WorkflowExecution
	x.reports.Go(func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := c.SignalWorkflow(sctx, run.ID, run.RunID, SignalExportProgress, p); err != nil {
			x.logger(ctx).Info("export progress not reported to the run", "error", err)
		}
	})
}
