package genesys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenAConversationJob_ShouldPollPageAndDeleteIt(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	ctx := context.Background()
	u := f.userIn(t, "active", 30)
	iv := genesys.Interval{Start: time.Now().AddDate(-5, 0, 0), End: time.Now().Add(time.Hour)}

	jobID, err := c.CreateConversationJob(ctx, u.ID, iv)
	require.NoError(t, err)
	var states []genesys.JobState
	for {
		st, err := c.ConversationJob(ctx, jobID)
		require.NoError(t, err)
		states = append(states, st.State)
		if st.State == genesys.JobFulfilled {
			assert.False(t, st.SubmissionDate.IsZero())
			break
		}
		require.Contains(t, []genesys.JobState{genesys.JobQueued, genesys.JobPending}, st.State)
		require.Less(t, len(states), 20)
	}
	assert.Equal(t, []genesys.JobState{genesys.JobQueued, genesys.JobPending, genesys.JobFulfilled}, states)

	seen := map[string]bool{}
	cursor, pages := "", 0
	var last time.Time
	for {
		var convs []genesys.Conversation
		page, err := c.ConversationJobResults(ctx, jobID, cursor, 7, func(i int, c genesys.Conversation) error {
			require.Len(t, convs, i, "indexes count up from 0 on an unbroken page")
			c.Raw = bytes.Clone(c.Raw) // the client reuses the buffer
			convs = append(convs, c)
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, len(convs), page.Conversations)
		pages++
		for _, conv := range convs {
			require.False(t, seen[conv.ID], "duplicate %s", conv.ID)
			seen[conv.ID] = true
			assert.False(t, conv.Start.Before(last), "results are ordered by start")
			last = conv.Start
			var raw map[string]any
			require.NoError(t, json.Unmarshal(conv.Raw, &raw))
			assert.Equal(t, conv.ID, raw["conversationId"])
			assert.Equal(t, conv.Start.Format("2006-01-02T15:04:05.000Z"), raw["conversationStart"])
			assert.Contains(t, string(conv.Raw), u.ID)
		}
		if page.Cursor == "" {
			break
		}
		cursor = page.Cursor
	}
	assert.Equal(t, u.Conversations, len(seen), "no gaps")
	assert.Equal(t, (u.Conversations+6)/7, pages)

	avail, err := c.DataAvailability(ctx)
	require.NoError(t, err)
	assert.False(t, avail.IsZero())

	require.NoError(t, c.DeleteConversationJob(ctx, jobID))
	_, err = c.ConversationJob(ctx, jobID)
	requireKind(t, err, genesys.KindNotFound)
	require.NoError(t, c.DeleteConversationJob(ctx, jobID), "deleting an unknown job succeeds")
}

func Test_GivenAConversationQuery_ShouldPageOldestFirst(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 50000})
	c := f.dev(t)
	ctx := context.Background()
	u := f.userIn(t, "active", 30)
	end := time.Now().UTC().Truncate(24 * time.Hour)
	// The longest interval the query takes with a filter.
	iv := genesys.Interval{Start: end.AddDate(0, 0, -31), End: end}
	want := f.emu.ConversationCount(u.ID, iv.Start, iv.End)
	require.Positive(t, want)

	const size = 10
	seen := map[string]bool{}
	inWindow := 0
	var last time.Time
	for page := 1; ; page++ {
		p, err := c.QueryConversations(ctx, u.ID, iv, size, page)
		require.NoError(t, err)
		for _, conv := range p.Conversations {
			require.False(t, seen[conv.ID], "duplicate %s", conv.ID)
			seen[conv.ID] = true
			assert.False(t, conv.Start.Before(last), "ordered by conversationStart")
			last = conv.Start
			if !conv.Start.Before(iv.Start) && conv.Start.Before(iv.End) {
				inWindow++
			}
			assert.True(t, json.Valid(conv.Raw))
		}
		if len(p.Conversations) < size {
			assert.GreaterOrEqual(t, p.TotalHits, want)
			break
		}
		require.Less(t, page, 1000)
	}
	assert.Equal(t, want, inWindow)

	past, err := c.QueryConversations(ctx, u.ID, iv, size, 10000)
	require.NoError(t, err)
	assert.Empty(t, past.Conversations, "past the last page")

	_, err = c.QueryConversations(ctx, u.ID, genesys.Interval{Start: end, End: end}, size, 1)
	requireKind(t, err, genesys.KindInvalid)
}

// resultsProxy serves the emulator, except that it rewrites the first results response it
// sees with tamper (which gets the emulator's body and writes the response itself).
func resultsProxy(t *testing.T, emu *emulator.Emulator, tamper func(w http.ResponseWriter, body []byte)) *genesys.SDKClient {
	t.Helper()
	var tampered atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/results") || !tampered.CompareAndSwap(false, true) {
			emu.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, r)
		require.Equal(t, http.StatusOK, rec.Code)
		tamper(w, rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	c, err := genesys.New(context.Background(), genesys.Config{ClientID: emulator.DevClientID, ClientSecret: emulator.DevClientSecret, APIURL: srv.URL})
	require.NoError(t, err)
	return c
}

// fulfilledJob creates a job over all of u's conversations and waits until it is fulfilled.
func fulfilledJob(t *testing.T, c genesys.Client, userID string) string {
	t.Helper()
	ctx := context.Background()
	id, err := c.CreateConversationJob(ctx, userID, genesys.Interval{Start: time.Now().AddDate(-5, 0, 0), End: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := c.ConversationJob(ctx, id)
		require.NoError(t, err)
		return st.State == genesys.JobFulfilled
	}, 10*time.Second, time.Millisecond)
	return id
}

// collect reads one results page, keeping conversations by index as EachConversation asks.
func collect(c genesys.Client, jobID string, pageSize int, indexes *[]int) ([]genesys.Conversation, genesys.ResultsPage, error) {
	var convs []genesys.Conversation
	page, err := c.ConversationJobResults(context.Background(), jobID, "", pageSize, func(i int, conv genesys.Conversation) error {
		if indexes != nil {
			*indexes = append(*indexes, i)
		}
		conv.Raw = bytes.Clone(conv.Raw)
		convs = append(convs[:i], conv)
		return nil
	})
	return convs, page, err
}

func Test_GivenAResultsBodyCutOffInTransit_ShouldReadThePageAgainFromItsStart(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	u := f.userIn(t, "active", 20)
	c := resultsProxy(t, f.emu, func(w http.ResponseWriter, body []byte) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body[:len(body)*2/3])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection drops two thirds into the page
	})
	jobID := fulfilledJob(t, c, u.ID)
	want, wantPage, err := collect(f.dev(t), jobID, 20, nil)
	require.NoError(t, err)
	require.Len(t, want, 20)

	var indexes []int
	got, page, err := collect(c, jobID, 20, &indexes)
	require.NoError(t, err, "a cut-off body is retried in the client")
	assert.Equal(t, want, got)
	assert.Equal(t, wantPage, page)
	assert.Equal(t, 0, indexes[len(indexes)-20], "the repeated page starts again at index 0")
	assert.Greater(t, len(indexes), 20, "the first read delivered some conversations before it broke")
	assert.Len(t, f.calls(http.MethodGet, "/api/v2/analytics/conversations/details/jobs/"+jobID+"/results"), 3,
		"the tampered read (through the emulator), the retry and the reference read")
}

func Test_GivenAResultsBodyThatIsNotAPage_ShouldBeInvalid(t *testing.T) {
	for name, body := range map[string]string{
		"truncated JSON":         `{"conversations":[{"conversationId":"a","conversationStart":"2026-01-01T00:00:00.000Z"},`,
		"conversations not list": `{"conversations":{"x":1}}`,
		"conversation no id":     `{"conversations":[{"conversationStart":"2026-01-01T00:00:00.000Z"}]}`,
		"not an object":          `[1,2]`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, emulator.Options{})
			u := f.userIn(t, "active", 1)
			c := resultsProxy(t, f.emu, func(w http.ResponseWriter, _ []byte) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			})
			_, _, err := collect(c, fulfilledJob(t, c, u.ID), 10, nil)
			e := requireKind(t, err, genesys.KindInvalid)
			assert.Equal(t, http.StatusOK, e.Status)
			if name == "truncated JSON" {
				// A complete response whose JSON ends early is the server's fault, not the network's.
				assert.Contains(t, e.Error(), "decode results")
			}
		})
	}
}

func Test_GivenTheResultsReceiverFails_ShouldStopAndReturnItsErrorUnretried(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	u := f.userIn(t, "active", 5)
	jobID := fulfilledJob(t, c, u.ID)
	stop := errors.New("disk full")
	var seen int
	_, err := c.ConversationJobResults(context.Background(), jobID, "", 10, func(i int, _ genesys.Conversation) error {
		seen++
		if i == 1 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 2, seen, "nothing is delivered after the receiver's error")
	results := func() int {
		return len(f.calls(http.MethodGet, "/api/v2/analytics/conversations/details/jobs/"+jobID+"/results"))
	}
	// The emulator logs a call when its handler returns, which can be after the client stopped reading.
	require.Eventually(t, func() bool { return results() > 0 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 1, results(), "not retried")
}

func Test_GivenAResultsPage_ShouldDecodeCursorAndAvailability(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	u := f.userIn(t, "active", 1)
	c := resultsProxy(t, f.emu, func(w http.ResponseWriter, _ []byte) {
		// Fields in any order, unknown fields skipped, the cursor before the conversations.
		_, _ = w.Write([]byte(`{"cursor":"next","extra":{"a":[1,{"b":null}]},"conversations":[
			{"conversationId":"c1","conversationStart":"2026-01-01T10:00:00.000Z","conversationEnd":"2026-01-01T10:05:00.000Z"}],
			"dataAvailabilityDate":"2026-01-02T00:00:00Z"}`))
	})
	got, page, err := collect(c, fulfilledJob(t, c, u.ID), 10, nil)
	require.NoError(t, err)
	assert.Equal(t, genesys.ResultsPage{Conversations: 1, Cursor: "next", DataAvailabilityDate: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}, page)
	require.Len(t, got, 1)
	assert.Equal(t, "c1", got[0].ID)
	assert.Equal(t, time.Date(2026, 1, 1, 10, 5, 0, 0, time.UTC), got[0].End)
	assert.JSONEq(t, `{"conversationId":"c1","conversationStart":"2026-01-01T10:00:00.000Z","conversationEnd":"2026-01-01T10:05:00.000Z"}`, string(got[0].Raw))
}
