// Package activities holds everything the Offboarding workflow does to the outside world:
// Genesys Cloud, the export store and the notification webhook. Every method is idempotent.
package activities

import (
	"net/http"
	"time"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/internal/webhook"
)

// Activities holds the dependencies of every activity. Register a *Activities with the worker;
// workflows refer to its methods through a nil pointer so that names stay type-checked.
type Activities struct {
	Genesys genesys.Client
	Store   *bundle.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// WebhookURL receives Notify events; empty disables notifications.
	WebhookURL string
	// WebhookSecrets sign the notifications (the first signs); Notify refuses to post without one.
	WebhookSecrets []webhook.Secret
	// Links makes the approval links of approval notifications.
	Links Links
	// HTTP posts notifications; nil means a client with a 10 s timeout.
	HTTP *http.Client
	// Export tunes ExportInteractions.
	Export ExportOptions
	// Access tunes the read-backs of RevokeAccess and RestoreAccess.
	Access AccessOptions
	// Temporal is the worker's client: Reconcile reads visibility with it (nil refuses a
	// reconciliation), and an export reports its progress to its run (nil: no reports).
	Temporal TemporalClient
}

// ExportOptions tunes the export; zero values mean the defaults.
type ExportOptions struct {
	PageSize     int           // results per cursor page (default 1000)
	QueryPage    int           // page size of the counting query (default 100)
	PollInterval time.Duration // first job poll delay, doubled up to 30 s (default 1 s)
	// A part is closed at the first page boundary where it holds PartConversations conversations
	// (default 10000) or PartBytes uncompressed bytes (default 64 MiB).
	PartConversations int
	PartBytes         int64
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}
