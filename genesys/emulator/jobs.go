package emulator

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// job is an analytics conversation-details job.
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
	e.dataMu.RLock()
	_, pq, ok := readQuery(q, e.data, "async conversation query")
	e.dataMu.RUnlock()
	if !ok {
		return
	}
	now := e.opts.Now()
	e.mu.Lock()
	e.seq++
	j := &job{id: seededUUID(e.opts.Seed, "job:"+strconv.FormatUint(e.seq, 10)+":"+newUUID()), filter: pq.filter,
		start: pq.start.UnixMilli(), end: pq.end.UnixMilli(), cutoff: now.Add(-e.faults.AvailabilityLag).UnixMilli(), submitted: now}
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
	q.noContent()
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

// fulfilledJob returns the job id names once it is fulfilled; otherwise it answers the request
// itself (404, or 400 while the job is not yet fulfilled) and returns nil.
func (e *Emulator) fulfilledJob(q *request, id string) *job {
	e.mu.Lock()
	j := e.jobs[id]
	var st string
	if j != nil {
		st = e.jobStateLocked(j, false)
	}
	e.mu.Unlock()
	switch {
	case j == nil:
		q.notFound("Job " + id)
	case st != "FULFILLED":
		q.badRequest(fmt.Sprintf("Job %s is %s; poll it until FULFILLED before reading results.", id, st))
	default:
		return j
	}
	return nil
}

// resultsScan is where a results page of a job starts in the conversations: the job's
// candidates from the cursor on.
type resultsScan struct {
	list []int32
	all  bool
	from int
	n    int
}

// scanFrom positions a scan of j's results at cursor ("" for the first page). It starts a
// longest conversation early, since a job matches the conversations that overlap its interval.
func (ds *dataset) scanFrom(j *job, cursor string) (resultsScan, error) {
	list, all := ds.candidates(j.filter)
	sc := resultsScan{list: list, all: all, n: size(list, all, ds)}
	if list == nil && !all {
		sc.n = 0
	}
	sc.from = ds.firstAtOrAfter(list, all, j.start-ds.maxDur, 0)
	if cursor == "" {
		return sc, nil
	}
	ms, key, err := decodeCursor(cursor)
	if err != nil {
		return sc, err
	}
	sc.from = max(sc.from, ds.firstAtOrAfter(list, all, ms, key))
	return sc, nil
}

// matches reports whether j's results hold c: it overlaps the interval, started before the job's
// data availability and passes the filter.
func (j *job) matches(c conv) bool {
	return c.start < j.end && c.end > j.start && c.start <= j.cutoff && j.filter.match(c)
}

// resultsPageJSON is a page of a job's results.
type resultsPageJSON struct {
	Conversations        []convJSON `json:"conversations,omitempty"`
	Cursor               string     `json:"cursor,omitempty"`
	DataAvailabilityDate string     `json:"dataAvailabilityDate"`
}

// renderResults renders up to pageSize of j's results from the scan's start, with the cursor of
// the next page when there is more.
func (ds *dataset) renderResults(j *job, sc resultsScan, pageSize int, now time.Time) resultsPageJSON {
	page := resultsPageJSON{Conversations: []convJSON{}, DataAvailabilityDate: tsMs(j.cutoff)}
	for i := sc.from; i < sc.n; i++ {
		c := ds.at(sc.list, sc.all, i)
		if c.start >= j.end {
			break
		}
		if !j.matches(c) {
			continue
		}
		if len(page.Conversations) == pageSize {
			page.Cursor = encodeCursor(c)
			break
		}
		page.Conversations = append(page.Conversations, ds.render(c, now))
	}
	return page
}

// handleJobResults serves GET .../jobs/{jobId}/results?cursor=&pageSize=. It renders one page
// by scanning the conversations from the cursor, never materializing the whole result.
func (e *Emulator) handleJobResults(q *request) {
	qs := q.r.URL.Query()
	pageSize, err := pageSizeParam(qs, 100, 1000)
	if err != nil {
		q.reject(err)
		return
	}
	j := e.fulfilledJob(q, q.r.PathValue("jobId"))
	if j == nil {
		return
	}
	e.dataMu.RLock()
	defer e.dataMu.RUnlock()
	sc, err := e.data.scanFrom(j, qs.Get("cursor"))
	if err != nil {
		q.badRequest(err.Error())
		return
	}
	q.json(http.StatusOK, e.data.renderResults(j, sc, pageSize, e.opts.Now()))
}

// JobIDs lists the analytics jobs that exist (created and not deleted), sorted: what an
// export left behind at Genesys.
func (e *Emulator) JobIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(e.jobs))
	for id := range e.jobs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
