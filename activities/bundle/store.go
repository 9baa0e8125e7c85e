// Package bundle writes and verifies export bundles: the checksummed, write-once record of a
// user's conversations that an auditor can verify without Genesys access.
package bundle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// stores
	"gocloud.dev/gcerrors"
)

// Store is an export store opened from a URL (file://, s3://, gs://, azblob://).
// Objects in it are written once: rewriting one with identical bytes is a no-op, and rewriting
// it with different bytes is an error.
type Store struct {
	bucket *blob.Bucket
	url    string
}

// ErrObjectExists is returned by WriteOnce when the object exists with different content.
var ErrObjectExists = errors.New("object already exists with different content")

// Open opens the store at url. A file:// store creates its directory if needed.
func Open(ctx context.Context, url string) (*Store, error) {
	u := url
	if strings.HasPrefix(u, "file://") && !strings.Contains(u, "create_dir") {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + "create_dir=true"
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("open export store %q: %w", redactURL(url), err)
	}
	return &Store{bucket: b, url: strings.TrimSuffix(stripQuery(url), "/")}, nil
}

// FromBucket wraps an already opened bucket; url is used only to name objects in reports.
func FromBucket(b *blob.Bucket, url string) *Store {
	return &Store{bucket: b, url: strings.TrimSuffix(stripQuery(url), "/")}
}

// Close releases the store.
func (s *Store) Close() error { return s.bucket.Close() }

// Bucket is the underlying blob bucket.
func (s *Store) Bucket() *blob.Bucket { return s.bucket }

// URL names key within the store, for reports and audit records.
func (s *Store) URL(key string) string { return s.url + "/" + key }

// WriteOnce writes data under key unless it is already there. Identical existing content
// is success, so a retried activity converges; different content is ErrObjectExists.
func (s *Store) WriteOnce(ctx context.Context, key string, data []byte, contentType string) error {
	existing, err := s.bucket.ReadAll(ctx, key)
	switch {
	case err == nil:
		if bytes.Equal(existing, data) {
			return nil
		}
		return fmt.Errorf("write %s: %w", key, ErrObjectExists)
	case gcerrors.Code(err) != gcerrors.NotFound:
		return fmt.Errorf("read %s: %w", key, err)
	}
	w, err := s.bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		_ = w.Close()
		return fmt.Errorf("write %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// ReadAll reads the object at key.
func (s *Store) ReadAll(ctx context.Context, key string) ([]byte, error) {
	return s.bucket.ReadAll(ctx, key)
}

func stripQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// redactURL drops query parameters, which may carry credentials for cloud stores.
func redactURL(u string) string { return stripQuery(u) }
