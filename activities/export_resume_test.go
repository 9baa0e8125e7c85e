package activities_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
)

// crashingClient fails the attempt after a number of results pages, or replays pages.
type crashingClient struct {
	genesys.Client
	pages     atomic.Int32
	failAfter int32 // fail the page read after this many; 0 never
	replay    bool  // every page also repeats the previous page's conversations
	onPage    func(n int32)
	mu        sync.Mutex
	prev      []genesys.Conversation
}

var errCrash = errors.New("worker crashed")

func (c *crashingClient) ConversationJobResults(ctx context.Context, jobID, cursor string, pageSize int, each genesys.EachConversation) (genesys.ResultsPage, error) {
	n := c.pages.Add(1)
	if c.onPage != nil {
		c.onPage(n)
	}
	if c.failAfter > 0 && n > c.failAfter {
		return genesys.ResultsPage{}, errCrash
	}
	if !c.replay {
		return c.Client.ConversationJobResults(ctx, jobID, cursor, pageSize, each)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, conv := range c.prev {
		if err := each(i, conv); err != nil {
			return genesys.ResultsPage{}, err
		}
	}
	var page []genesys.Conversation
	p, err := c.Client.ConversationJobResults(ctx, jobID, cursor, pageSize, func(i int, conv genesys.Conversation) error {
		kept := conv
		kept.Raw = bytes.Clone(conv.Raw)
		page = append(page[:i], kept)
		return each(len(c.prev)+i, conv)
	})
	if err != nil {
		return p, err
	}
	p.Conversations += len(c.prev)
	c.prev = page
	return p, nil
}

func Test_GivenAnExportThatCrashesMidWindow_ShouldResumeWithoutDuplicatesToAnIdenticalManifest(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	clean := runExport(t, f.a, f.input("clean", start, end), nil)
	require.NoError(t, clean.err)
	want := exportManifest(t, f.dir, f.user+"/clean")

	cases := []struct {
		name      string
		failAfter int32
		// pick chooses which recorded heartbeat the retry sees: the last one, or an older one
		// (heartbeats are throttled, so the server may hold a stale checkpoint).
		pick func(hbs []json.RawMessage) json.RawMessage
		// expire deletes the crashed attempt's job, as if it expired before the retry.
		expire bool
	}{
		{name: "last heartbeat", failAfter: 9, pick: func(h []json.RawMessage) json.RawMessage { return h[len(h)-1] }},
		{name: "stale heartbeat", failAfter: 12, pick: func(h []json.RawMessage) json.RawMessage { return h[len(h)/3] }},
		{name: "job expired", failAfter: 11, pick: func(h []json.RawMessage) json.RawMessage { return h[len(h)-1] }, expire: true},
		{name: "no heartbeat reached the server", failAfter: 10, pick: func([]json.RawMessage) json.RawMessage { return nil }},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := "crash" + string(rune('a'+i))
			in := f.input(prefix, start, end)
			crashing := *f.a
			crashing.Genesys = &crashingClient{Client: f.g, failAfter: tc.failAfter}
			first := runExport(t, &crashing, in, nil)
			require.ErrorContains(t, first.err, errCrash.Error())
			require.NotEmpty(t, first.heartbeats)
			_, err := os.Stat(filepath.Join(f.dir, in.Bundle, bundle.ManifestName))
			require.True(t, os.IsNotExist(err), "no manifest after a crash")
			written, err := filepath.Glob(filepath.Join(f.dir, in.Bundle, "part-*.ndjson.gz"))
			require.NoError(t, err)
			require.NotEmpty(t, written, "the crash happens after some parts are stored")
			details := tc.pick(first.heartbeats)
			if tc.expire {
				var p struct {
					JobID string `json:"jobId"`
				}
				require.NoError(t, json.Unmarshal(details, &p))
				require.NotEmpty(t, p.JobID)
				require.NoError(t, f.g.DeleteConversationJob(context.Background(), p.JobID))
			}

			second := runExport(t, f.a, in, details)
			require.NoError(t, second.err)
			got := exportManifest(t, f.dir, in.Bundle)
			assert.Equal(t, withoutJobIDs(want), withoutJobIDs(got))
			assert.Equal(t, clean.summary.Conversations, second.summary.Conversations)
			ids := bundleIDs(t, f.dir, in.Bundle)
			assert.ElementsMatch(t, bundleIDs(t, f.dir, f.user+"/clean"), ids)
			requireExportVerified(t, f.dir, in.Bundle)
		})
	}
}

// With jobs fulfilled at once, the next window's job is created and its first page read while
// the current window is written. Every conversation is still stored once, and every job created,
// used or not, is deleted, also when the attempt crashes with a prepared job outstanding.
func Test_GivenAnExportWhoseJobsAreFulfilledAtOnce_ShouldPrepareTheNextWindowAndLeaveNoJobBehind(t *testing.T) {
	opts := exportSeededOptions()
	opts.JobPolls = -1
	f := newExportFixture(t, opts)
	start, end := exportSeededWindow()
	jobCalls := func(method string) int {
		n := 0
		for _, c := range f.em.Calls() {
			if c.Method == method && strings.HasPrefix(c.Path, "/api/v2/analytics/conversations/details/jobs") &&
				(method == http.MethodPost || !strings.HasSuffix(c.Path, "/results")) && !strings.HasSuffix(c.Path, "/availability") {
				n++
			}
		}
		return n
	}

	in := f.input("ahead", start, end)
	run := runExport(t, f.a, in, nil)
	require.NoError(t, run.err)
	want := f.em.ConversationCount(f.user, start, end)
	assert.Equal(t, want, run.summary.Conversations)
	ids := bundleIDs(t, f.dir, in.Bundle)
	assert.Len(t, ids, want)
	m := exportManifest(t, f.dir, in.Bundle)
	for i, w := range m.Windows {
		assert.Len(t, w.JobIDs, 1, "window %d uses one job", i)
	}
	requireExportVerified(t, f.dir, in.Bundle)
	assert.Equal(t, len(m.Windows), jobCalls(http.MethodPost), "one job per window, none wasted")
	assert.Equal(t, jobCalls(http.MethodPost), jobCalls(http.MethodDelete), "every job is deleted")

	// A crash in the first window's count: the second window's job is prepared and never used.
	crashing := *f.a
	crashing.Genesys = countCrashClient{f.g}
	in = f.input("ahead-crash", start, end)
	first := runExport(t, &crashing, in, nil)
	require.ErrorContains(t, first.err, errCrash.Error())
	assert.Equal(t, jobCalls(http.MethodPost), jobCalls(http.MethodDelete), "the prepared job is deleted")
	// A crash reading a page, after the first page of a prepared job could not be read.
	crashing.Genesys = &crashingClient{Client: f.g, failAfter: 3}
	second := runExport(t, &crashing, in, first.last())
	require.ErrorContains(t, second.err, errCrash.Error())
	assert.Equal(t, 1, jobCalls(http.MethodPost)-jobCalls(http.MethodDelete), "only the job the checkpoint names is left, for the retry")
	third := runExport(t, f.a, in, second.last())
	require.NoError(t, third.err)
	assert.Equal(t, jobCalls(http.MethodPost), jobCalls(http.MethodDelete), "every job is deleted")
	assert.ElementsMatch(t, ids, bundleIDs(t, f.dir, in.Bundle))
	requireExportVerified(t, f.dir, in.Bundle)
}

// countCrashClient fails every conversation-details query, as if the worker crashed there.
type countCrashClient struct{ genesys.Client }

func (countCrashClient) QueryConversations(context.Context, string, genesys.Interval, int, int) (genesys.QueryPage, error) {
	return genesys.QueryPage{}, errCrash
}

func Test_GivenAnExportWithReplayedPages_ShouldNeverWriteADuplicate(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	a := *f.a
	a.Genesys = &crashingClient{Client: f.g, replay: true}
	in := f.input("replay", start, end)
	run := runExport(t, &a, in, nil)
	require.NoError(t, run.err)
	assert.Equal(t, f.em.ConversationCount(f.user, start, end), run.summary.Conversations)
	requireExportVerified(t, f.dir, in.Bundle)
}
