package genesys

import (
	"context"
	"fmt"
)

// Paging bounds for the listings that an access snapshot reads whole.
const (
	listPageSize = 100 // the largest page Genesys serves on these listings
	maxPages     = 1000
)

// listPage reads page (1-based) of a listing: its entities, and whether a later page follows.
type listPage[E any] func(ctx context.Context, page int) (entities []E, more bool, err error)

// allPages reads a listing from page 1 until a page says none follows, and returns the entities
// in order. A listing that never ends is KindInvalid rather than an endless loop.
func allPages[E any](ctx context.Context, op string, list listPage[E]) ([]E, error) {
	var out []E
	for page := 1; page <= maxPages; page++ {
		entities, more, err := list(ctx, page)
		if err != nil {
			return nil, err
		}
		out = append(out, entities...)
		if !more || len(entities) == 0 {
			return out, nil
		}
	}
	return nil, &Error{Kind: KindInvalid, Op: op, Message: fmt.Sprintf("more than %d pages", maxPages)}
}

// morePages reports whether a listing with pageCount pages has one after page.
func morePages(page int, pageCount *int) bool { return page < deref(pageCount) }

// batches splits ids into runs of at most n.
func batches(ids []string, n int) [][]string {
	var out [][]string
	for len(ids) > n {
		out = append(out, ids[:n])
		ids = ids[n:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}
