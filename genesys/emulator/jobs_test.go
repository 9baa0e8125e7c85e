package emulator_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/genesys/emulator"
)

// runJob submits a job, polls it to FULFILLED and reads every page; it returns the conversations.
func runJob(t *testing.T, api *platformclientv2.ConversationsApi, userID string, from, to time.Time, pageSize int) []platformclientv2.Analyticsconversation {
	t.Helper()
	created, resp, err := api.PostAnalyticsConversationsDetailsJobs(platformclientv2.Asyncconversationquery{
		Interval: interval(from, to), SegmentFilters: userFilter(userID)})
	ok(t, resp, err)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("create job: HTTP %d", resp.StatusCode)
	}
	for {
		st, resp, err := api.GetAnalyticsConversationsDetailsJob(*created.JobId)
		ok(t, resp, err)
		if *st.State == "FULFILLED" {
			break
		}
	}
	var out []platformclientv2.Analyticsconversation
	cursor := ""
	for {
		page, resp, err := api.GetAnalyticsConversationsDetailsJobResults(*created.JobId, cursor, pageSize)
		ok(t, resp, err)
		if page.Conversations != nil {
			out = append(out, *page.Conversations...)
		}
		if page.Cursor == nil {
			break
		}
		if page.Conversations == nil || len(*page.Conversations) != pageSize {
			t.Fatalf("a page with a cursor must be full")
		}
		cursor = *page.Cursor
	}
	return out
}

func Test_GivenAJob_ShouldMoveThroughItsStatesAndPageByCursorOverLifetimeOverlap(t *testing.T) {
	e := newEnv(t, emulator.Options{JobPolls: 2})
	api := platformclientv2.NewConversationsApiWithConfig(e.dev())
	u := activeUser(t, e)

	from, to := epoch.AddDate(-2, 0, 0), epoch.AddDate(0, -1, 0)
	created, resp, err := api.PostAnalyticsConversationsDetailsJobs(platformclientv2.Asyncconversationquery{
		Interval: interval(from, to), SegmentFilters: userFilter(u.ID)})
	ok(t, resp, err)
	_, resp, err = api.GetAnalyticsConversationsDetailsJobResults(*created.JobId, "", 10)
	wantStatus(t, resp, err, 400, "bad.request")
	var states []string
	for range 4 {
		st, resp, err := api.GetAnalyticsConversationsDetailsJob(*created.JobId)
		ok(t, resp, err)
		states = append(states, *st.State)
		if st.SubmissionDate == nil || st.SubmissionDate.IsZero() {
			t.Fatal("submissionDate missing or not parsed by the SDK")
		}
	}
	if want := []string{"QUEUED", "PENDING", "FULFILLED", "FULFILLED"}; !slices.Equal(states, want) {
		t.Fatalf("job states = %v, want %v", states, want)
	}

	convs := runJob(t, api, u.ID, from, to, 13)
	seen := map[string]bool{}
	startedInside, straddling := 0, 0
	var prev time.Time
	for _, c := range convs {
		id := *c.ConversationId
		if seen[id] {
			t.Fatalf("conversation %s returned twice", id)
		}
		seen[id] = true
		if !involves(c, u.ID) {
			t.Fatalf("conversation %s does not involve %s", id, u.ID)
		}
		start := *c.ConversationStart
		if start.Before(prev) {
			t.Fatalf("results out of order: %s after %s", start, prev)
		}
		prev = start
		switch {
		case !start.Before(from) && start.Before(to):
			startedInside++
		case start.Before(from) && c.ConversationEnd.After(from):
			straddling++
		default:
			t.Fatalf("conversation %s [%s, %s] does not overlap the interval", id, start, c.ConversationEnd)
		}
	}
	if want := e.emu.ConversationCount(u.ID, from, to); startedInside != want || want == 0 {
		t.Fatalf("job returned %d conversations started in the interval, true count %d", startedInside, want)
	}
	t.Logf("%d conversations (%d straddle the start)", len(convs), straddling)

	_, resp, err = api.GetAnalyticsConversationsDetailsJobResults(*created.JobId, "not-a-cursor", 10)
	wantStatus(t, resp, err, 400, "bad.request")
	resp, err = api.DeleteAnalyticsConversationsDetailsJob(*created.JobId)
	ok(t, resp, err)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE job = %d", resp.StatusCode)
	}
	_, resp, err = api.GetAnalyticsConversationsDetailsJob(*created.JobId)
	wantStatus(t, resp, err, 404, "not.found")
}

func Test_GivenAConversationSpanningAWindowBoundary_ShouldAppearInBothWindowsJobs(t *testing.T) {
	e := newEnv(t, emulator.Options{JobPolls: -1})
	api := platformclientv2.NewConversationsApiWithConfig(e.dev())
	u := activeUser(t, e)
	boundary := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	id := e.emu.AddConversation(emulator.ConversationSpec{
		Start: boundary.Add(-90 * time.Minute), End: boundary.Add(3 * time.Hour), UserIDs: []string{u.ID}})
	windows := []time.Time{boundary.AddDate(0, -1, 0), boundary, boundary.AddDate(0, 1, 0)}
	union := map[string]int{}
	for i := range 2 {
		for _, c := range runJob(t, api, u.ID, windows[i], windows[i+1], 50) {
			union[*c.ConversationId]++
		}
	}
	if union[id] != 2 {
		t.Fatalf("spanning conversation seen in %d windows, want 2", union[id])
	}
	if want := e.emu.ConversationCount(u.ID, windows[0], windows[2]); len(union) < want {
		t.Fatalf("windows together returned %d conversations, fewer than the %d that started in them", len(union), want)
	}
	// The sync query counts it only on the UTC day it started.
	q := platformclientv2.Conversationquery{Interval: interval(boundary, boundary.Add(time.Hour)), SegmentFilters: userFilter(u.ID),
		Paging: &platformclientv2.Pagingspec{PageSize: ptr(100), PageNumber: ptr(1)}}
	res, resp, err := api.PostAnalyticsConversationsDetailsQuery(q)
	ok(t, resp, err)
	if res.Conversations != nil && slices.ContainsFunc(*res.Conversations, func(c platformclientv2.Analyticsconversationwithoutattributes) bool { return *c.ConversationId == id }) {
		t.Fatal("sync query matched a conversation that started the day before the interval")
	}
}

func Test_GivenJobFaults_ShouldFailJobsAndHoldAvailabilityBack(t *testing.T) {
	e := newEnv(t, emulator.Options{JobPolls: -1})
	api := platformclientv2.NewConversationsApiWithConfig(e.dev())
	av, resp, err := api.GetAnalyticsConversationsDetailsJobsAvailability()
	ok(t, resp, err)
	if !av.DataAvailabilityDate.Equal(epoch) {
		t.Fatalf("dataAvailabilityDate = %s, want %s", av.DataAvailabilityDate, epoch)
	}
	e.emu.SetFaults(emulator.Faults{AvailabilityLag: 2 * time.Hour, FailJobs: 1})
	av, resp, err = api.GetAnalyticsConversationsDetailsJobsAvailability()
	ok(t, resp, err)
	if !av.DataAvailabilityDate.Equal(epoch.Add(-2 * time.Hour)) {
		t.Fatalf("lagged dataAvailabilityDate = %s", av.DataAvailabilityDate)
	}
	created, resp, err := api.PostAnalyticsConversationsDetailsJobs(platformclientv2.Asyncconversationquery{Interval: interval(epoch.AddDate(0, -1, 0), epoch)})
	ok(t, resp, err)
	st, resp, err := api.GetAnalyticsConversationsDetailsJob(*created.JobId)
	ok(t, resp, err)
	if *st.State != "FAILED" || st.ErrorMessage == nil {
		t.Fatalf("FailJobs: state %s", *st.State)
	}
	_, resp, err = api.PostAnalyticsConversationsDetailsJobs(platformclientv2.Asyncconversationquery{})
	wantStatus(t, resp, err, 400, "invalid.value")
}

// BenchmarkJobResultsPage measures results pages of 100 conversations served per second by the
// handler itself (no network, no SDK parsing).
func BenchmarkJobResultsPage(b *testing.B) {
	now := epoch
	emu := emulator.New(emulator.Options{Users: 50, Conversations: 200_000, Now: func() time.Time { return now }, RequestsPerMinute: -1, JobPolls: -1})
	do := func(method, path, token, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		} else {
			req.SetBasicAuth(emulator.DevClientID, emulator.DevClientSecret)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		emu.ServeHTTP(w, req)
		return w
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mustDecode(b, do("POST", "/oauth/token", "", "grant_type=client_credentials"), &tok)
	var job struct {
		JobID string `json:"jobId"`
	}
	mustDecode(b, do("POST", "/api/v2/analytics/conversations/details/jobs", tok.AccessToken,
		`{"interval":"2022-06-15T00:00:00.000Z/2025-06-15T00:00:00.000Z"}`), &job)
	do("GET", "/api/v2/analytics/conversations/details/jobs/"+job.JobID, tok.AccessToken, "")
	base := "/api/v2/analytics/conversations/details/jobs/" + job.JobID + "/results?pageSize=100"
	cursor := ""
	b.ResetTimer()
	for b.Loop() {
		w := do("GET", base+"&cursor="+cursor, tok.AccessToken, "")
		if w.Code != http.StatusOK {
			b.Fatalf("HTTP %d: %s", w.Code, w.Body)
		}
		cursor = ""
		if _, rest, found := bytes.Cut(w.Body.Bytes(), []byte(`"cursor":"`)); found {
			cursor = string(rest[:bytes.IndexByte(rest, '"')])
		} // else: the last page; start over

	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}
