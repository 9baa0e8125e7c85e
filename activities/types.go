package activities

import (
	"time"

	"github.com/offboard/offboard/genesys"
)

// CheckAccessInput lists the permissions a run will need.
type CheckAccessInput struct {
	Permissions []string `json:"permissions"`
}

// AccessReport says which OAuth client was checked and what it was found to hold.
type AccessReport struct {
	ClientID string   `json:"clientId"`
	Checked  []string `json:"checked"`
	// Note is set when the permissions could not be verified (the client may not read its own
	// roles) and says why; the run then relies on the first 403 naming what is missing.
	Note string `json:"note,omitempty"`
}

// SnapshotInput names the user to snapshot. The workflow refuses a protected user before any
// activity runs; older histories whose input still lists protected IDs decode without them.
type SnapshotInput struct {
	UserID string `json:"userId"`
}

// UserSnapshot is the user as found before any change, for the audit record and for restore.
type UserSnapshot struct {
	User    genesys.User `json:"user"`
	TakenAt time.Time    `json:"takenAt"`
}

// UserRef names a user.
type UserRef struct {
	UserID string `json:"userId"`
}

// RestoreInput says which state to bring a user back to (the state the snapshot recorded).
type RestoreInput struct {
	UserID string            `json:"userId"`
	State  genesys.UserState `json:"state"`
}

// StateChange reports a user state transition. Changed is false when the user was already there.
type StateChange struct {
	UserID   string            `json:"userId"`
	Previous genesys.UserState `json:"previous"`
	State    genesys.UserState `json:"state"`
	Version  int               `json:"version"`
	Changed  bool              `json:"changed"`
}

// ExportInput asks for every conversation of UserID that started within Window to be written to
// the bundle under Bundle ("<userId>/<runId>"), in job windows of WindowSize.
type ExportInput struct {
	UserID string           `json:"userId"`
	Bundle string           `json:"bundle"`
	User   genesys.User     `json:"user"`
	Window genesys.Interval `json:"window"`
	// WindowSize is the span of one analytics job; zero means the default (366 days).
	WindowSize time.Duration `json:"windowSize,omitempty"`
	// Access is the user's access before any change, written as access.json beside user.json;
	// nil (runs started before it existed) writes none.
	Access *AccessSnapshot `json:"access,omitempty"`
}

// ExportSummary describes a written, verified bundle.
type ExportSummary struct {
	Bundle         string `json:"bundle"`
	ManifestURL    string `json:"manifestUrl"`
	ManifestSHA256 string `json:"manifestSha256"`
	Parts          int    `json:"parts"`
	Conversations  int    `json:"conversations"`
	Bytes          int64  `json:"bytes"`
	Windows        int    `json:"windows"`
}

// CountInput asks how many conversations of UserID started within Window.
type CountInput struct {
	UserID string           `json:"userId"`
	Window genesys.Interval `json:"window"`
}

// VerifyInput is what VerifyOutcome checks after the final state change.
type VerifyInput struct {
	UserID        string            `json:"userId"`
	ExpectedState genesys.UserState `json:"expectedState"`
	Window        genesys.Interval  `json:"window"`
	// ManifestCount is the conversation count in the export manifest.
	ManifestCount int `json:"manifestCount"`
}

// Verification is the proof that the user's history is still linked.
type Verification struct {
	State         genesys.UserState `json:"state"`
	Count         int               `json:"count"`
	ManifestCount int               `json:"manifestCount"`
	Linked        bool              `json:"linked"`
	CheckedAt     time.Time         `json:"checkedAt"`
}

// Decision is one approver's approve or reject.
type Decision struct {
	Approver string    `json:"approver"`
	Approve  bool      `json:"approve"`
	Comment  string    `json:"comment,omitempty"`
	At       time.Time `json:"at"`
	// Via is "update" or "signal".
	Via string `json:"via,omitempty"`
	// CredentialID is the ID (jti) of the decision credential that proved who decided.
	CredentialID string `json:"credentialId,omitempty"`
	// Unsigned marks a decision taken without a credential: in a run begun before credentials,
	// or under a policy that allows unsigned decisions (local development only).
	Unsigned bool `json:"unsigned,omitempty"`
}

// IgnoredMessages summarises the messages a run ignored: counted by message, reason and sender,
// with the last few in full. Its size is bounded whatever arrives.
type IgnoredMessages struct {
	Total int `json:"total"`
	// Counts are per message, reason and sender, in order of first arrival; at most a fixed
	// number of kinds, the rest counted in Other.
	Counts []IgnoredCount `json:"counts"`
	Other  int            `json:"other,omitempty"`
	// Last are the most recent ignored messages, newest last.
	Last []IgnoredMessage `json:"last"`
}

// IgnoredCount counts the ignored messages of one kind.
type IgnoredCount struct {
	Message string `json:"message"`
	Reason  string `json:"reason"`
	// Sender is the identity a valid credential proved, else "unverified".
	Sender string `json:"sender"`
	Count  int    `json:"count"`
}

// IgnoredMessage is one ignored message in full.
type IgnoredMessage struct {
	Message string    `json:"message"`
	Reason  string    `json:"reason"`
	Sender  string    `json:"sender"`
	Detail  string    `json:"detail"`
	At      time.Time `json:"at"`
}

// Transition is one stage change of an offboarding.
type Transition struct {
	Stage  string    `json:"stage"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail,omitempty"`
}

// AuditRecord is audit.json: who asked, who decided, what happened and when.
type AuditRecord struct {
	Bundle     string `json:"bundle"`
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	UserID     string `json:"userId"`
	// IdentifiedBy is what HR sent instead of UserID, if it did not know it: an email or
	// employee ID, with when the users search matched it.
	IdentifiedBy *Identification `json:"identifiedBy,omitempty"`
	Disposition  string          `json:"disposition"`
	Reason       string          `json:"reason,omitempty"`
	RequestedBy  string          `json:"requestedBy"`
	HREventID    string          `json:"hrEventId,omitempty"`
	RequestedAt  time.Time       `json:"requestedAt"`
	DryRun       bool            `json:"dryRun,omitempty"`
	Decisions    []Decision      `json:"decisions,omitempty"`
	Transitions  []Transition    `json:"transitions"`
	Outcome      string          `json:"outcome"`
	WouldEnd     string          `json:"wouldEnd,omitempty"` // a dry run's: the outcome a real run would end in
	Error        string          `json:"error,omitempty"`
	Export       *ExportSummary  `json:"export,omitempty"`
	Verification *Verification   `json:"verification,omitempty"`
	// Access lists each revoking step with what it found before and read back after.
	Access []StepResult `json:"access,omitempty"`
	// Restored lists each restore step (cancel, rehire) with its before, after and what it could not restore.
	Restored []StepResult `json:"restored,omitempty"`
	// AccessEndedAt is when the revoking stage ended: from then on the user held no access.
	AccessEndedAt time.Time `json:"accessEndedAt,omitzero"`
	// OAuthClients are the OAuth clients the user created: reported for a person to review, never revoked.
	OAuthClients []genesys.OAuthClientRef `json:"oauthClients,omitempty"`
	// Notes records events worth an auditor's attention, such as failed notifications.
	Notes []string `json:"notes,omitempty"`
	// Ignored summarises the messages (signals) the run ignored, and why.
	Ignored *IgnoredMessages `json:"ignored,omitempty"`
	// ToolVersion names the worker build that wrote the record; WriteAudit sets it when empty.
	ToolVersion string    `json:"toolVersion,omitempty"`
	WrittenAt   time.Time `json:"writtenAt"`
}

// AuditRef points at a written audit record.
type AuditRef struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

// Notification is a JSON event POSTed to the configured webhook.
type Notification struct {
	// Event is e.g. "approval.requested", "approval.reminder", "approval.escalated", "offboarding.completed",
	// "reconciliation.completed".
	Event      string    `json:"event"`
	WorkflowID string    `json:"workflowId"`
	UserID     string    `json:"userId"`
	Stage      string    `json:"stage"`
	Message    string    `json:"message"`
	At         time.Time `json:"at"`
	// Recipients are approver identities to notify, when the event is for them.
	Recipients []string `json:"recipients,omitempty"`
	// OAuthClients are the OAuth clients the user created, for the receiver to review (never revoked).
	OAuthClients []genesys.OAuthClientRef `json:"oauthClients,omitempty"`
	// FirstRunID is the offboarding's first run, to which approval links are bound.
	FirstRunID string `json:"firstRunId,omitempty"`
	// LinksFor are the approvers an approval.requested or approval.reminder carries approve and
	// reject links for: allow-listed approvers who may still decide.
	LinksFor []string `json:"linksFor,omitempty"`
	// Counts and ReportURL are a reconciliation.completed's counts by kind and its report.
	Counts    map[string]int `json:"counts,omitempty"`
	ReportURL string         `json:"reportUrl,omitempty"`
}

// NotificationBody is what Notify POSTs: the notification, its event ID and approval links.
// Its links are bearer credentials, so a body is as secret as the decisions they take.
type NotificationBody struct {
	Notification
	// EventID is the same on every delivery of one event and unique per event (also webhook-id).
	EventID string `json:"eventId"`
	// Links are the approve and reject links of an approval.requested or approval.reminder.
	Links []ApprovalLink `json:"links,omitempty"`
	// LinksNote says why such a notification carries no links, or not all of them.
	LinksNote string `json:"linksNote,omitempty"`
}
