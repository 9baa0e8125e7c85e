package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
)

// countWindow counts window w's conversations with the conversation-details query and records
// any disagreement with the export, naming a few conversations on either side.
func (x *exporter) countWindow(ctx context.Context, w int) error {
	wp := &x.p.Windows[w]
	if wp.Counted >= 0 {
		return nil
	}
	if x.stored == nil {
		if err := x.loadStored(ctx, w); err != nil {
			return err
		}
	}
	if x.stored.size() == wp.Conversations {
		agree, err := x.countAgrees(ctx, w)
		if err != nil || agree {
			return err
		}
	}
	// A disagreement: page the whole window and compare distinct IDs, to name the ones that differ.
	found, err := x.counter().ids(ctx, x.windows[w], x.beat(ctx))
	if err != nil {
		return err
	}
	x.recordMismatch(wp, found)
	return nil
}

// countAgrees settles window w with the count queries (the precount's, if it ran), recording
// the count if they agree with what is stored.
func (x *exporter) countAgrees(ctx context.Context, w int) (bool, error) {
	pieces, err := x.takePrecount(ctx, w)
	if err != nil {
		return false, err
	}
	if pieces == nil {
		if pieces, err = x.counter().pieces(ctx, x.windows[w], x.beat(ctx)); err != nil {
			return false, err
		}
	}
	if !x.piecesAgree(pieces) {
		return false, nil
	}
	x.p.Windows[w].Counted = x.p.Windows[w].Conversations
	return true, nil
}

// recordMismatch records the query's count of the window and, if it disagrees with what is
// stored, the conversations on either side. Equal counts with other conversations are a
// disagreement too.
func (x *exporter) recordMismatch(wp *windowProgress, found map[string]struct{}) {
	wp.Counted = len(found)
	var missing, extra []string
	for id := range found {
		if !x.stored.has(id) {
			missing = append(missing, id)
		}
	}
	for id := range x.stored.all() {
		if _, ok := found[id]; !ok {
			extra = append(extra, id)
		}
	}
	if wp.Counted == wp.Conversations && x.stored.size() == wp.Conversations && len(missing) == 0 && len(extra) == 0 {
		return
	}
	slices.Sort(missing)
	slices.Sort(extra)
	wp.Mismatch = fmt.Sprintf("exported %d, query counts %d%s%s", wp.Conversations, wp.Counted, idList(" (not exported: ", missing), idList(" (not in the query: ", extra))
}

// pieceCount is what the conversation-details query says about one piece of a window that
// countPieces cuts. The query matches conversations that started on any UTC day its interval
// touches, so its totalHits is exact for whole days: one small request settles up to 31 of
// them. A partial day at either end is paged, keeping the IDs of the conversations that started
// in the window.
type pieceCount struct {
	bundle.Window
	total int                 // whole days: totalHits
	ids   map[string]struct{} // a partial day: the distinct IDs
}

// conversationCounter runs the conversation-details query for one user, pageSize a page.
type conversationCounter struct {
	g        genesys.Client
	userID   string
	pageSize int
}

func (x *exporter) counter() conversationCounter {
	return conversationCounter{g: x.g, userID: x.in.UserID, pageSize: x.queryPage}
}

// pieces runs the count queries for the pieces of win. beat, if set, heartbeats between pages.
func (c conversationCounter) pieces(ctx context.Context, win bundle.Window, beat func()) ([]pieceCount, error) {
	var out []pieceCount
	for _, p := range countPieces(win) {
		pc := pieceCount{Window: p}
		if utcMidnight(p.Start) && utcMidnight(p.End) {
			qp, err := c.g.QueryConversations(ctx, c.userID, genesys.Interval(p), 1, 1)
			if err != nil {
				return nil, err
			}
			pc.total = qp.TotalHits
		} else {
			ids, err := c.ids(ctx, p, beat)
			if err != nil {
				return nil, err
			}
			pc.ids, pc.total = ids, len(ids)
		}
		if beat != nil {
			beat()
		}
		out = append(out, pc)
	}
	return out, nil
}

// count is the number of the user's conversations that started within win.
func (c conversationCounter) count(ctx context.Context, win bundle.Window, beat func()) (int, error) {
	pieces, err := c.pieces(ctx, win, beat)
	n := 0
	for _, p := range pieces {
		n += p.total
	}
	return n, err
}

// piecesAgree reports whether the query counts, in every piece, the conversations the export
// stored there, and in partial days exactly those.
func (x *exporter) piecesAgree(pieces []pieceCount) bool {
	stored := make([]int, len(pieces))
	for id, t := range x.stored.all() {
		for i, p := range pieces {
			if !p.Contains(t) {
				continue
			}
			stored[i]++
			if _, ok := p.ids[id]; p.ids != nil && !ok {
				return false
			}
		}
	}
	for i, p := range pieces {
		if p.total != stored[i] {
			return false
		}
	}
	return true
}

// precount runs a window's count queries while its results are read, so that checking the
// count adds no time after them. It only reads from Genesys; countWindow compares. Counting
// before the export ends is as sound as after: what matters is that the job and the query
// agree, and a disagreement is settled by paging the query again once the window is stored.
type precount struct {
	window int
	// queries yields the pieces, or nil if a query failed (countWindow then queries itself).
	queries *task[[]pieceCount]
}

// startPrecount starts window w's count queries, unless the window is counted or they run.
func (x *exporter) startPrecount(ctx context.Context, w int) {
	if x.pre != nil || x.p.Windows[w].Counted >= 0 {
		return
	}
	win := x.windows[w]
	x.pre = &precount{window: w, queries: startTask(ctx, func(ctx context.Context) []pieceCount {
		pieces, err := x.counter().pieces(ctx, win, nil)
		if err != nil {
			return nil
		}
		return pieces
	})}
}

// takePrecount waits for window w's count queries and returns them, or nil if they were not
// run or failed.
func (x *exporter) takePrecount(ctx context.Context, w int) ([]pieceCount, error) {
	pc := x.pre
	if pc == nil || pc.window != w {
		return nil, nil
	}
	pieces, err := pc.queries.take(ctx, heartbeatSlice(ctx), x.beat(ctx))
	if err != nil {
		return nil, err
	}
	x.pre = nil
	return pieces, nil
}

// dropPrecount stops count queries the export will not use.
func (x *exporter) dropPrecount() {
	if pc := x.pre; pc != nil {
		x.pre = nil
		pc.queries.drop()
	}
}

// maxQueryDays is the longest interval, in days, that the conversation-details query takes
// with a filter (docs/genesys.md).
const maxQueryDays = 31

// countPieces cuts w at the first and last UTC midnight inside it: the partial day at its start,
// the whole days in runs of at most maxQueryDays, and the partial day at its end, leaving out
// empty pieces. A window without a whole day in it is one piece.
func countPieces(w bundle.Window) []bundle.Window {
	first := w.Start.Truncate(24 * time.Hour)
	if first.Before(w.Start) {
		first = first.Add(24 * time.Hour)
	}
	last := w.End.Truncate(24 * time.Hour)
	if !first.Before(last) {
		return []bundle.Window{w}
	}
	var out []bundle.Window
	if w.Start.Before(first) {
		out = append(out, bundle.Window{Start: w.Start, End: first})
	}
	out = append(out, queryIntervals(bundle.Window{Start: first, End: last})...)
	if last.Before(w.End) {
		out = append(out, bundle.Window{Start: last, End: w.End})
	}
	return out
}

// ids pages the conversation-details query over iv, in pieces the query takes, and returns the
// distinct IDs of the conversations that started within it. beat, if set, heartbeats between
// pages.
func (c conversationCounter) ids(ctx context.Context, iv bundle.Window, beat func()) (map[string]struct{}, error) {
	found := map[string]struct{}{}
	for _, p := range queryIntervals(iv) {
		if err := c.pageIDs(ctx, p, beat, found); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// queryIntervals cuts iv into intervals of at most maxQueryDays.
func queryIntervals(iv bundle.Window) []bundle.Window {
	var out []bundle.Window
	for s := iv.Start; s.Before(iv.End); {
		e := s.AddDate(0, 0, maxQueryDays)
		if e.After(iv.End) {
			e = iv.End
		}
		out = append(out, bundle.Window{Start: s, End: e})
		s = e
	}
	return out
}

// pageIDs adds to found the IDs of the conversations that started within iv, paging the query.
func (c conversationCounter) pageIDs(ctx context.Context, iv bundle.Window, beat func(), found map[string]struct{}) error {
	for page := 1; ; page++ {
		qp, err := c.g.QueryConversations(ctx, c.userID, genesys.Interval(iv), c.pageSize, page)
		if err != nil {
			return err
		}
		for _, conv := range qp.Conversations {
			if iv.Contains(conv.Start) {
				found[conv.ID] = struct{}{}
			}
		}
		if beat != nil {
			beat()
		}
		if len(qp.Conversations) < c.pageSize || page*c.pageSize >= qp.TotalHits {
			return nil
		}
	}
}

func utcMidnight(t time.Time) bool { return t.Equal(t.Truncate(24 * time.Hour)) }

func idList(prefix string, ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	more := ""
	if len(ids) > 5 {
		more = fmt.Sprintf(" and %d more", len(ids)-5)
		ids = ids[:5]
	}
	return prefix + strings.Join(ids, ", ") + more + ")"
}
