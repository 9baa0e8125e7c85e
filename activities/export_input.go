package activities

import (
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/activities/bundle"
)

func (a *Activities) newExporter(in ExportInput) (*exporter, error) {
	if a.Genesys == nil || a.Store == nil {
		return nil, failf(ErrInvalidInput, "the export needs a Genesys client and an export store; configure both on the worker")
	}
	size, err := checkExportInput(in)
	if err != nil {
		return nil, err
	}
	o := a.Export
	x := &exporter{
		a: a, g: a.Genesys, store: a.Store, in: in, prefix: strings.Trim(in.Bundle, "/"),
		windows:   splitWindows(in.Window.Start, in.Window.End, size),
		pageSize:  cmpOr(o.PageSize, defaultExportPageSize),
		queryPage: cmpOr(o.QueryPage, defaultQueryPageSize),
		poll:      cmpOr(o.PollInterval, defaultPollInterval),
		partConvs: cmpOr(o.PartConversations, defaultPartConversations),
		partBytes: cmpOr(o.PartBytes, defaultPartBytes),
	}
	return x, nil
}

// checkExportInput refuses an input no attempt could export, and returns its job window size.
func checkExportInput(in ExportInput) (time.Duration, error) {
	if in.UserID == "" {
		return 0, failf(ErrInvalidInput, "export: userId is empty; give the Genesys user's ID")
	}
	if in.Window.Start.IsZero() || in.Window.End.IsZero() || !in.Window.End.After(in.Window.Start) {
		return 0, failf(ErrInvalidInput, "export: window %s..%s is empty; set start and end, with end after start",
			in.Window.Start.Format(time.RFC3339), in.Window.End.Format(time.RFC3339))
	}
	size := cmpOr(in.WindowSize, defaultWindowSize)
	if in.WindowSize < 0 || size%(24*time.Hour) != 0 {
		return 0, failf(ErrInvalidInput, "export: window size %s is not a whole number of days; use e.g. 8784h for 366 days", in.WindowSize)
	}
	prefix := strings.Trim(in.Bundle, "/")
	if segs := strings.Split(prefix, "/"); prefix == "" || slices.Contains(segs, "..") || slices.Contains(segs, ".") {
		return 0, failf(ErrInvalidInput, "export: bundle %q is not a valid prefix; use <userId>/<runId>", in.Bundle)
	}
	return size, nil
}

func cmpOr[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// splitWindows cuts [start, end) at every size-th UTC midnight counted from start's day, so that
// each job window but the first and last covers whole UTC days: the conversation-details query
// matches conversations that started on any UTC day its interval touches, so aligned windows
// make it count exactly what the export keeps.
func splitWindows(start, end time.Time, size time.Duration) []bundle.Window {
	start, end = start.UTC(), end.UTC()
	days := int(size / (24 * time.Hour))
	y, m, d := start.Date()
	boundary := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var out []bundle.Window
	for s := start; s.Before(end); {
		boundary = boundary.AddDate(0, 0, days)
		e := boundary
		if e.After(end) {
			e = end
		}
		out = append(out, bundle.Window{Start: s, End: e})
		s = e
	}
	return out
}

// windowOf returns the index of the window that holds t, or -1.
func (x *exporter) windowOf(t time.Time) int {
	i, found := slices.BinarySearchFunc(x.windows, t, func(w bundle.Window, t time.Time) int {
		switch {
		case !t.Before(w.End):
			return -1
		case t.Before(w.Start):
			return 1
		}
		return 0
	})
	if !found {
		return -1
	}
	return i
}
