package bundle

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
)

// ReadURL reads the one object objectURL names, of at most limit bytes, in a store of any kind
// Open takes: file:///srv/hr/roster.csv, s3://bucket/hr/roster.csv?region=eu-west-1,
// gs://bucket/roster.json, azblob://container/roster.csv. It only reads; nothing is created.
func ReadURL(ctx context.Context, objectURL string, limit int64) ([]byte, error) {
	u, err := url.Parse(objectURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("%q is not a URL: give e.g. file:///srv/hr/roster.csv or s3://bucket/roster.csv?region=eu-west-1", redactURL(objectURL))
	}
	var key string
	if u.Scheme == "file" {
		u.Path, key = path.Split(u.Path)
	} else {
		// The host is the bucket or container; the path is the object's key within it.
		key, u.Path = strings.TrimPrefix(u.Path, "/"), ""
	}
	if key == "" {
		return nil, fmt.Errorf("%q names a bucket or directory, not an object: append the object's name", redactURL(objectURL))
	}
	s, err := open(ctx, u.String(), false)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", redactURL(objectURL), err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", redactURL(objectURL), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", redactURL(objectURL), limit)
	}
	return b, nil
}
