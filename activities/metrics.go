package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/offboard/offboard/activities/bundle"
)

// Metrics the export activity reports through activity.GetMetricsHandler, as each part of a
// bundle is stored: a part an attempt stored is never exported again by a retry, so these count
// what the store holds. The worker's Prometheus naming adds _total.
const (
	// MetricConversationsExported counts conversations stored in export bundles.
	MetricConversationsExported = "offboard_exported_conversations"
	// MetricBytesExported counts the bytes of the bundle parts stored.
	MetricBytesExported = "offboard_exported_bytes"
)

// countStored reports a stored part; outside an activity (unit tests of the exporter) it does
// nothing.
func countStored(ctx context.Context, rec bundle.PartRecord) {
	if !activity.IsActivity(ctx) {
		return
	}
	m := activity.GetMetricsHandler(ctx)
	m.Counter(MetricConversationsExported).Inc(int64(rec.Conversations))
	m.Counter(MetricBytesExported).Inc(rec.Bytes)
}
