package emulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
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
	Paging         *struct {
		PageSize   int `json:"pageSize"`
		PageNumber int `json:"pageNumber"`
	} `json:"paging"`
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

// parseQuery validates the parts shared by the sync query and jobs.
func (ds *dataset) parseQuery(body queryJSON) (start, end time.Time, f convFilter, err error) {
	if body.Interval == "" {
		return start, end, nil, fmt.Errorf("interval is required, as ISO-8601 start/end, e.g. 2024-01-01T00:00:00.000Z/2024-02-01T00:00:00.000Z")
	}
	a, b, ok := strings.Cut(body.Interval, "/")
	if ok {
		start, err = time.Parse(time.RFC3339Nano, a)
		if err == nil {
			end, err = time.Parse(time.RFC3339Nano, b)
		}
	}
	if !ok || err != nil || !end.After(start) {
		return start, end, nil, fmt.Errorf("interval %q is not a valid ISO-8601 start/end with end after start", body.Interval)
	}
	if body.Order != "" && !strings.EqualFold(body.Order, "asc") && !strings.EqualFold(body.Order, "desc") {
		return start, end, nil, fmt.Errorf("order %q is not valid; use asc or desc", body.Order)
	}
	for _, sf := range body.SegmentFilters {
		g := filterGroup{and: !strings.EqualFold(sf.Type, "or")}
		for _, p := range sf.Predicates {
			if p.Dimension != "userId" {
				return start, end, nil, fmt.Errorf("segment filter dimension %q is not supported by the emulator; use userId", p.Dimension)
			}
			if p.Operator != "" && p.Operator != "matches" {
				return start, end, nil, fmt.Errorf("operator %q is not supported by the emulator; use matches", p.Operator)
			}
			g.users = append(g.users, int32(slices.Index(ds.userIDs, p.Value)))
		}
		f = append(f, g)
	}
	return start.UTC(), end.UTC(), f, nil
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

// handleQuery serves POST /api/v2/analytics/conversations/details/query. It matches the
// conversations that started on a UTC day the interval touches, oldest first.
func (e *Emulator) handleQuery(q *request) {
	var body queryJSON
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		q.badRequest("The request body is not a valid conversation query: " + err.Error())
		return
	}
	e.dataMu.RLock()
	defer e.dataMu.RUnlock()
	ds := e.data
	start, end, f, err := ds.parseQuery(body)
	if err != nil {
		q.invalid(err.Error())
		return
	}
	pageSize, pageNumber := 25, 1
	if body.Paging != nil {
		if body.Paging.PageSize > 0 {
			pageSize = body.Paging.PageSize
		}
		if body.Paging.PageNumber > 0 {
			pageNumber = body.Paging.PageNumber
		}
	}
	if pageSize > 1000 {
		q.invalid("paging.pageSize must be at most 1000")
		return
	}
	from := utcDay(start).UnixMilli()
	to := utcDay(end).UnixMilli()
	if !utcDay(end).Equal(end) {
		to = utcDay(end).AddDate(0, 0, 1).UnixMilli()
	}
	list, all := ds.candidates(f)
	var matched []int // indexes into list (or convs when all)
	lo := ds.firstAtOrAfter(list, all, from, 0)
	hi := ds.firstAtOrAfter(list, all, to, 0)
	if list == nil && !all {
		lo, hi = 0, 0
	}
	exact := f.exact() || len(f) == 0
	total := hi - lo
	if !exact {
		for i := lo; i < hi; i++ {
			if f.match(ds.at(list, all, i)) {
				matched = append(matched, i)
			}
		}
		total = len(matched)
	}
	desc := strings.EqualFold(body.Order, "desc")
	resp := struct {
		Conversations []convJSON `json:"conversations,omitempty"`
		TotalHits     int        `json:"totalHits"`
	}{TotalHits: total}
	now := e.opts.Now()
	for k := (pageNumber - 1) * pageSize; k < min(pageNumber*pageSize, total); k++ {
		j := k
		if desc {
			j = total - 1 - k
		}
		i := lo + j
		if !exact {
			i = matched[j]
		}
		resp.Conversations = append(resp.Conversations, ds.render(ds.at(list, all, i), now))
	}
	q.json(http.StatusOK, resp)
}

type job struct {
	id         string
	filter     convFilter
	start, end int64 // interval, Unix ms
	cutoff     int64 // data availability at submission
	submitted  time.Time
	polls      int
	fail       bool
	completed  time.Time
}

// jobState advances the job by one poll when advance is set and returns its state.
func (e *Emulator) jobStateLocked(j *job, advance bool) string {
	if advance {
		j.polls++
	}
	n := e.opts.JobPolls
	switch {
	case j.polls <= (n+1)/2 && n > 0:
		return "QUEUED"
	case j.polls <= n:
		return "PENDING"
	}
	if j.completed.IsZero() {
		j.completed = e.opts.Now()
	}
	if j.fail {
		return "FAILED"
	}
	return "FULFILLED"
}

// handleCreateJob serves POST /api/v2/analytics/conversations/details/jobs.
func (e *Emulator) handleCreateJob(q *request) {
	var body queryJSON
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		q.badRequest("The request body is not a valid async conversation query: " + err.Error())
		return
	}
	e.dataMu.RLock()
	start, end, f, err := e.data.parseQuery(body)
	e.dataMu.RUnlock()
	if err != nil {
		q.invalid(err.Error())
		return
	}
	now := e.opts.Now()
	e.mu.Lock()
	e.seq++
	j := &job{id: seededUUID(e.opts.Seed, "job:"+strconv.FormatUint(e.seq, 10)+":"+newUUID()), filter: f,
		start: start.UnixMilli(), end: end.UnixMilli(), cutoff: now.Add(-e.faults.AvailabilityLag).UnixMilli(), submitted: now}
	if e.faults.FailJobs > 0 {
		e.faults.FailJobs--
		j.fail = true
	}
	e.jobs[j.id] = j
	e.mu.Unlock()
	q.json(http.StatusAccepted, map[string]string{"jobId": j.id})
}

// handleJobStatus serves GET /api/v2/analytics/conversations/details/jobs/{jobId}.
func (e *Emulator) handleJobStatus(q *request) {
	id := q.r.PathValue("jobId")
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.jobs[id]
	if j == nil {
		q.notFound("Job " + id)
		return
	}
	st := e.jobStateLocked(j, true)
	resp := map[string]any{
		"state":          st,
		"submissionDate": ts(j.submitted),
		"expirationDate": ts(j.submitted.Add(7 * 24 * time.Hour)),
	}
	if st == "FULFILLED" || st == "FAILED" {
		resp["completionDate"] = ts(j.completed)
	}
	if st == "FAILED" {
		resp["errorMessage"] = "The job failed (injected fault); submit it again."
	}
	q.json(http.StatusOK, resp)
}

// handleDeleteJob serves DELETE /api/v2/analytics/conversations/details/jobs/{jobId}.
func (e *Emulator) handleDeleteJob(q *request) {
	id := q.r.PathValue("jobId")
	e.mu.Lock()
	_, ok := e.jobs[id]
	delete(e.jobs, id)
	e.mu.Unlock()
	if !ok {
		q.notFound("Job " + id)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

// handleAvailability serves GET /api/v2/analytics/conversations/details/jobs/availability.
func (e *Emulator) handleAvailability(q *request) {
	q.json(http.StatusOK, map[string]string{"dataAvailabilityDate": ts(e.availability())})
}

func (e *Emulator) availability() time.Time {
	e.mu.Lock()
	lag := e.faults.AvailabilityLag
	e.mu.Unlock()
	return e.opts.Now().Add(-lag).Truncate(time.Millisecond)
}

func encodeCursor(c conv) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + strconv.FormatInt(c.start, 10) + ":" + strconv.FormatUint(c.key, 10)))
}

func decodeCursor(s string) (ms int64, key uint64, err error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		parts := strings.Split(string(b), ":")
		if len(parts) == 3 && parts[0] == "v1" {
			ms, err = strconv.ParseInt(parts[1], 10, 64)
			if err == nil {
				key, err = strconv.ParseUint(parts[2], 10, 64)
				if err == nil {
					return ms, key, nil
				}
			}
		}
	}
	return 0, 0, fmt.Errorf("cursor %q is not one this API returned; pass the cursor of the previous page, or none for the first", s)
}

// handleJobResults serves GET .../jobs/{jobId}/results?cursor=&pageSize=. It renders one page
// by scanning the conversations from the cursor, never materializing the whole result.
func (e *Emulator) handleJobResults(q *request) {
	id := q.r.PathValue("jobId")
	qs := q.r.URL.Query()
	pageSize, err := intParam(qs, "pageSize", 100)
	if err != nil {
		q.badRequest(err.Error())
		return
	}
	if pageSize > 1000 {
		q.invalid("pageSize must be at most 1000")
		return
	}
	e.mu.Lock()
	j := e.jobs[id]
	var st string
	if j != nil {
		st = e.jobStateLocked(j, false)
	}
	e.mu.Unlock()
	if j == nil {
		q.notFound("Job " + id)
		return
	}
	if st != "FULFILLED" {
		q.badRequest(fmt.Sprintf("Job %s is %s; poll it until FULFILLED before reading results.", id, st))
		return
	}

	e.dataMu.RLock()
	defer e.dataMu.RUnlock()
	ds := e.data
	list, all := ds.candidates(j.filter)
	n := size(list, all, ds)
	if list == nil && !all {
		n = 0
	}
	i := ds.firstAtOrAfter(list, all, j.start-ds.maxDur, 0)
	if cur := qs.Get("cursor"); cur != "" {
		ms, key, err := decodeCursor(cur)
		if err != nil {
			q.badRequest(err.Error())
			return
		}
		i = max(i, ds.firstAtOrAfter(list, all, ms, key))
	}
	matches := func(c conv) bool {
		return c.start < j.end && c.end > j.start && c.start <= j.cutoff && j.filter.match(c)
	}
	now := e.opts.Now()
	resp := struct {
		Conversations        []convJSON `json:"conversations,omitempty"`
		Cursor               string     `json:"cursor,omitempty"`
		DataAvailabilityDate string     `json:"dataAvailabilityDate"`
	}{DataAvailabilityDate: tsMs(j.cutoff)}
	for ; i < n; i++ {
		c := ds.at(list, all, i)
		if c.start >= j.end {
			break
		}
		if !matches(c) {
			continue
		}
		if len(resp.Conversations) == pageSize {
			resp.Cursor = encodeCursor(c)
			break
		}
		resp.Conversations = append(resp.Conversations, ds.render(c, now))
	}
	if resp.Conversations == nil {
		resp.Conversations = []convJSON{}
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
