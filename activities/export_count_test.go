package activities_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// hidingClient leaves some conversations out of every job's results, as if Genesys's jobs store
// missed them while its conversation-details query counts them, and adds extra ones to the last
// page of every job, as if the jobs store had conversations the query does not.
type hidingClient struct {
	genesys.Client
	hidden map[string]bool
	extra  []genesys.Conversation
}

func (c *hidingClient) ConversationJobResults(ctx context.Context, jobID, cursor string, pageSize int, each genesys.EachConversation) (genesys.ResultsPage, error) {
	n := 0
	p, err := c.Client.ConversationJobResults(ctx, jobID, cursor, pageSize, func(i int, conv genesys.Conversation) error {
		if i == 0 {
			n = 0 // the page is read again
		}
		if c.hidden[conv.ID] {
			return nil
		}
		n++
		return each(n-1, conv)
	})
	if err == nil && p.Cursor == "" {
		for _, conv := range c.extra {
			if err := each(n, conv); err != nil {
				return p, err
			}
			n++
		}
	}
	p.Conversations = n
	return p, err
}

func Test_GivenAnExportWhereTheQueryCountsMore_ShouldFailNamingTheWindow(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	// One missed conversation in the first window (a partial day) and one in an inner, whole-day window.
	inner := start.AddDate(0, 0, 30).Truncate(24*time.Hour).AddDate(0, 0, 30)
	late := f.em.AddConversation(emulator.ConversationSpec{Start: start.Add(2 * time.Hour), End: start.Add(3 * time.Hour), UserIDs: []string{f.user}})
	late2 := f.em.AddConversation(emulator.ConversationSpec{Start: inner.Add(time.Hour), End: inner.Add(2 * time.Hour), UserIDs: []string{f.user}})
	a := *f.a
	a.Genesys = &hidingClient{Client: f.g, hidden: map[string]bool{late: true, late2: true}}
	in := f.input("mismatch", start, end)
	run := runExport(t, &a, in, nil)
	ae := exportAppError(t, run.err)
	assert.Equal(t, activities.ErrCountMismatch, ae.Type())
	assert.True(t, ae.NonRetryable())
	msg := ae.Error()
	assert.Contains(t, msg, "window "+bundle.Window{Start: start, End: start.AddDate(0, 0, 30).Truncate(24 * time.Hour)}.String())
	assert.Contains(t, msg, "exported 0, query counts 1")
	assert.Contains(t, msg, late)
	assert.Contains(t, msg, late2)
	assert.Contains(t, msg, "window "+bundle.Window{Start: inner, End: inner.AddDate(0, 0, 30)}.String())
	assert.Contains(t, msg, "2 window(s)")
	_, err := os.Stat(filepath.Join(f.dir, in.Bundle, bundle.ManifestName))
	assert.True(t, os.IsNotExist(err), "no manifest for a bundle that disagrees with Genesys")
}

// A window with a partial day at either end is checked piece by piece: the whole days by
// totalHits, the partial days by paging. A missed conversation in any piece must be caught.
func Test_GivenLateConversationsInEveryPieceOfPartialWindows_ShouldFailNamingThem(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	firstEnd := start.AddDate(0, 0, 30).Truncate(24 * time.Hour)
	// Missed conversations in the whole days of the first window and in the partial last day of
	// the last window.
	lateMiddle := f.em.AddConversation(emulator.ConversationSpec{Start: start.AddDate(0, 0, 5), End: start.AddDate(0, 0, 5).Add(time.Hour), UserIDs: []string{f.user}})
	lateTail := f.em.AddConversation(emulator.ConversationSpec{Start: end.Add(-2 * time.Hour), End: end.Add(-time.Hour), UserIDs: []string{f.user}})
	a := *f.a
	a.Genesys = &hidingClient{Client: f.g, hidden: map[string]bool{lateMiddle: true, lateTail: true}}
	in := f.input("pieces", start, end)
	run := runExport(t, &a, in, nil)
	ae := exportAppError(t, run.err)
	assert.Equal(t, activities.ErrCountMismatch, ae.Type())
	msg := ae.Error()
	require.NotEmpty(t, lateMiddle)
	require.NotEmpty(t, lateTail)
	assert.Contains(t, msg, "window "+bundle.Window{Start: start, End: firstEnd}.String()+": exported 0, query counts 1 (not exported: "+lateMiddle+")")
	assert.Contains(t, msg, "(not exported: "+lateTail+")")
	assert.Contains(t, msg, "2 window(s)")
}

// A partial day whose count agrees but whose conversations differ (the job has one the query
// does not, and misses one it has) must still be caught.
func Test_GivenAPartialDayWithTheRightCountButOtherConversations_ShouldFailNamingBoth(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	at := end.Add(-2 * time.Hour) // the partial last day of the last window
	missed := f.em.AddConversation(emulator.ConversationSpec{Start: at, End: at.Add(time.Minute), UserIDs: []string{f.user}})
	const foreign = "99999999-9999-4999-8999-999999999999"
	raw := fmt.Sprintf(`{"conversationId":%q,"conversationStart":%q}`, foreign, at.Format("2006-01-02T15:04:05.000Z"))
	a := *f.a
	a.Genesys = &hidingClient{Client: f.g, hidden: map[string]bool{missed: true},
		extra: []genesys.Conversation{{ID: foreign, Start: at, Raw: json.RawMessage(raw)}}}
	in := f.input("swapped", start, end)
	ae := exportAppError(t, runExport(t, &a, in, nil).err)
	assert.Equal(t, activities.ErrCountMismatch, ae.Type())
	msg := ae.Error()
	assert.Contains(t, msg, "(not exported: "+missed+")")
	assert.Contains(t, msg, "(not in the query: "+foreign+")")
	assert.Contains(t, msg, "1 window(s)")
}
