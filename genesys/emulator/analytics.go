package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

type predicateJSON struct {
	Type      string `json:"type"`
	Dimension string `json:"dimension"`
	Operator  string `json:"operator"`
	Value     string `json:"value"`
}

type segmentFilterJSON struct {
	Type       string          `json:"type"`
	Predicates []predicateJSON `json:"predicates"`
}

type queryJSON struct {
	Interval       string              `json:"interval"`
	SegmentFilters []segmentFilterJSON `json:"segmentFilters"`
	Order          string              `json:"order"`
	OrderBy        string              `json:"orderBy"`
	Paging         *pagingJSON         `json:"paging"`
}

type pagingJSON struct {
	PageSize   int `json:"pageSize"`
	PageNumber int `json:"pageNumber"`
}

// filterGroup is one segment filter: its user indexes combined with and/or. -1 never matches.
type filterGroup struct {
	and   bool
	users []int32
}

type convFilter []filterGroup

func (f convFilter) match(c conv) bool {
	has := func(u int32) bool { return u >= 0 && (c.agents[0] == u || c.agents[1] == u) }
	for _, g := range f {
		ok := g.and
		for _, u := range g.users {
			if g.and {
				ok = ok && has(u)
			} else {
				ok = ok || has(u)
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// driver is a user every match must involve, whose index then bounds the scan; -1 if none.
func (f convFilter) driver() int32 {
	for _, g := range f {
		if len(g.users) > 0 && (g.and || len(g.users) == 1) {
			return g.users[0]
		}
	}
	return -1
}

// exact reports whether matching the driver alone is the whole filter.
func (f convFilter) exact() bool {
	return len(f) == 1 && len(f[0].users) == 1
}

// parsedQuery is what the sync query and jobs share, validated: the interval, the filter and
// the order.
type parsedQuery struct {
	start, end time.Time
	filter     convFilter
	desc       bool
}

// parseQuery validates the parts shared by the sync query and jobs.
func (ds *dataset) parseQuery(body queryJSON) (parsedQuery, error) {
	var pq parsedQuery
	var err error
	if pq.start, pq.end, err = parseInterval(body.Interval); err != nil {
		return pq, err
	}
	if body.Order != "" && !strings.EqualFold(body.Order, "asc") && !strings.EqualFold(body.Order, "desc") {
		return pq, fmt.Errorf("order %q is not valid; use asc or desc", body.Order)
	}
	pq.desc = strings.EqualFold(body.Order, "desc")
	pq.filter, err = ds.parseFilter(body.SegmentFilters)
	return pq, err
}

// parseInterval reads an ISO-8601 start/end interval, in UTC.
func parseInterval(s string) (start, end time.Time, err error) {
	if s == "" {
		return start, end, fmt.Errorf("interval is required, as ISO-8601 start/end, e.g. 2024-01-01T00:00:00.000Z/2024-02-01T00:00:00.000Z")
	}
	a, b, ok := strings.Cut(s, "/")
	if ok {
		start, err = time.Parse(time.RFC3339Nano, a)
		if err == nil {
			end, err = time.Parse(time.RFC3339Nano, b)
		}
	}
	if !ok || err != nil || !end.After(start) {
		return start, end, fmt.Errorf("interval %q is not a valid ISO-8601 start/end with end after start", s)
	}
	return start.UTC(), end.UTC(), nil
}

// parseFilter turns segment filters on userId into user indexes (-1 for an unknown user).
func (ds *dataset) parseFilter(filters []segmentFilterJSON) (convFilter, error) {
	var f convFilter
	for _, sf := range filters {
		g := filterGroup{and: !strings.EqualFold(sf.Type, "or")}
		for _, p := range sf.Predicates {
			if p.Dimension != "userId" {
				return nil, fmt.Errorf("segment filter dimension %q is not supported by the emulator; use userId", p.Dimension)
			}
			if p.Operator != "" && p.Operator != "matches" {
				return nil, fmt.Errorf("operator %q is not supported by the emulator; use matches", p.Operator)
			}
			g.users = append(g.users, int32(slices.Index(ds.userIDs, p.Value)))
		}
		f = append(f, g)
	}
	return f, nil
}

// candidates returns the positions to scan: the driver user's index, or nil for all conversations.
func (ds *dataset) candidates(f convFilter) (list []int32, all bool) {
	d := f.driver()
	if d == -1 && len(f) > 0 && slices.ContainsFunc(f, func(g filterGroup) bool { return slices.Contains(g.users, -1) && g.and }) {
		return nil, false // an unknown user in an and-filter matches nothing
	}
	if d >= 0 {
		return ds.byUser[d], false
	}
	return nil, true
}

func (ds *dataset) at(list []int32, all bool, i int) conv {
	if all {
		return ds.convs[i]
	}
	return ds.convs[list[i]]
}

func size(list []int32, all bool, ds *dataset) int {
	if all {
		return len(ds.convs)
	}
	return len(list)
}

// firstAtOrAfter is the first index in the list whose (start, key) is at or after (ms, key).
func (ds *dataset) firstAtOrAfter(list []int32, all bool, ms int64, key uint64) int {
	return sort.Search(size(list, all, ds), func(i int) bool {
		c := ds.at(list, all, i)
		return c.start > ms || (c.start == ms && c.key >= key)
	})
}

func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// readQuery decodes a conversation query (what names it in errors) and validates it against
// ds. When the query is wrong it answers the request itself and returns false.
func readQuery(q *request, ds *dataset, what string) (queryJSON, parsedQuery, bool) {
	var body queryJSON
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		q.badRequest("The request body is not a valid " + what + ": " + err.Error())
		return body, parsedQuery{}, false
	}
	pq, err := ds.parseQuery(body)
	if err != nil {
		q.invalid(err.Error())
		return body, pq, false
	}
	return body, pq, true
}

// queryPage reads the sync query's paging: 25 conversations a page by default, 1000 at most.
func queryPage(p *pagingJSON) (size, number int, err error) {
	size, number = 25, 1
	if p != nil && p.PageSize > 0 {
		size = p.PageSize
	}
	if p != nil && p.PageNumber > 0 {
		number = p.PageNumber
	}
	if size > 1000 {
		return 0, 0, errInvalid("paging.pageSize must be at most 1000")
	}
	return size, number, nil
}

// The sync query's longest interval: 31 days with a segment filter, 7 without (Genesys's
// documented limits; the jobs API has none).
const (
	maxFilteredQueryInterval   = 31 * 24 * time.Hour
	maxUnfilteredQueryInterval = 7 * 24 * time.Hour
)

// checkQueryInterval refuses a sync query whose interval is longer than Genesys allows.
func checkQueryInterval(pq parsedQuery) error {
	limit, days := maxFilteredQueryInterval, 31
	if len(pq.filter) == 0 {
		limit, days = maxUnfilteredQueryInterval, 7
	}
	if pq.end.Sub(pq.start) > limit {
		return errBadRequest(fmt.Sprintf("The interval %s/%s is longer than %d days, the most the conversation details query allows; split it, or use an async job",
			ts(pq.start), ts(pq.end), days))
	}
	return nil
}

// hits are the conversations a sync query matched, oldest first: positions lo to hi of the
// candidates, or of them those in matched when the filter asks more than the candidate list.
type hits struct {
	ds      *dataset
	list    []int32
	all     bool
	lo, hi  int
	exact   bool
	matched []int
}

// queryHits matches the conversations that started on a UTC day the interval touches.
func (ds *dataset) queryHits(pq parsedQuery) hits {
	from := utcDay(pq.start).UnixMilli()
	to := utcDay(pq.end).UnixMilli()
	if !utcDay(pq.end).Equal(pq.end) {
		to = utcDay(pq.end).AddDate(0, 0, 1).UnixMilli()
	}
	h := hits{ds: ds, exact: pq.filter.exact() || len(pq.filter) == 0}
	h.list, h.all = ds.candidates(pq.filter)
	if h.list == nil && !h.all {
		return h
	}
	h.lo, h.hi = ds.firstAtOrAfter(h.list, h.all, from, 0), ds.firstAtOrAfter(h.list, h.all, to, 0)
	if !h.exact {
		for i := h.lo; i < h.hi; i++ {
			if pq.filter.match(ds.at(h.list, h.all, i)) {
				h.matched = append(h.matched, i)
			}
		}
	}
	return h
}

func (h hits) count() int {
	if h.exact {
		return h.hi - h.lo
	}
	return len(h.matched)
}

// nth is the j-th hit.
func (h hits) nth(j int) conv {
	i := h.lo + j
	if !h.exact {
		i = h.matched[j]
	}
	return h.ds.at(h.list, h.all, i)
}

// handleQuery serves POST /api/v2/analytics/conversations/details/query. It matches the
// conversations that started on a UTC day the interval touches, oldest first.
func (e *Emulator) handleQuery(q *request) {
	e.dataMu.RLock()
	defer e.dataMu.RUnlock()
	ds := e.data
	body, pq, ok := readQuery(q, ds, "conversation query")
	if !ok {
		return
	}
	pageSize, pageNumber, err := queryPage(body.Paging)
	if err == nil {
		err = checkQueryInterval(pq)
	}
	if err != nil {
		q.reject(err)
		return
	}
	h := ds.queryHits(pq)
	total := h.count()
	resp := struct {
		Conversations []convJSON `json:"conversations,omitempty"`
		TotalHits     int        `json:"totalHits"`
	}{TotalHits: total}
	now := e.opts.Now()
	for k := (pageNumber - 1) * pageSize; k < min(pageNumber*pageSize, total); k++ {
		j := k
		if pq.desc {
			j = total - 1 - k
		}
		resp.Conversations = append(resp.Conversations, ds.render(h.nth(j), now))
	}
	q.json(http.StatusOK, resp)
}

// ConversationCount is the true number of the user's conversations that started in
// [start, end); a zero start or end leaves that side open.
func (e *Emulator) ConversationCount(userID string, start, end time.Time) int {
	e.dataMu.RLock()
	defer e.dataMu.RUnlock()
	ds := e.data
	u := slices.Index(ds.userIDs, userID)
	if u < 0 {
		return 0
	}
	list := ds.byUser[u]
	lo, hi := 0, len(list)
	if !start.IsZero() {
		lo = ds.firstAtOrAfter(list, false, start.UnixMilli(), 0)
	}
	if !end.IsZero() {
		hi = ds.firstAtOrAfter(list, false, end.UnixMilli(), 0)
	}
	return max(hi-lo, 0)
}
