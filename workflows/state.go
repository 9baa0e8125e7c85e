package workflows

import (
	"time"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
)

// Application error types that the workflow itself fails with. Activity failures keep the
// activity's type (activities.Err*, genesys.Kind*), so callers match either with
// temporal.ApplicationError.Type().
const (
	// ErrInvalidRequest: the request breaks ValidateRequest; fix it and start again.
	ErrInvalidRequest = "InvalidRequest"
	// ErrInvalidPolicy: the worker's policy breaks Policy.Validate; fix the worker configuration.
	ErrInvalidPolicy = "InvalidPolicy"
	// ErrNotLinked: after the final change, the user's conversation count no longer matches the manifest.
	ErrNotLinked = "HistoryNotLinked"
	// ErrOffboardingFailed: a step failed for a reason that carries no more specific type.
	ErrOffboardingFailed = "OffboardingFailed"
	// ErrAuditFailed: the run finished but its audit record could not be written.
	ErrAuditFailed = "AuditFailed"
)

// Result is what a finished offboarding returns.
type Result struct {
	Report
	Outcome        Stage     `json:"outcome"`
	RetentionUntil time.Time `json:"retentionUntil,omitzero"`
	Summary        string    `json:"summary"`
}

// Hold is an active legal hold.
type Hold struct {
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
	// Remaining is the retention time left when the hold began; it resumes on release.
	Remaining time.Duration `json:"remaining"`
}

// State is the state of an offboarding: what the status query reports and what a run carries
// over when it continues as new.
type State struct {
	Policy Policy `json:"policy"`
	Stage  Stage  `json:"stage"`
	// Runs counts the runs so far, including this one.
	Runs        int       `json:"runs"`
	FirstRunID  string    `json:"firstRunId"`
	Bundle      string    `json:"bundle"`
	RequestedAt time.Time `json:"requestedAt"`
	// AccessEndAt is when access is due to end (EffectiveAt, else RequestedAt); retention counts from it.
	AccessEndAt time.Time `json:"accessEndAt"`
	// AccessEndedAt is when the revoking stage (the legacy archiving stage) ended.
	AccessEndedAt time.Time `json:"accessEndedAt,omitzero"`
	// Deactivated is set when this offboarding changed the user to inactive, so a cancel restores them.
	Deactivated bool                     `json:"deactivated,omitempty"`
	Snapshot    *activities.UserSnapshot `json:"snapshot,omitempty"`
	// Access is what the user held before any change, taken in checking. Runs begun before the
	// revoking stage have none, and end access in the legacy archiving stage.
	Access *activities.AccessSnapshot `json:"access,omitempty"`
	// SkippedSteps are optional steps left out because the credentials lack their permissions.
	SkippedSteps []activities.AccessStep `json:"skippedSteps,omitempty"`
	// Revoked are the revoking steps done, each as its read-back showed it, in order.
	Revoked []activities.StepResult `json:"revoked,omitempty"`
	// Revoking is the step under way, so that a cancel restores it even when it was interrupted.
	Revoking activities.AccessStep `json:"revoking,omitempty"`
	// Restored are the steps a cancel re-applied; NotRestored says what it could not give back and why.
	Restored    []activities.StepResult `json:"restored,omitempty"`
	NotRestored []string                `json:"notRestored,omitempty"`
	// RestoredTo is the user's state once a cancel restored them.
	RestoredTo genesys.UserState `json:"restoredTo,omitempty"`

	Window    genesys.Interval          `json:"window"`
	Export    *activities.ExportSummary `json:"export,omitempty"`
	Decisions []activities.Decision     `json:"decisions,omitempty"`
	// ApprovalDeadline and EscalateAt are set when awaiting-approval starts.
	ApprovalDeadline time.Time `json:"approvalDeadline,omitzero"`
	EscalateAt       time.Time `json:"escalateAt,omitzero"`
	Escalated        bool      `json:"escalated,omitempty"`
	// RetentionUntil is when deletion may start; zero for archive runs and while on hold.
	RetentionUntil time.Time `json:"retentionUntil,omitzero"`
	Hold           *Hold     `json:"hold,omitempty"`
	// Cancel is a cancel request not yet acted on.
	Cancel *ControlInput `json:"cancel,omitempty"`
	// Verification is the final check of the user's state and history.
	Verification *activities.Verification `json:"verification,omitempty"`
	// Target is the outcome verifying leads to (archived or deleted).
	Target Stage `json:"target,omitempty"`
	// WouldEnd is the outcome a dry run planned: what a real run would end in.
	WouldEnd Stage                   `json:"wouldEnd,omitempty"`
	History  []activities.Transition `json:"history"`
	// Notes are events worth an auditor's attention, such as failed notifications.
	Notes []string `json:"notes,omitempty"`
	// Ignored summarises the signals the run ignored, bounded whatever arrives.
	Ignored *activities.IgnoredMessages `json:"ignored,omitempty"`
	// Spent are the credentials the run has seen, each of which counts once.
	Spent []SpentCredential `json:"spent,omitempty"`
	// ToldBatch lists what the run has told its batch ("access", "waiting"), so that a continued
	// run does not tell it again.
	ToldBatch []string `json:"toldBatch,omitempty"`
}
