package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/identity"
)

// Policy is the worker's offboarding policy. It comes from worker configuration, never from the
// request, so a caller cannot weaken it; the workflow records it when it starts.
type Policy struct {
	// ApprovalsRequired is how many distinct approvers must approve a deletion (default 1).
	ApprovalsRequired int `json:"approvalsRequired"`
	// ApproveArchive makes archive offboardings wait for approval too.
	ApproveArchive bool `json:"approveArchive,omitempty"`
	// RequesterMayApprove lets the requester approve their own request (default false).
	RequesterMayApprove bool `json:"requesterMayApprove,omitempty"`
	// Approvers is the allow-list of approver identities; empty allows anyone but the requester.
	Approvers []string `json:"approvers,omitempty"`
	// ApprovalTimeout bounds the wait for approvals; on expiry the run ends archived.
	ApprovalTimeout time.Duration `json:"approvalTimeout"`
	// EscalationFraction of ApprovalTimeout is when a reminder and escalation are sent (default 0.5).
	EscalationFraction float64 `json:"escalationFraction"`
	// EscalateTo are identities notified at escalation.
	EscalateTo []string `json:"escalateTo,omitempty"`

	DefaultRetention time.Duration `json:"defaultRetention"`
	MinRetention     time.Duration `json:"minRetention"`
	MaxRetention     time.Duration `json:"maxRetention"`

	// ExportLookback is the default export window length before the request.
	ExportLookback time.Duration `json:"exportLookback"`
	// ExportWindow is the span of one analytics job.
	ExportWindow time.Duration `json:"exportWindow"`

	// ProtectedUserIDs are never offboarded.
	ProtectedUserIDs []string `json:"protectedUserIds,omitempty"`

	// OptionalAccessSteps are the revoking steps (activities.AccessStep names) that are skipped,
	// with a warning, when the credentials lack their permissions; every other step is required.
	OptionalAccessSteps []string `json:"optionalAccessSteps,omitempty"`
	// HandOverReports moves the leaver's direct reports to the leaver's manager; otherwise they
	// are recorded only.
	HandOverReports bool `json:"handOverReports,omitempty"`

	// DecisionKeys are the Ed25519 public keys (internal/credential's encoding) whose decision
	// credentials count. A run records them and, while it waits, takes up the worker's current
	// ones, so that keys rotate under runs that wait for months.
	DecisionKeys []string `json:"decisionKeys,omitempty"`
	// UnsignedDecisions lets a decision without a credential count as whoever its payload names.
	// Local development only: CheckDecisionTrust refuses it outside the devstack.
	UnsignedDecisions bool `json:"unsignedDecisions,omitempty"`
}

// DefaultPolicy is the policy when the worker configures nothing.
func DefaultPolicy() Policy {
	return Policy{
		ApprovalsRequired:  1,
		ApprovalTimeout:    7 * 24 * time.Hour,
		EscalationFraction: 0.5,
		DefaultRetention:   30 * 24 * time.Hour,
		MinRetention:       0,
		MaxRetention:       400 * 24 * time.Hour,
		ExportLookback:     3 * 365 * 24 * time.Hour,
		ExportWindow:       366 * 24 * time.Hour,
	}
}

// Protects reports whether the policy protects userID from offboarding. IDs compare without
// regard to case, as UUIDs do.
func (p Policy) Protects(userID string) bool {
	for _, id := range p.ProtectedUserIDs {
		if strings.EqualFold(id, userID) {
			return true
		}
	}
	return false
}

// Environment variables of the policy settings (PolicySettings declares the rest of each).
const (
	EnvApprovalsRequired   = "OFFBOARD_APPROVALS_REQUIRED"
	EnvApproveArchive      = "OFFBOARD_APPROVE_ARCHIVE"
	EnvRequesterMayApprove = "OFFBOARD_REQUESTER_MAY_APPROVE"
	EnvApprovers           = "OFFBOARD_APPROVERS"
	EnvApprovalTimeout     = "OFFBOARD_APPROVAL_TIMEOUT"
	EnvEscalationFraction  = "OFFBOARD_ESCALATION_FRACTION"
	EnvEscalateTo          = "OFFBOARD_ESCALATE_TO"
	EnvRetentionDefault    = "OFFBOARD_RETENTION_DEFAULT"
	EnvRetentionMin        = "OFFBOARD_RETENTION_MIN"
	EnvRetentionMax        = "OFFBOARD_RETENTION_MAX"
	EnvExportLookback      = "OFFBOARD_EXPORT_LOOKBACK"
	EnvExportWindow        = "OFFBOARD_EXPORT_WINDOW"
	EnvProtectedUserIDs    = "OFFBOARD_PROTECTED_USER_IDS"
	EnvOptionalAccessSteps = "OFFBOARD_OPTIONAL_ACCESS_STEPS"
	EnvHandOverReports     = "OFFBOARD_HAND_OVER_REPORTS"
	EnvDecisionKeys        = "OFFBOARD_DECISION_KEYS"
	EnvUnsignedDecisions   = "OFFBOARD_UNSIGNED_DECISIONS"
)

// PolicySetting declares one setting of the Policy. The worker's environment variable and
// flag, the policy file's key, parsing, validation and the README's table all derive from it.
type PolicySetting struct {
	// Key is the policy file's key, the Policy's JSON field and the field a validation error names.
	Key string
	// Env is the environment variable; Flag, without dashes, overrides it.
	Env, Flag string
	// Usage says what the setting does and what it accepts.
	Usage string
	// Field points at the setting in p. Its type is the setting's kind: *int, *bool, *[]string
	// (a list), *float64 (a fraction) or *time.Duration (written as ISO-8601).
	Field func(p *Policy) any
	// check adds to the issues what is wrong with the setting's value.
	check func(is issues)
}

// policySettings lists the settings in the order of the README's table.
var policySettings = []PolicySetting{
	{Key: "approvalsRequired", Env: EnvApprovalsRequired, Flag: "approvals-required", Usage: "Distinct approvals a deletion needs (>= 1).", Field: func(p *Policy) any { return &p.ApprovalsRequired }, check: checkApprovalsRequired},
	{Key: "approveArchive", Env: EnvApproveArchive, Flag: "approve-archive", Usage: "Archive offboardings wait for approval too.", Field: func(p *Policy) any { return &p.ApproveArchive }},
	{Key: "requesterMayApprove", Env: EnvRequesterMayApprove, Flag: "requester-may-approve", Usage: "Let the requester approve their own request.", Field: func(p *Policy) any { return &p.RequesterMayApprove }},
	{Key: "approvers", Env: EnvApprovers, Flag: "approvers", Usage: "Comma-separated approver allow-list; empty allows anyone but the requester.", Field: func(p *Policy) any { return &p.Approvers }, check: identityItems},
	{Key: "approvalTimeout", Env: EnvApprovalTimeout, Flag: "approval-timeout", Usage: "ISO-8601 wait for approvals; on expiry the run ends archived.", Field: func(p *Policy) any { return &p.ApprovalTimeout }, check: positive},
	{Key: "escalationFraction", Env: EnvEscalationFraction, Flag: "escalation-fraction", Usage: "Fraction of the approval timeout at which reminders escalate (0..1).", Field: func(p *Policy) any { return &p.EscalationFraction }, check: checkEscalationFraction},
	{Key: "escalateTo", Env: EnvEscalateTo, Flag: "escalate-to", Usage: "Comma-separated identities notified on escalation.", Field: func(p *Policy) any { return &p.EscalateTo }, check: identityItems},
	{Key: "defaultRetention", Env: EnvRetentionDefault, Flag: "retention-default", Usage: "ISO-8601 retention before deletion when the request gives none.", Field: func(p *Policy) any { return &p.DefaultRetention }, check: checkDefaultRetention},
	{Key: "minRetention", Env: EnvRetentionMin, Flag: "retention-min", Usage: "Shortest retention a request may ask for.", Field: func(p *Policy) any { return &p.MinRetention }, check: nonNegative},
	{Key: "maxRetention", Env: EnvRetentionMax, Flag: "retention-max", Usage: "Longest retention a request may ask for.", Field: func(p *Policy) any { return &p.MaxRetention }, check: checkMaxRetention},
	{Key: "exportLookback", Env: EnvExportLookback, Flag: "export-lookback", Usage: "Default export window length before the request.", Field: func(p *Policy) any { return &p.ExportLookback }, check: positive},
	{Key: "exportWindow", Env: EnvExportWindow, Flag: "export-window", Usage: "Span of one analytics export job (Genesys documents no limit; see docs/genesys.md).", Field: func(p *Policy) any { return &p.ExportWindow }, check: positive},
	{Key: "protectedUserIds", Env: EnvProtectedUserIDs, Flag: "protected-user-ids", Usage: "Comma-separated Genesys user IDs that are never offboarded.", Field: func(p *Policy) any { return &p.ProtectedUserIDs }, check: uuidItems},
	{Key: "optionalAccessSteps", Env: EnvOptionalAccessSteps, Flag: "optional-access-steps", Usage: "Comma-separated revoking steps skipped with a warning when a permission is missing; empty requires every step.", Field: func(p *Policy) any { return &p.OptionalAccessSteps }, check: accessStepItems},
	{Key: "handOverReports", Env: EnvHandOverReports, Flag: "hand-over-reports", Usage: "Move the leaver's direct reports to the leaver's manager.", Field: func(p *Policy) any { return &p.HandOverReports }},
	{Key: "decisionKeys", Env: EnvDecisionKeys, Flag: "decision-keys", Usage: "Comma-separated Ed25519 public keys whose decision credentials count (the HR API's signing keys).", Field: func(p *Policy) any { return &p.DecisionKeys }, check: decisionKeyItems},
	{Key: "unsignedDecisions", Env: EnvUnsignedDecisions, Flag: "unsigned-decisions", Usage: "Count decisions without a credential (local development only; production refuses to start with it).", Field: func(p *Policy) any { return &p.UnsignedDecisions }},
}

// PolicySettings lists every setting of the Policy.
func PolicySettings() []PolicySetting { return slices.Clone(policySettings) }

// Validate checks that the policy is usable; a worker must refuse to start with an invalid one.
func (p Policy) Validate() error {
	v := &ValidationError{What: "policy"}
	for _, s := range policySettings {
		if s.check != nil {
			s.check(issues{v: v, setting: s, p: p})
		}
	}
	return v.err()
}

// issues collects what is wrong with one setting of a policy.
type issues struct {
	v       *ValidationError
	setting PolicySetting
	p       Policy
}

func (is issues) add(format string, args ...any) { is.v.add(is.setting.Key, format, args...) }

func (is issues) addItem(i int, format string, args ...any) {
	is.v.add(fmt.Sprintf("%s[%d]", is.setting.Key, i), format, args...)
}

func (is issues) duration() time.Duration { return *is.setting.Field(&is.p).(*time.Duration) }

func (is issues) list() []string { return *is.setting.Field(&is.p).(*[]string) }

func positive(is issues) {
	if d := is.duration(); d <= 0 {
		is.add("must be positive, got %s", d)
	}
}

func nonNegative(is issues) {
	if d := is.duration(); d < 0 {
		is.add("must not be negative, got %s", d)
	}
}

// identityItems accepts only valid identities, each once once normalised.
func identityItems(is issues) {
	seen := map[string]bool{}
	for i, s := range is.list() {
		id, err := identity.Normalize(s)
		switch {
		case err != nil:
			is.addItem(i, "%v", err)
		case seen[id]:
			is.addItem(i, "%q repeats an earlier identity (identities compare without regard to case and width)", truncate(s, 64))
		}
		seen[id] = true
	}
}

func uuidItems(is issues) {
	for i, id := range is.list() {
		if !IsUUID(id) {
			is.addItem(i, "%q is not a UUID", id)
		}
	}
}

// decisionKeyItems accepts only parseable public keys, each once.
func decisionKeyItems(is issues) {
	seen := map[string]bool{}
	for i, k := range is.list() {
		pub, err := credential.ParsePublicKey(k)
		if err != nil {
			is.addItem(i, "%v", err)
			continue
		}
		if id := credential.KeyID(pub); seen[id] {
			is.addItem(i, "repeats key %s", id)
		} else {
			seen[id] = true
		}
	}
}

// CheckDecisionTrust says whether a worker or an HR API may serve under the policy: decisions
// must be provable, so it needs decision keys, and only a development stack may count unsigned
// decisions.
func (p Policy) CheckDecisionTrust(development bool) error {
	switch {
	case p.UnsignedDecisions && !development:
		return fmt.Errorf("%s is set: unsigned decisions let anyone who can reach Temporal approve as anyone; it is for the devstack only, unset it", EnvUnsignedDecisions)
	case len(p.DecisionKeys) == 0 && !p.UnsignedDecisions:
		return fmt.Errorf("%s is empty: no decision could ever be proved; set it to the HR API's public key (`starter keys public`)", EnvDecisionKeys)
	}
	return nil
}

func checkApprovalsRequired(is issues) {
	p := is.p
	if p.ApprovalsRequired < 1 {
		is.add("must be at least 1, got %d: a deletion always needs an approval", p.ApprovalsRequired)
	}
	if len(p.Approvers) > 0 && p.ApprovalsRequired > len(p.Approvers) {
		is.add("%d approvals can never be reached with %d allowed approvers", p.ApprovalsRequired, len(p.Approvers))
	}
}

func checkEscalationFraction(is issues) {
	if f := is.p.EscalationFraction; f <= 0 || f >= 1 {
		is.add("must be between 0 and 1 exclusive, got %g", f)
	}
}

func checkMaxRetention(is issues) {
	positive(is)
	if p := is.p; p.MaxRetention < p.MinRetention {
		is.add("%s is below minRetention %s", p.MaxRetention, p.MinRetention)
	}
}

func checkDefaultRetention(is issues) {
	if p := is.p; p.DefaultRetention < p.MinRetention || p.DefaultRetention > p.MaxRetention {
		is.add("%s is outside [minRetention %s, maxRetention %s]", p.DefaultRetention, p.MinRetention, p.MaxRetention)
	}
}

// accessStepItems accepts only the names of revoking steps, each once.
func accessStepItems(is issues) {
	known := activities.RevokeSteps()
	seen := map[string]bool{}
	for i, s := range is.list() {
		switch {
		case !slices.Contains(known, activities.AccessStep(s)):
			is.addItem(i, "%q is not a revoking step: use one of %s", truncate(s, 32), joinSteps(known))
		case seen[s]:
			is.addItem(i, "%q is listed twice", s)
		}
		seen[s] = true
	}
}

// joinSteps writes steps comma-separated, in order.
func joinSteps(steps []activities.AccessStep) string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// optional reports whether the policy lets step be skipped when its permissions are missing.
func (p Policy) optional(step activities.AccessStep) bool {
	return slices.Contains(p.OptionalAccessSteps, string(step))
}
