package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob:// stores
	_ "gocloud.dev/blob/fileblob"  // file:// stores
	_ "gocloud.dev/blob/gcsblob"   // gs:// stores
	_ "gocloud.dev/blob/s3blob"    // s3:// stores
	"gocloud.dev/gcerrors"
)

// Store is an export store opened from a URL (file://, s3://, gs://, azblob://).
// Objects in it are written once: rewriting one with identical bytes is a no-op, and rewriting
// it with different bytes is an error.
type Store struct {
	bucket *blob.Bucket
	url    string
	local  bool
	// encoders holds the compressors of closed parts, for reuse by the next ones.
	encoders sync.Pool
}

// ErrObjectExists is returned by WriteOnce when the object exists with different content.
var ErrObjectExists = errors.New("object already exists with different content")

// fileDefaults are the fileblob URL parameters Open adds unless the URL sets them: directories
// only the owner can enter, temporary files beside their target (so the final rename is atomic
// on the same file system, never a cross-device copy out of /tmp), and no ".attrs" sidecars.
var fileDefaults = [][2]string{
	{"create_dir", "true"},
	{"dir_file_mode", "448"}, // 0o700; fileblob parses it as a decimal number
	{"no_tmp_dir", "true"},
	{"metadata", "skip"},
}

// Open opens the store at url. A file:// store creates its directory if needed, creates
// directories 0700 and files 0600 (owner only, whatever the umask), and writes every object to a
// temporary file in the same directory that is renamed into place once complete. Cloud stores
// write atomically by nature (an object appears only when its upload completes).
func Open(ctx context.Context, rawURL string) (*Store, error) {
	return open(ctx, rawURL, true)
}

func open(ctx context.Context, rawURL string, create bool) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse export store URL %q: %w (want e.g. file:///var/lib/offboard/exports or s3://bucket?region=eu-west-1)", redactURL(rawURL), err)
	}
	local := u.Scheme == "file"
	if local {
		q := u.Query()
		for _, kv := range fileDefaults {
			if kv[0] == "create_dir" && !create {
				continue
			}
			if !q.Has(kv[0]) {
				q.Set(kv[0], kv[1])
			}
		}
		u.RawQuery = q.Encode()
	}
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("open export store %q: %w", redactURL(rawURL), err)
	}
	return &Store{bucket: b, url: strings.TrimSuffix(stripQuery(rawURL), "/"), local: local}, nil
}

// FromBucket wraps an already opened bucket; url is used only to name objects in reports.
func FromBucket(b *blob.Bucket, url string) *Store {
	return &Store{bucket: b, url: strings.TrimSuffix(stripQuery(url), "/"), local: strings.HasPrefix(url, "file://")}
}

// Close releases the store.
func (s *Store) Close() error { return s.bucket.Close() }

// Bucket is the underlying blob bucket.
func (s *Store) Bucket() *blob.Bucket { return s.bucket }

// URL names key within the store, for reports and audit records.
func (s *Store) URL(key string) string { return s.url + "/" + key }

// writerOptions makes local files owner-only before any byte is written to them: fileblob
// creates its temporary file 0666 minus the umask, and the rename keeps the mode.
func (s *Store) writerOptions(contentType string) *blob.WriterOptions {
	return &blob.WriterOptions{
		ContentType: contentType,
		IfNotExist:  true,
		BeforeWrite: func(as func(any) bool) error {
			var f *os.File
			if as(&f) && f != nil {
				if err := f.Chmod(0o600); err != nil {
					return fmt.Errorf("restrict %s to its owner: %w", f.Name(), err)
				}
			}
			return nil
		},
	}
}

// WriteOnce writes data under key unless it is already there. Identical existing content
// is success, so a retried activity converges; different content is ErrObjectExists.
func (s *Store) WriteOnce(ctx context.Context, key string, data []byte, contentType string) error {
	sum := sha256.Sum256(data)
	w, err := s.bucket.NewWriter(ctx, key, s.writerOptions(contentType))
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	_, werr := io.Copy(w, bytes.NewReader(data))
	cerr := w.Close()
	return s.settle(ctx, key, hex.EncodeToString(sum[:]), errors.Join(werr, cerr))
}

// settle turns the outcome of a conditional write into write-once semantics: an object that was
// already there is fine if it holds the same bytes (sha256 sum), and ErrObjectExists if not.
func (s *Store) settle(ctx context.Context, key, sum string, err error) error {
	if err == nil {
		return nil
	}
	if gcerrors.Code(err) != gcerrors.FailedPrecondition {
		return fmt.Errorf("write %s: %w", key, err)
	}
	have, _, herr := s.Digest(ctx, key)
	if herr != nil {
		return fmt.Errorf("write %s: it exists but cannot be read back: %w", key, herr)
	}
	if have != sum {
		return fmt.Errorf("write %s: %w (stored sha256 %s, new %s)", key, ErrObjectExists, have, sum)
	}
	return nil
}

// Digest streams the object at key and returns its hex sha256 and size.
func (s *Store) Digest(ctx context.Context, key string) (string, int64, error) {
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", key, err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ReadAll reads the object at key.
func (s *Store) ReadAll(ctx context.Context, key string) ([]byte, error) {
	return s.bucket.ReadAll(ctx, key)
}

// Exists reports whether an object is stored under key.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	ok, err := s.bucket.Exists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", key, err)
	}
	return ok, nil
}

// Keys lists the keys under prefix (directly or in sub-directories), in lexical order.
func (s *Store) Keys(ctx context.Context, prefix string) ([]string, error) {
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	var keys []string
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return keys, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		if !obj.IsDir {
			keys = append(keys, obj.Key)
		}
	}
}

// IsNotFound reports whether err says that an object does not exist.
func IsNotFound(err error) bool { return gcerrors.Code(err) == gcerrors.NotFound }

func stripQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// redactURL drops query parameters, which may carry credentials for cloud stores.
func redactURL(u string) string { return stripQuery(u) }
