package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/offboard/offboard/activities/bundle"
)

// exportProgress is the export's checkpoint, sent as heartbeat details. It only ever describes
// durable state: every part it lists is stored, and Cursor is the job results page that follows
// the last conversation stored from JobID. A retried attempt resumes from it. Its JSON is read
// by the next attempt, which may run a newer build: keep the field names, or bump
// progressVersion.
//
// The guarantee, which also holds when the checkpoint is older than the store (heartbeats are
// throttled, so a crash can lose the last few): each conversation whose conversationStart is in
// the window is stored exactly once. On resume, parts found in the store beyond the checkpoint
// are adopted (they were written completely, since objects appear atomically), and before a
// window's results are read, the IDs of every stored conversation of that window are loaded
// into a storedSet, which admits no conversation twice (see storedSet and windowWriter).
// Skipping by ID rather than by position keeps this exact when an expired job has to be
// re-created and its results come back in another order. New parts always take the next free
// number, so an object is never rewritten with other content.
type exportProgress struct {
	Version int `json:"v"`
	// Window is the index of the window being exported; len(windows) once all are written.
	Window int `json:"window"`
	// JobID is the job whose results are being read for Window, "" before one is created.
	JobID string `json:"jobId,omitempty"`
	// Cursor is the next results page of JobID to read ("" is the first page). Only
	// windowWriter.advance moves it forward.
	Cursor  string           `json:"cursor,omitempty"`
	Windows []windowProgress `json:"windows"`
	Parts   []partProgress   `json:"parts"`
	// Jobs are the analytics jobs created and not known to be deleted, JobID included: the
	// next attempt deletes the others (see liveJobs).
	Jobs []string `json:"jobs,omitempty"`
}

type windowProgress struct {
	JobIDs []string `json:"jobIds,omitempty"`
	// Conversations is the number of this window's conversations stored so far.
	Conversations int `json:"conversations"`
	// Counted is the conversation-details query's count, or -1 before the window is counted.
	Counted int `json:"counted"`
	// Mismatch describes how the query disagreed with the export, if it did.
	Mismatch string `json:"mismatch,omitempty"`
	// Exported is set once every conversation of the window is stored and its job deleted.
	Exported bool `json:"exported,omitempty"`
}

type partProgress struct {
	bundle.PartRecord
	Window int `json:"window"`
}

// newProgress is the checkpoint of an export that has not started.
func newProgress(windows int) exportProgress {
	p := exportProgress{Version: progressVersion, Windows: make([]windowProgress, windows)}
	for i := range p.Windows {
		p.Windows[i].Counted = -1
	}
	return p
}

// useJob makes id the current window's job, read from its first page.
func (p *exportProgress) useJob(id string) {
	p.JobID, p.Cursor = id, ""
	p.Windows[p.Window].JobIDs = append(p.Windows[p.Window].JobIDs, id)
}

// clearJob forgets the current job: the next one starts from its first page.
func (p *exportProgress) clearJob() { p.JobID, p.Cursor = "", "" }

// resume loads the checkpoint of the previous attempt, if any, and reconciles it with the store.
func (x *exporter) resume(ctx context.Context) error {
	if err := x.loadCheckpoint(ctx); err != nil {
		return err
	}
	stored, err := x.storedParts(ctx)
	if err != nil {
		return err
	}
	for i, p := range x.p.Parts {
		if stored[i] != p.Name {
			return failure(ErrBundleCorrupt, nil, fmt.Sprintf(
				"%s was written by an earlier attempt but is missing from the store: the store lost data or was modified; start a new export under a new bundle prefix",
				x.store.URL(bundle.Key(x.prefix, p.Name))))
		}
	}
	// Adopt parts written after the last checkpoint that reached Temporal.
	for seq := len(x.p.Parts); stored[seq] != ""; seq++ {
		if err := x.adopt(ctx, stored[seq]); err != nil {
			return err
		}
		delete(stored, seq)
	}
	for seq, name := range stored {
		if seq >= len(x.p.Parts) {
			return failure(ErrBundleCorrupt, nil, fmt.Sprintf(
				"%s is in the store but does not follow the parts written so far: another export wrote to this prefix; use a new bundle prefix",
				x.store.URL(bundle.Key(x.prefix, name))))
		}
	}
	return nil
}

// loadCheckpoint starts from the previous attempt's heartbeat details, or from scratch.
func (x *exporter) loadCheckpoint(ctx context.Context) error {
	x.p = newProgress(len(x.windows))
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return nil
	}
	var p exportProgress
	if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
		return fmt.Errorf("read the previous attempt's progress: %w", err)
	}
	if p.Version != progressVersion || len(p.Windows) != len(x.windows) || p.Window > len(x.windows) {
		return failf(ErrInvalidInput, "the previous attempt's progress (version %d, %d windows) does not fit this export (%d windows)",
			p.Version, len(p.Windows), len(x.windows))
	}
	x.p = p
	x.logger(ctx).Info("resuming export", "window", p.Window, "parts", len(p.Parts), "jobId", p.JobID)
	return nil
}

// storedParts returns the names of the parts in the store, by sequence number.
func (x *exporter) storedParts(ctx context.Context) (map[int]string, error) {
	keys, err := x.store.Keys(ctx, x.prefix+"/part-")
	if err != nil {
		return nil, err
	}
	stored := map[int]string{}
	for _, k := range keys {
		name := strings.TrimPrefix(k, x.prefix+"/")
		if seq, ok := bundle.PartSeq(name); ok {
			stored[seq] = name
		}
	}
	return stored, nil
}

// adopt records a part found in the store beyond the checkpoint.
func (x *exporter) adopt(ctx context.Context, name string) error {
	counts := map[int]int{}
	window := -1
	st, err := x.store.ReadPart(ctx, bundle.Key(x.prefix, name), func(l bundle.Line) error {
		w := x.windowOf(l.Start)
		if l.Err != nil || w < 0 {
			return fmt.Errorf("line %d: %v, or outside every window", l.N, l.Err)
		}
		counts[w]++
		window = max(window, w)
		return nil
	})
	if err != nil {
		return failure(ErrBundleCorrupt, err, fmt.Sprintf(
			"%s cannot be adopted from an earlier attempt: %v; start a new export under a new bundle prefix", name, err))
	}
	for w, n := range counts {
		x.p.Windows[w].Conversations += n
	}
	x.p.Parts = append(x.p.Parts, partProgress{
		PartRecord: bundle.PartRecord{Name: name, Conversations: st.Lines, Bytes: st.Bytes, SHA256: st.SHA256},
		Window:     window,
	})
	x.logger(ctx).Info("adopted a part written after the last checkpoint", "part", name, "conversations", st.Lines)
	return nil
}

// loadStored reads the IDs of window w's stored conversations into a new storedSet, checking
// each part against its record.
func (x *exporter) loadStored(ctx context.Context, w int) error {
	x.stored = newStoredSet(x.windows[w])
	for _, p := range x.p.Parts {
		if p.Window != w {
			continue
		}
		st, err := x.store.ReadPart(ctx, bundle.Key(x.prefix, p.Name), func(l bundle.Line) error {
			if l.ID != "" {
				x.stored.markStored(l.ID, l.Start) // every line the export wrote has a valid start; the digest check below catches others
			}
			return nil
		})
		if err == nil && (st.SHA256 != p.SHA256 || st.Lines != p.Conversations) {
			err = fmt.Errorf("stored sha256 %s with %d lines, written as %s with %d", st.SHA256, st.Lines, p.SHA256, p.Conversations)
		}
		if err != nil {
			return failure(ErrBundleCorrupt, err, fmt.Sprintf(
				"%s changed since an earlier attempt wrote it: %v; start a new export under a new bundle prefix", p.Name, err))
		}
	}
	return nil
}

// beat returns a function that checkpoints, for loops that run in the export's goroutine.
func (x *exporter) beat(ctx context.Context) func() { return func() { x.checkpoint(ctx) } }

// checkpoint heartbeats the current progress, which the export's pulse repeats until the next
// checkpoint (the SDK throttles what reaches the server). It sends the progress as its JSON, the
// same payload, taken now: x.p changes on. Only the export's own goroutine calls it: the tasks
// beside it never touch x.p.
func (x *exporter) checkpoint(ctx context.Context) {
	if !activity.IsActivity(ctx) {
		return
	}
	x.p.Jobs = x.jobs.list()
	raw, err := json.Marshal(x.p)
	if err != nil { // never for its ints, strings and slices; the previous checkpoint still holds
		x.logger(ctx).Warn("export progress not checkpointed", "error", err)
		return
	}
	x.pulse.record(ctx, json.RawMessage(raw))
	x.report(ctx, false)
}

// sleep waits d, heartbeating often enough for the activity's heartbeat timeout: the pace.Wait
// of the export's own polls.
func (x *exporter) sleep(ctx context.Context, d time.Duration) error {
	slice := heartbeatSlice(ctx)
	for d > 0 {
		x.checkpoint(ctx)
		step := min(d, slice)
		t := time.NewTimer(step)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		d -= step
	}
	return nil
}
