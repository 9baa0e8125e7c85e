// Package credential makes and checks decision credentials: short-lived JWTs (RFC 7519) signed
// with Ed25519 that bind one decision (approve, reject, a control, a retention change) to the
// identity that made it, the role it held and the offboarding it is about. The HR API issues
// them to authenticated callers; the workflow verifies them deterministically before it counts
// a decision, so that nothing sent straight to Temporal can speak for an approver.
package credential

import (
	"fmt"
	"time"
)

// Action is a decision a credential authorises: the workflows' update names (this package must
// not import workflows).
type Action string

// Actions.
const (
	ActionApprove   Action = "approve"
	ActionReject    Action = "reject"
	ActionCancel    Action = "cancel"
	ActionHold      Action = "hold"
	ActionRelease   Action = "release"
	ActionRetention Action = "extendRetention"
	// ActionStart proves who asked for an offboarding; Actions leaves it out, since it is no
	// decision on a run but the request that starts one.
	ActionStart Action = "start"
)

// Actions returns every decision Action, in declaration order.
func Actions() []Action {
	return []Action{ActionApprove, ActionReject, ActionCancel, ActionHold, ActionRelease, ActionRetention}
}

// Roles a credential can carry (the same strings as internal/config.Role).
const (
	RoleHR       = "hr"
	RoleApprover = "approver"
)

// Claims are what a credential asserts. JSON claim names in brackets.
type Claims struct {
	Issuer     string    // [iss] who signed, e.g. "offboard-hrapi"
	Identity   string    // [sub] who decided; always identity.Normalize'd (Issue and Verify refuse others)
	Role       string    // [role] RoleHR or RoleApprover
	WorkflowID string    // [aud] the offboarding's workflow ID (a one-element audience)
	RunID      string    // [run] the offboarding's first run ID: binds it to this offboarding, not a later one of the same user; empty for start
	Request    string    // [req] start only: the digest of the request it starts
	Action     Action    // [act]
	Comment    string    // [comment] the approve/reject comment, or the control's reason; optional
	Until      time.Time // [until] extendRetention only: the new end of retention (RFC 3339, UTC); zero otherwise
	ID         string    // [jti] unique; Issue fills it with 128 random bits, base64url
	IssuedAt   time.Time // [iat]
	ExpiresAt  time.Time // [exp]
}

// Lifetimes and sizes.
const (
	DefaultTTL = 15 * time.Minute // lifetime Issue gives a credential whose ExpiresAt is zero
	MaxTTL     = 24 * time.Hour   // exp - iat may not exceed it
	Leeway     = time.Minute      // clock skew allowed on iat
	MaxLen     = 4096             // longest credential string accepted (bytes)
)

// Error says why a credential was refused. Reason is a short, stable code for summaries.
type Error struct {
	Reason string // one of the Reason* constants
	Detail string // human sentence, never containing the token or a signature
}

// Reasons a credential is refused.
const (
	ReasonMalformed    = "malformed"         // not a JWT, too long, bad base64/JSON, unknown claim, bad field
	ReasonUnknownKey   = "unknown-key"       // kid not in the key set
	ReasonBadSignature = "bad-signature"     // not EdDSA, or the signature does not match
	ReasonExpired      = "expired"           // now is at or after exp
	ReasonNotYetValid  = "not-yet-valid"     // iat in the future beyond Leeway
	ReasonTooLong      = "lifetime-too-long" // exp - iat > MaxTTL
)

// Error returns the reason and the detail.
func (e *Error) Error() string { return "credential " + e.Reason + ": " + e.Detail }

func refusal(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}
