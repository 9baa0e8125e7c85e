package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
)

var storedWindow = bundle.Window{
	Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	End:   time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC),
}

func Test_GivenAConversationOutsideTheWindowOrSeenBefore_ShouldNotAdmitIt(t *testing.T) {
	s := newStoredSet(storedWindow)
	in := storedWindow.Start.Add(time.Hour)
	s.markStored("stored", in)
	assert.False(t, s.admit("before", storedWindow.Start.Add(-time.Nanosecond)), "started before the window")
	assert.False(t, s.admit("at-end", storedWindow.End), "the window's end is outside it")
	assert.False(t, s.admit("stored", in), "already stored")
	assert.True(t, s.admit("new", in))
	assert.False(t, s.admit("new", in), "a page read again repeats it")
	assert.Equal(t, 2, s.size())
}

func Test_GivenAPartThatDoesNotClose_ShouldForgetOnlyItsConversations(t *testing.T) {
	s := newStoredSet(storedWindow)
	in := storedWindow.Start.Add(time.Hour)
	require.True(t, s.admit("a", in))
	s.commit()
	require.True(t, s.admit("b", in))
	s.rollback()
	assert.True(t, s.has("a"), "a closed part's conversation stays stored")
	assert.False(t, s.has("b"), "an aborted part's conversation is forgotten")
	assert.True(t, s.admit("b", in), "and admitted again when its page is read again")
	got := map[string]time.Time{}
	for id, start := range s.all() {
		got[id] = start
	}
	assert.Len(t, got, 2)
	assert.True(t, got["a"].Equal(in))
}

func newTestWriter(t *testing.T) (*windowWriter, *exporter) {
	t.Helper()
	store, err := bundle.Open(context.Background(), "file://"+t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	x := &exporter{store: store, prefix: "u/r", windows: []bundle.Window{storedWindow}, p: newProgress(1),
		partConvs: 2, partBytes: 1 << 20}
	x.stored = newStoredSet(storedWindow)
	return &windowWriter{x: x, window: 0, stored: x.stored}, x
}

func conversation(id string, start time.Time) genesys.Conversation {
	raw, _ := json.Marshal(map[string]string{"conversationId": id, "conversationStart": start.Format(time.RFC3339Nano)})
	return genesys.Conversation{ID: id, Start: start, Raw: raw}
}

func Test_GivenAnOpenPart_ShouldRefuseToMoveTheCursor(t *testing.T) {
	ctx := context.Background()
	ww, x := newTestWriter(t)
	x.p.Cursor = "page-1"
	require.NoError(t, ww.add(ctx, conversation("a", storedWindow.Start)))
	assert.False(t, ww.advance("page-2"), "the open part is not stored yet")
	assert.Equal(t, "page-1", x.p.Cursor)

	// A page end that leaves the part open (not full, not the last page) keeps the cursor too.
	require.NoError(t, ww.pageEnd(ctx, "page-2"))
	assert.Equal(t, "page-1", x.p.Cursor)
	assert.Empty(t, x.p.Parts)

	// Once the part is full, the page end closes it and the cursor follows.
	require.NoError(t, ww.add(ctx, conversation("b", storedWindow.Start.Add(time.Minute))))
	require.NoError(t, ww.pageEnd(ctx, "page-3"))
	assert.Equal(t, "page-3", x.p.Cursor)
	require.Len(t, x.p.Parts, 1)
	assert.Equal(t, 2, x.p.Parts[0].Conversations)
	assert.Equal(t, 2, x.p.Windows[0].Conversations)
	assert.True(t, ww.advance("page-4"))
}

func Test_GivenAnAbortedPart_ShouldStoreNothingAndForgetItsConversations(t *testing.T) {
	ctx := context.Background()
	ww, x := newTestWriter(t)
	for i := range 3 {
		require.NoError(t, ww.add(ctx, conversation(fmt.Sprint(i), storedWindow.Start.Add(time.Duration(i)*time.Minute))))
	}
	ww.abort()
	assert.Zero(t, x.stored.size())
	assert.Empty(t, x.p.Parts)
	keys, err := x.store.Keys(ctx, "u/r/")
	require.NoError(t, err)
	assert.Empty(t, keys, "no part object appears")
}
