package emulator_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenTheSameSeed_ShouldGenerateTheSameData(t *testing.T) {
	a := emulator.New(emulator.Options{Seed: 7, Users: 30, Conversations: 2000, Now: func() time.Time { return epoch }})
	b := emulator.New(emulator.Options{Seed: 7, Users: 30, Conversations: 2000, Now: func() time.Time { return epoch }})
	c := emulator.New(emulator.Options{Seed: 8, Users: 30, Conversations: 2000, Now: func() time.Time { return epoch }})
	if !slices.Equal(a.SeedUsers(), b.SeedUsers()) {
		t.Fatal("same seed gave different users")
	}
	if a.SeedUsers()[0].ID == c.SeedUsers()[0].ID {
		t.Fatal("different seeds gave the same user IDs")
	}
	total := 0
	for _, u := range a.SeedUsers() {
		total += u.Conversations
	}
	if total < 2000 || total > 2800 {
		t.Fatalf("per-user conversation total %d for 2000 conversations (transfers add a second agent)", total)
	}
	ea := &env{t: t, emu: a, url: newServer(t, a)}
	eb := &env{t: t, emu: b, url: newServer(t, b)}
	u := a.SeedUsers()[0].ID
	q := func(e *env) string {
		body := platformclientv2.Conversationquery{Interval: ptr(epoch.AddDate(0, 0, -31).Format("2006-01-02T15:04:05.000Z") + "/" + epoch.Format("2006-01-02T15:04:05.000Z")),
			SegmentFilters: userFilter(u), Paging: &platformclientv2.Pagingspec{PageSize: ptr(50), PageNumber: ptr(1)}}
		_, resp, err := platformclientv2.NewConversationsApiWithConfig(e.dev()).PostAnalyticsConversationsDetailsQuery(body)
		ok(t, resp, err)
		return string(resp.RawBody)
	}
	if ra, rb := q(ea), q(eb); ra != rb || !strings.Contains(ra, u) {
		t.Fatal("same seed rendered different conversations")
	}
}
