package bundle

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"
	"gocloud.dev/blob"
)

// PartContentType is the content type of parts. Parts are stored without a Content-Encoding, so
// that no store or client decompresses them in transit and their digests stay those of the bytes.
const PartContentType = "application/gzip"

// maxLine bounds one conversation's JSON when reading parts back.
const maxLine = 64 << 20

// partBuffer batches the compressor's small output writes (a few hundred bytes each) into
// writes to the object: fileblob passes every write straight to a system call.
const partBuffer = 64 << 10

// PartWriter streams conversations into one part object. Nothing is buffered beyond the gzip
// window, partBuffer and the store's upload buffer; the object appears only when Close succeeds.
type PartWriter struct {
	store  *Store
	key    string
	name   string
	cancel context.CancelFunc
	w      *blob.Writer
	enc    *encoder
	sum    hash.Hash
	n      int64
	count  int
	raw    int64
	err    error
}

// encoder is a part's compressor and output buffer. Each holds most of a megabyte of compressor
// state, so the store reuses them from part to part.
type encoder struct {
	gz  *gzip.Writer
	buf *bufio.Writer
}

// CreatePart starts writing the part called name under prefix ("<userId>/<runId>").
func (s *Store) CreatePart(ctx context.Context, prefix, name string) (*PartWriter, error) {
	key := Key(prefix, name)
	ctx, cancel := context.WithCancel(ctx)
	w, err := s.bucket.NewWriter(ctx, key, s.writerOptions(PartContentType))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	p := &PartWriter{store: s, key: key, name: name, cancel: cancel, w: w, sum: sha256.New()}
	out := io.MultiWriter(p.sum, (*objectWriter)(p))
	if e, ok := s.encoders.Get().(*encoder); ok {
		e.buf.Reset(out)
		e.gz.Reset(e.buf)
		p.enc = e
	} else {
		buf := bufio.NewWriterSize(out, partBuffer)
		gz, _ := gzip.NewWriterLevel(buf, gzip.BestSpeed)
		p.enc = &encoder{gz: gz, buf: buf}
	}
	// The header has no name or comment, and an explicit zero modification time (a zero
	// time.Time would be written as its Unix time, a date in 2042), so equal input gives equal bytes.
	p.enc.gz.ModTime = time.Unix(0, 0)
	return p, nil
}

// objectWriter counts the compressed bytes on their way to the store.
type objectWriter PartWriter

func (o *objectWriter) Write(b []byte) (int, error) {
	n, err := o.w.Write(b)
	o.n += int64(n)
	return n, err
}

// release returns the part's encoder to the store for the next part.
func (p *PartWriter) release() {
	if p.enc != nil {
		p.enc.buf.Reset(io.Discard)
		p.enc.gz.Reset(io.Discard)
		p.store.encoders.Put(p.enc)
		p.enc = nil
	}
}

// Add appends one conversation's JSON as a line. A value spanning several lines is compacted
// first, which removes only insignificant whitespace.
func (p *PartWriter) Add(raw []byte) error {
	if p.err != nil {
		return p.err
	}
	if p.enc == nil {
		return fmt.Errorf("write %s: the part is already closed", p.key)
	}
	if bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		var c bytes.Buffer
		if err := json.Compact(&c, raw); err != nil {
			p.err = fmt.Errorf("write %s: conversation is not valid JSON: %w", p.key, err)
			return p.err
		}
		raw = c.Bytes()
	}
	if _, err := p.enc.gz.Write(raw); err != nil {
		p.err = fmt.Errorf("write %s: %w", p.key, err)
		return p.err
	}
	if _, err := p.enc.gz.Write([]byte{'\n'}); err != nil {
		p.err = fmt.Errorf("write %s: %w", p.key, err)
		return p.err
	}
	p.count++
	p.raw += int64(len(raw)) + 1
	return nil
}

// Conversations is the number of lines added so far.
func (p *PartWriter) Conversations() int { return p.count }

// RawBytes is the uncompressed size added so far.
func (p *PartWriter) RawBytes() int64 { return p.raw }

// Close completes the part and makes it visible. If the object already exists (a retried
// attempt), identical content is success and different content is ErrObjectExists.
func (p *PartWriter) Close(ctx context.Context) (PartRecord, error) {
	defer p.cancel()
	if p.err != nil {
		p.Abort()
		return PartRecord{}, p.err
	}
	if p.enc == nil {
		return PartRecord{}, fmt.Errorf("write %s: the part is already closed", p.key)
	}
	err := p.enc.gz.Close()
	if err == nil {
		err = p.enc.buf.Flush()
	}
	if err != nil {
		p.Abort()
		return PartRecord{}, fmt.Errorf("write %s: %w", p.key, err)
	}
	p.release()
	sum := hex.EncodeToString(p.sum.Sum(nil))
	if err := p.store.settle(ctx, p.key, sum, p.w.Close()); err != nil {
		return PartRecord{}, err
	}
	return PartRecord{Name: p.name, Conversations: p.count, Bytes: p.n, SHA256: sum}, nil
}

// Abort discards the part: the object is not created.
func (p *PartWriter) Abort() {
	p.cancel()
	if p.enc != nil {
		p.release()
		_ = p.w.Close()
	}
}

// Key joins a bundle prefix and an object name.
func Key(prefix, name string) string {
	if prefix == "" {
		return name
	}
	if prefix[len(prefix)-1] == '/' {
		return prefix + name
	}
	return prefix + "/" + name
}

// Line is one conversation read back from a part.
type Line struct {
	// N is the 1-based line number within the part.
	N int
	// ID and Start are parsed from the line; Err says why they could not be.
	ID    string
	Start time.Time
	Err   error
}

// PartStats is what reading a whole part found.
type PartStats struct {
	Bytes  int64
	SHA256 string
	Lines  int
}

// ReadPart streams the part at key, calling fn for every line, and returns the object's size,
// digest and line count. fn's error stops the read and is returned. If the content is not valid
// gzip or has an over-long line, the error says so and the returned size and digest are still
// those of the whole object.
func (s *Store) ReadPart(ctx context.Context, key string, fn func(Line) error) (PartStats, error) {
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return PartStats{}, fmt.Errorf("read %s: %w", key, err)
	}
	defer r.Close()
	h := sha256.New()
	counted := &countingReader{r: r, h: h}
	stats := func(lines int) PartStats {
		return PartStats{Bytes: counted.n, SHA256: hex.EncodeToString(h.Sum(nil)), Lines: lines}
	}
	n := 0
	cerr := func() error {
		// The standard library's reader, not the writer's library: the check does not rely on
		// the code that wrote the bytes.
		gz, err := stdgzip.NewReader(counted)
		if err != nil {
			return fmt.Errorf("not gzip: %w", err)
		}
		sc := bufio.NewScanner(gz)
		sc.Buffer(make([]byte, 0, 256<<10), maxLine)
		for sc.Scan() {
			n++
			id, start, perr := parseLine(sc.Bytes())
			if err := fn(Line{N: n, ID: id, Start: start, Err: perr}); err != nil {
				return &stopError{err}
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("line %d: %w", n+1, err)
		}
		return gz.Close()
	}()
	var stop *stopError
	if errors.As(cerr, &stop) {
		return PartStats{}, stop.err
	}
	// Read to the end so the digest covers the whole object, whatever its content.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return PartStats{}, fmt.Errorf("read %s: %w", key, err)
	}
	if cerr != nil {
		return stats(n), fmt.Errorf("read %s: %w", key, cerr)
	}
	return stats(n), nil
}

type stopError struct{ err error }

func (s *stopError) Error() string { return s.err.Error() }

type countingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.h.Write(b[:n])
	c.n += int64(n)
	return n, err
}

// ConversationHead is the part of a conversation that bookkeeping needs.
type ConversationHead struct {
	ConversationID    string `json:"conversationId"`
	ConversationStart string `json:"conversationStart"`
}

func parseLine(b []byte) (string, time.Time, error) {
	var h ConversationHead
	if err := json.Unmarshal(b, &h); err != nil {
		return "", time.Time{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if h.ConversationID == "" {
		return "", time.Time{}, errors.New("no conversationId")
	}
	start, err := time.Parse(time.RFC3339Nano, h.ConversationStart)
	if err != nil {
		return h.ConversationID, time.Time{}, fmt.Errorf("conversationStart %q: %w", h.ConversationStart, err)
	}
	return h.ConversationID, start.UTC(), nil
}
