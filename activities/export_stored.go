package activities

import (
	"iter"
	"time"

	"github.com/offboard/offboard/activities/bundle"
)

// storedSet is the gate of the exactly-once rule for one window: the IDs of the window's
// conversations that are stored, or admitted into the part being written, each with its
// conversationStart in Unix nanoseconds (for the count check).
//
// A conversation enters a part only through admit, which refuses one that started outside the
// window (another window keeps it) or one already in the set (stored by an earlier part or
// attempt, or repeated by a page read again). What admit lets in is pending until the part
// holding it is closed (commit) and is forgotten if the part is not (rollback), so that a
// retried page can store it then.
type storedSet struct {
	window  bundle.Window
	ids     map[string]int64
	pending []string
}

func newStoredSet(w bundle.Window) *storedSet {
	return &storedSet{window: w, ids: map[string]int64{}}
}

// markStored records a conversation read back from a stored part.
func (s *storedSet) markStored(id string, start time.Time) { s.ids[id] = start.UnixNano() }

// admit reports whether the conversation is to be written, and if so holds it as pending.
func (s *storedSet) admit(id string, start time.Time) bool {
	if !s.window.Contains(start) {
		return false
	}
	if _, dup := s.ids[id]; dup {
		return false
	}
	s.ids[id] = start.UnixNano()
	s.pending = append(s.pending, id)
	return true
}

// commit makes the pending conversations stored: their part is closed.
func (s *storedSet) commit() { s.pending = s.pending[:0] }

// rollback forgets the pending conversations: their part was not stored.
func (s *storedSet) rollback() {
	for _, id := range s.pending {
		delete(s.ids, id)
	}
	s.pending = s.pending[:0]
}

// size is the number of conversations in the set.
func (s *storedSet) size() int { return len(s.ids) }

// has reports whether the conversation is in the set.
func (s *storedSet) has(id string) bool {
	_, ok := s.ids[id]
	return ok
}

// all yields every conversation in the set with its start.
func (s *storedSet) all() iter.Seq2[string, time.Time] {
	return func(yield func(string, time.Time) bool) {
		for id, start := range s.ids {
			if !yield(id, time.Unix(0, start)) {
				return
			}
		}
	}
}
