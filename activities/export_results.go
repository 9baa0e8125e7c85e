package activities

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
)

// streamBuffer bounds the conversations read ahead of the ones being written: with the one
// the writer holds and the one the decoder holds, the most the export keeps of a job's results.
const streamBuffer = 32

// resultItem is one conversation of a results page, whose Raw is in buf, or (end set) the end
// of a page, with the next page's cursor or the error that ended the stream.
type resultItem struct {
	conv   genesys.Conversation
	buf    *[]byte
	end    bool
	cursor string
	err    error
}

// rawBuffers recycles the buffers that carry conversations from the stream to the writer, so
// that the export's garbage does not grow with every conversation it reads.
var rawBuffers = sync.Pool{New: func() any { return new([]byte) }}

// resultStream reads a job's results pages from a cursor on, in a task of its own, into a
// channel that holds at most streamBuffer conversations. A page read again after a fault
// repeats conversations already sent; the writer's storedSet skips them.
type resultStream struct {
	items  chan resultItem
	reader *task[struct{}]
	// lastRead is set once the last page is read; onLast is then called (see whenLastRead).
	lastRead atomic.Bool
	onLast   atomic.Pointer[func()]
}

// whenLastRead calls f once the stream has read its last page (at once if it has): f may be
// called twice, from either goroutine.
func (s *resultStream) whenLastRead(f func()) {
	s.onLast.Store(&f)
	if s.lastRead.Load() {
		f()
	}
}

// streamResults starts reading job jobID's results at cursor.
func (x *exporter) streamResults(ctx context.Context, jobID, cursor string) *resultStream {
	s := &resultStream{items: make(chan resultItem, streamBuffer)}
	s.reader = startTask(ctx, func(ctx context.Context) struct{} {
		x.readPages(ctx, s, jobID, cursor)
		return struct{}{}
	})
	return s
}

// readPages sends the job's conversations, and the end of every page, until the last page, an
// error, or ctx's end.
func (x *exporter) readPages(ctx context.Context, s *resultStream, jobID, cursor string) {
	send := func(it resultItem) bool {
		select {
		case s.items <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	each := func(_ int, c genesys.Conversation) error {
		buf := rawBuffers.Get().(*[]byte)
		*buf = append((*buf)[:0], c.Raw...)
		c.Raw = *buf
		if !send(resultItem{conv: c, buf: buf}) {
			return ctx.Err()
		}
		return nil
	}
	for {
		page, err := x.g.ConversationJobResults(ctx, jobID, cursor, x.pageSize, each)
		if err == nil && page.Cursor == "" {
			s.lastRead.Store(true)
			if f := s.onLast.Load(); f != nil {
				(*f)()
			}
		}
		if !send(resultItem{end: true, cursor: page.Cursor, err: err}) || err != nil || page.Cursor == "" {
			return
		}
		cursor = page.Cursor
	}
}

// stop ends the stream and waits for its goroutine.
func (s *resultStream) stop() { s.reader.drop() }

// readResults writes the current job's results from the checkpoint's cursor (or those that s,
// started by a lookahead, reads from the first page) into window w's parts. Pages stream
// through: no page is ever held whole, only streamBuffer conversations read ahead. The
// window's count queries and the next window's job are prepared meanwhile.
func (x *exporter) readResults(ctx context.Context, w int, s *resultStream) error {
	if s == nil {
		s = x.streamResults(ctx, x.p.JobID, x.p.Cursor)
	}
	defer s.stop()
	x.job = "reading"
	x.startPrecount(ctx, w)
	x.startLookahead(ctx, w+1)
	if la := x.ahead; la != nil && la.window == w+1 {
		s.whenLastRead(la.release)
	}
	ww := &windowWriter{x: x, window: w, stored: x.stored}
	defer ww.abort()
	// A page can be slow to come (a rate-limit wait in the client): heartbeat meanwhile.
	tick := time.NewTicker(heartbeatSlice(ctx))
	defer tick.Stop()
	for {
		select {
		case it := <-s.items:
			last, err := ww.consume(ctx, it)
			if err != nil || last {
				return err
			}
		case <-tick.C:
			x.checkpoint(ctx)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// windowWriter writes the conversations its storedSet admits into window w's parts, one open
// part at a time. It is the only place a results cursor enters the checkpoint, and only at a
// page end where no part is open, so that the cursor never runs ahead of what is stored.
type windowWriter struct {
	x      *exporter
	window int
	stored *storedSet
	part   *bundle.PartWriter
}

// consume writes one item of the stream; it reports whether it ended the job's last page.
func (ww *windowWriter) consume(ctx context.Context, it resultItem) (bool, error) {
	if !it.end {
		err := ww.add(ctx, it.conv)
		rawBuffers.Put(it.buf)
		return false, err
	}
	if it.err != nil {
		return false, it.err
	}
	if err := ww.pageEnd(ctx, it.cursor); err != nil {
		return false, err
	}
	ww.x.checkpoint(ctx)
	return it.cursor == "", nil
}

// add writes c to the open part, opening one if needed, if the storedSet admits it.
func (ww *windowWriter) add(ctx context.Context, c genesys.Conversation) error {
	if !ww.stored.admit(c.ID, c.Start) {
		return nil
	}
	if ww.part == nil {
		part, err := ww.x.store.CreatePart(ctx, ww.x.prefix, bundle.PartName(len(ww.x.p.Parts)))
		if err != nil {
			return err // abort rolls c back
		}
		ww.part = part
	}
	return ww.part.Add(c.Raw)
}

// pageEnd closes the open part if the page was the last (next is "") or the part is full, and
// then moves the cursor to next if no part is open.
func (ww *windowWriter) pageEnd(ctx context.Context, next string) error {
	if ww.part != nil && (next == "" || ww.full()) {
		if err := ww.close(ctx); err != nil {
			return err
		}
	}
	ww.advance(next)
	return nil
}

func (ww *windowWriter) full() bool {
	return ww.part.Conversations() >= ww.x.partConvs || ww.part.RawBytes() >= ww.x.partBytes
}

// close stores the open part and records it, making its conversations stored.
func (ww *windowWriter) close(ctx context.Context) error {
	rec, err := ww.part.Close(ctx)
	ww.part = nil
	if err != nil {
		ww.stored.rollback()
		return err
	}
	ww.stored.commit()
	countStored(ctx, rec)
	ww.x.p.Parts = append(ww.x.p.Parts, partProgress{PartRecord: rec, Window: ww.window})
	ww.x.p.Windows[ww.window].Conversations += rec.Conversations
	return nil
}

// advance moves the checkpoint's cursor to next, and refuses (false) while a part is open: its
// conversations are not stored yet, so a retry must read their page again.
func (ww *windowWriter) advance(next string) bool {
	if ww.part != nil {
		return false
	}
	ww.x.p.Cursor = next
	return true
}

// abort discards the open part, if any, and forgets the conversations admitted into it.
func (ww *windowWriter) abort() {
	if ww.part != nil {
		ww.part.Abort()
		ww.part = nil
	}
	ww.stored.rollback()
}
