package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// BatchItems names the stored items of a batch: one object, written once by the HR API, with
// one JSON item per line. Its sha256 is bound by the batch's start credential, so a changed
// object is refused rather than read.
type BatchItems struct {
	Key    string `json:"key"`
	Count  int    `json:"count"`
	SHA256 string `json:"sha256"`
}

// BatchItemsKey is where the items of batchID are stored.
func BatchItemsKey(batchID string) string { return "batches/" + batchID + "/items.ndjson" }

// WriteBatchItems stores items (each one JSON value on one line) for batchID, once: a retry
// with the same items succeeds, other items under the same batch ID are ErrObjectExists.
func (s *Store) WriteBatchItems(ctx context.Context, batchID string, items []json.RawMessage) (BatchItems, error) {
	var buf bytes.Buffer
	for i, it := range items {
		if bytes.ContainsAny(it, "\n\r") || !json.Valid(it) {
			return BatchItems{}, fmt.Errorf("batch item %d is not one line of JSON", i+1)
		}
		buf.Write(it)
		buf.WriteByte('\n')
	}
	sum := sha256.Sum256(buf.Bytes())
	ref := BatchItems{Key: BatchItemsKey(batchID), Count: len(items), SHA256: hex.EncodeToString(sum[:])}
	if err := s.WriteOnce(ctx, ref.Key, buf.Bytes(), "application/x-ndjson"); err != nil {
		return BatchItems{}, err
	}
	return ref, nil
}

// ReadBatchItems returns up to limit items of ref from the 0-based index from, after checking
// that the object still has ref's digest and count.
func (s *Store) ReadBatchItems(ctx context.Context, ref BatchItems, from, limit int) ([]json.RawMessage, error) {
	if from < 0 || limit < 1 {
		return nil, fmt.Errorf("read batch items: from %d and limit %d are out of range", from, limit)
	}
	raw, err := s.ReadAll(ctx, ref.Key)
	if err != nil {
		return nil, fmt.Errorf("read batch items %s: %w", ref.Key, err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != ref.SHA256 {
		return nil, ErrBatchItemsChanged
	}
	lines := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
	if len(raw) == 0 {
		lines = nil
	}
	if len(lines) != ref.Count {
		return nil, fmt.Errorf("read batch items %s: %d stored, %d expected: %w", ref.Key, len(lines), ref.Count, ErrBatchItemsChanged)
	}
	out := make([]json.RawMessage, 0, min(limit, max(0, len(lines)-from)))
	for i := from; i < len(lines) && i < from+limit; i++ {
		out = append(out, json.RawMessage(lines[i]))
	}
	return out, nil
}

// ErrBatchItemsChanged says that a batch's stored items are not those its credential signed.
var ErrBatchItemsChanged = errors.New("the batch's stored items do not match the digest it was submitted with")
