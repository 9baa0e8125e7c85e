// Package workflows holds the Offboarding workflow, its messages and its types.
// It is deterministic and does no I/O: everything external happens in package activities.
package workflows

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sosodev/duration"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
)

// Names shared by the worker, the starter and the Temporal UI.
const (
	TaskQueue    = "offboarding"
	WorkflowType = "Offboarding"
	idPrefix     = "offboarding-"
)

// Message names. Each control is both an update (validated before it enters history, and
// answered) and a signal of the same name (for the Temporal UI and `temporal workflow signal`),
// so one name serves both.
const (
	QueryStatus           = "status"
	UpdateApprove         = "approve"
	UpdateReject          = "reject"
	UpdateCancel          = "cancel"
	UpdateHold            = "hold"
	UpdateRelease         = "release"
	UpdateExtendRetention = "extendRetention"
)

// Search attribute names. Only IDs and enums go into them, never names or emails.
const (
	SAGenesysUserID  = "GenesysUserId"
	SAStage          = "OffboardingStage"
	SADisposition    = "OffboardingDisposition"
	SARequestedBy    = "OffboardingRequestedBy"
	SARetentionUntil = "OffboardingRetentionUntil"
)

// WorkflowID is the ID of the offboarding of userID: one user has at most one in flight.
func WorkflowID(userID string) string { return idPrefix + userID }

// UserIDFromWorkflowID parses a WorkflowID back to the Genesys user ID.
func UserIDFromWorkflowID(id string) (string, bool) {
	userID, ok := strings.CutPrefix(id, idPrefix)
	return userID, ok && userID != ""
}

// Disposition is what happens to the user in the end.
type Disposition string

// Dispositions.
const (
	// DispositionArchive leaves the user inactive for good.
	DispositionArchive Disposition = "archive"
	// DispositionDelete deletes the user after approval and retention.
	DispositionDelete Disposition = "delete"
)

// Duration is a time.Duration that travels as ISO-8601 ("P30D", "PT15S") in JSON.
type Duration time.Duration

// ParseDuration parses an ISO-8601 duration. Years and months are not accepted, because their
// length depends on the calendar: use days or weeks.
func ParseDuration(s string) (Duration, error) {
	d, err := duration.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an ISO-8601 duration such as P30D or PT15S", s)
	}
	if d.Years != 0 || d.Months != 0 {
		return 0, fmt.Errorf("%q uses years or months, whose length varies: use days (P30D) or weeks (P4W)", s)
	}
	if d.Negative {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return Duration(d.ToTimeDuration()), nil
}

// String formats d as ISO-8601 in days and smaller units ("P30D", "P1DT2H", "PT15S"), never
// in years or months, so that ParseDuration accepts what String writes.
func (d Duration) String() string {
	t := time.Duration(d)
	if t == 0 {
		return "PT0S"
	}
	var b strings.Builder
	if t < 0 {
		b.WriteByte('-')
		t = -t
	}
	b.WriteByte('P')
	if days := t / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dD", days)
		t -= days * 24 * time.Hour
	}
	if t > 0 {
		b.WriteByte('T')
		if h := t / time.Hour; h > 0 {
			fmt.Fprintf(&b, "%dH", h)
			t -= h * time.Hour
		}
		if m := t / time.Minute; m > 0 {
			fmt.Fprintf(&b, "%dM", m)
			t -= m * time.Minute
		}
		if t > 0 {
			b.WriteString(strconv.FormatFloat(t.Seconds(), 'f', -1, 64))
			b.WriteByte('S')
		}
	}
	return b.String()
}

// MarshalJSON writes d as an ISO-8601 string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads an ISO-8601 string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be an ISO-8601 string such as \"P30D\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Request is the input of an offboarding, as HR or an operator asked for it.
type Request struct {
	UserID      string      `json:"userId"`
	Disposition Disposition `json:"disposition"`
	// EffectiveAt is when access must end; zero means now.
	EffectiveAt time.Time `json:"effectiveAt,omitzero"`
	// Retention is how long a user to be deleted stays inactive first; nil means the policy
	// default (an explicit zero is no retention at all).
	Retention *Duration `json:"retention,omitempty"`
	// ExportFrom starts the export window; zero means RequestedAt minus the policy lookback.
	ExportFrom  time.Time `json:"exportFrom,omitzero"`
	Reason      string    `json:"reason,omitempty"`
	RequestedBy string    `json:"requestedBy"`
	HREventID   string    `json:"hrEventId,omitempty"`
	DryRun      bool      `json:"dryRun,omitempty"`
	// IdentifiedBy is how HR named the person when it did not know the Genesys user ID; the
	// HR API resolves it to UserID before the start and the audit record keeps it.
	IdentifiedBy *Identification `json:"identifiedBy,omitempty"`
	// RequestedAt is when the request was accepted; deadlines count from it, not from when a
	// worker picked the task up. Zero means the workflow's start time.
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	// Credential is the start credential the HR API signs for the caller's token: it proves
	// RequestedBy and binds it to this request (RequestDigest). A run refuses a request
	// without one, except under a policy of unsigned decisions.
	Credential string `json:"credential,omitempty"`
	// Batch is set on an offboarding that a batch started: the batch's credential then proves
	// the requester instead of Credential.
	Batch *BatchRef `json:"batch,omitempty"`
	// Resume is the state a run carries over when it continues as new. Only the workflow sets
	// it; ValidateRequest rejects it and a first run that carries it fails.
	Resume *State `json:"resume,omitempty"`
}

// Ways an HR system may name a person instead of by Genesys user ID.
const (
	IdentifyByEmail      = activities.IdentifyByEmail
	IdentifyByEmployeeID = activities.IdentifyByEmployeeID
)

// Identification is how HR named a person, and when Genesys's user search matched it; the
// audit record keeps it as it is.
type Identification = activities.Identification

// DecisionInput is the payload of the approve and reject updates and signals.
type DecisionInput struct {
	Approver string `json:"approver"`
	Comment  string `json:"comment,omitempty"`
}

// ControlInput is the payload of cancel, hold and release.
type ControlInput struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

// RetentionInput is the payload of extendRetention: the new end of retention. An end earlier
// than the current one shortens retention and needs Approver, who is subject to the same rules
// as a deletion approver.
type RetentionInput struct {
	Until    time.Time `json:"until"`
	By       string    `json:"by"`
	Approver string    `json:"approver,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// Report is what the status query and the result both say about a run.
type Report struct {
	WorkflowID string `json:"workflowId"`
	UserID     string `json:"userId"`
	// DryRun marks a run that changes nothing; it ends in OutcomeDryRun.
	DryRun bool `json:"dryRun,omitempty"`
	// WouldEnd is the outcome a real run would end in, as a dry run planned it.
	WouldEnd Stage `json:"wouldEnd,omitempty"`
	// WouldHappen is the dry run's report of what a real run would do.
	WouldHappen []string                  `json:"wouldHappen,omitempty"`
	Export      *activities.ExportSummary `json:"export,omitempty"`
	// Exporting is how far the running export is, from its last report (while exporting).
	Exporting    *activities.ExportProgress `json:"exporting,omitempty"`
	Verification *activities.Verification   `json:"verification,omitempty"`
	Audit        *activities.AuditRef       `json:"audit,omitempty"`
	// AccessEndedAt is when the revoking stage ended: from then on the user holds no access.
	AccessEndedAt time.Time `json:"accessEndedAt,omitzero"`
	// SkippedSteps are optional steps left out because a permission is missing (see Notes).
	SkippedSteps []activities.AccessStep `json:"skippedSteps,omitempty"`
	// Access lists each revoking step done, with what it found before and read back after.
	Access []activities.StepResult `json:"access,omitempty"`
	// Restored lists each step a cancel gave back; NotRestored says what it could not, and why.
	Restored    []activities.StepResult `json:"restored,omitempty"`
	NotRestored []string                `json:"notRestored,omitempty"`
	// OAuthClients are the OAuth clients the user created; they are reported, never revoked.
	OAuthClients []genesys.OAuthClientRef `json:"oauthClients,omitempty"`
}

// Status is what the status query returns: everything an operator needs.
type Status struct {
	Report
	Disposition       Disposition           `json:"disposition"`
	Stage             Stage                 `json:"stage"`
	Outcome           Stage                 `json:"outcome,omitempty"`
	RequestedBy       string                `json:"requestedBy"`
	RequestedAt       time.Time             `json:"requestedAt"`
	EffectiveAt       time.Time             `json:"effectiveAt,omitzero"`
	ApprovalsRequired int                   `json:"approvalsRequired"`
	Decisions         []activities.Decision `json:"decisions,omitempty"`
	ApprovalDeadline  time.Time             `json:"approvalDeadline,omitzero"`
	RetentionUntil    time.Time             `json:"retentionUntil,omitzero"`
	OnHold            bool                  `json:"onHold,omitempty"`
	Deactivated       bool                  `json:"deactivated,omitempty"`
	// Notes are State.Notes: events worth an auditor's attention, such as failed notifications.
	Notes []string `json:"notes,omitempty"`
	// Ignored summarises the signals the run ignored and why.
	Ignored *activities.IgnoredMessages `json:"ignored,omitempty"`
	// UnsignedDecisions is set when the run's policy counts decisions without a credential.
	UnsignedDecisions bool                    `json:"unsignedDecisions,omitempty"`
	History           []activities.Transition `json:"history"`
	// Summary is the human summary also shown as the run's current details in the Temporal UI.
	Summary string `json:"summary,omitempty"`
}
