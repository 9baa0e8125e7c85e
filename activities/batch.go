package activities

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/offboard/offboard/activities/bundle"
)

// BatchPageInput names a page of a batch's stored items: Limit items from the 0-based From.
type BatchPageInput struct {
	Items bundle.BatchItems `json:"items"`
	From  int               `json:"from"`
	Limit int               `json:"limit"`
}

// ReadBatchItems reads a page of a batch's stored items, each one JSON value, after checking
// that the stored object is the one the batch was submitted with. Past the last item the page
// is empty.
//
// Retry: a store outage is retried; items that no longer match their digest are
// ErrBundleCorrupt, and a page out of range ErrInvalidInput, both final.
func (a *Activities) ReadBatchItems(ctx context.Context, in BatchPageInput) ([]json.RawMessage, error) {
	if a.Store == nil {
		return nil, failf(ErrInvalidInput, "read batch items: the worker has no store configured")
	}
	if in.From < 0 || in.Limit < 1 {
		return nil, failf(ErrInvalidInput, "read batch items: from %d and limit %d are out of range", in.From, in.Limit)
	}
	items, err := a.Store.ReadBatchItems(ctx, in.Items, in.From, in.Limit)
	if errors.Is(err, bundle.ErrBatchItemsChanged) {
		return nil, failure(ErrBundleCorrupt, err, "read batch items: "+err.Error())
	}
	return items, err
}
