package emulator_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/genesys/emulator"
)

func userFilter(userID string) *[]platformclientv2.Segmentdetailqueryfilter {
	return &[]platformclientv2.Segmentdetailqueryfilter{{
		VarType: ptr("and"),
		Predicates: &[]platformclientv2.Segmentdetailquerypredicate{{
			Dimension: ptr("userId"), Operator: ptr("matches"), Value: ptr(userID),
		}},
	}}
}

func interval(a, b time.Time) *string {
	s := a.UTC().Format("2006-01-02T15:04:05.000Z") + "/" + b.UTC().Format("2006-01-02T15:04:05.000Z")
	return &s
}

func involves(c platformclientv2.Analyticsconversation, userID string) bool {
	for _, p := range *c.Participants {
		if p.UserId != nil && *p.UserId == userID {
			return true
		}
	}
	return false
}

func Test_GivenASyncQuery_ShouldPageCountHitsAndOmitConversationsPastTheEnd(t *testing.T) {
	e := newEnv(t, emulator.Options{Conversations: 30000})
	api := platformclientv2.NewConversationsApiWithConfig(e.dev())
	u := activeUser(t, e)
	from := time.Date(2024, 1, 10, 15, 0, 0, 0, time.UTC)
	to := time.Date(2024, 2, 9, 9, 30, 0, 0, time.UTC)
	// Started on a UTC day the interval touches: [Jan 10 00:00, Feb 10 00:00).
	want := e.emu.ConversationCount(u.ID, time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 10, 0, 0, 0, 0, time.UTC))
	if want < 10 {
		t.Fatalf("too few conversations (%d) to page", want)
	}
	seen := map[string]bool{}
	var prev time.Time
	pages := 0
	for page := 1; ; page++ {
		res, resp, err := api.PostAnalyticsConversationsDetailsQuery(platformclientv2.Conversationquery{
			Interval: interval(from, to), SegmentFilters: userFilter(u.ID), Order: ptr("asc"), OrderBy: ptr("conversationStart"),
			Paging: &platformclientv2.Pagingspec{PageSize: ptr(7), PageNumber: ptr(page)}})
		ok(t, resp, err)
		if *res.TotalHits != want {
			t.Fatalf("totalHits = %d, want %d", *res.TotalHits, want)
		}
		if res.Conversations == nil {
			if strings.Contains(string(resp.RawBody), "conversations") {
				t.Fatalf("past the end the body still has conversations: %s", resp.RawBody)
			}
			break
		}
		pages++
		for _, c := range *res.Conversations {
			if seen[*c.ConversationId] || c.ConversationStart.Before(prev) {
				t.Fatalf("duplicate or out-of-order conversation %s", *c.ConversationId)
			}
			seen[*c.ConversationId] = true
			prev = *c.ConversationStart
		}
	}
	if len(seen) != want || pages != (want+6)/7 {
		t.Fatalf("paged %d conversations in %d pages, want %d", len(seen), pages, want)
	}
	_, resp, err := api.PostAnalyticsConversationsDetailsQuery(platformclientv2.Conversationquery{SegmentFilters: userFilter(u.ID)})
	wantStatus(t, resp, err, 400, "invalid.value")
}

func Test_GivenASyncQueryLongerThanGenesysAllows_ShouldRefuseIt(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	api := platformclientv2.NewConversationsApiWithConfig(e.dev())
	u := activeUser(t, e)
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		to     time.Time
		filter *[]platformclientv2.Segmentdetailqueryfilter
		status int
	}{
		{"31 days with a filter", from.AddDate(0, 0, 31), userFilter(u.ID), 200},
		{"a day more with a filter", from.AddDate(0, 0, 32), userFilter(u.ID), 400},
		{"7 days without a filter", from.AddDate(0, 0, 7), nil, 200},
		{"8 days without a filter", from.AddDate(0, 0, 8), nil, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, resp, err := api.PostAnalyticsConversationsDetailsQuery(platformclientv2.Conversationquery{
				Interval: interval(from, c.to), SegmentFilters: c.filter, Paging: &platformclientv2.Pagingspec{PageSize: ptr(1), PageNumber: ptr(1)}})
			if c.status == 200 {
				ok(t, resp, err)
				return
			}
			wantStatus(t, resp, err, 400, "bad.request")
			if !strings.Contains(err.Error(), "longer than") {
				t.Fatalf("the error does not say the interval is too long: %v", err)
			}
		})
	}
}

func Test_GivenRenderedConversations_ShouldHaveTheGenesysShape(t *testing.T) {
	e := newEnv(t, emulator.Options{JobPolls: -1})
	api := platformclientv2.NewConversationsApiWithConfig(e.dev())
	u := activeUser(t, e)
	convs := runJob(t, api, u.ID, epoch.AddDate(-3, 0, 0), epoch, 100)
	media, segTypes := map[string]bool{}, map[string]bool{}
	transfers, midnight, long := 0, 0, 0
	for _, c := range convs {
		agents := 0
		for _, p := range *c.Participants {
			if *p.Purpose == "agent" {
				agents++
			}
			for _, s := range *p.Sessions {
				media[*s.MediaType] = true
				for _, sg := range *s.Segments {
					segTypes[*sg.SegmentType] = true
				}
			}
		}
		if agents > 1 {
			transfers++
		}
		if c.ConversationEnd != nil {
			if c.ConversationEnd.UTC().YearDay() != c.ConversationStart.UTC().YearDay() {
				midnight++
			}
			if c.ConversationEnd.Sub(*c.ConversationStart) > 2*time.Hour {
				long++
			}
		}
		if len(*c.DivisionIds) == 0 {
			t.Fatal("divisionIds empty")
		}
	}
	for _, m := range []string{"voice", "chat", "email"} {
		if !media[m] {
			t.Errorf("no %s conversations", m)
		}
	}
	for _, s := range []string{"alert", "interact", "hold", "wrapup"} {
		if !segTypes[s] {
			t.Errorf("no %s segments", s)
		}
	}
	if transfers == 0 || midnight == 0 || long == 0 {
		t.Errorf("transfers %d, crossing midnight %d, long %d: want some of each", transfers, midnight, long)
	}
}

// BenchmarkNew1M reports the live heap of an emulator seeded with 1M conversations.
func BenchmarkNew1M(b *testing.B) {
	var heap uint64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		emu := emulator.New(emulator.Options{Users: 500, Conversations: 1_000_000, Now: func() time.Time { return epoch }})
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(emu)
	}
	b.ReportMetric(float64(heap), "heap-bytes")
}
