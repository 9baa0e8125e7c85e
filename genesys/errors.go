package genesys

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind classifies an API failure by what a caller should do about it.
type Kind string

// The kinds of failure. The strings double as Temporal application error types.
const (
	KindRateLimited      Kind = "GenesysRateLimited"      // retry after RetryAfter
	KindTransient        Kind = "GenesysTransient"        // 5xx, timeouts, connection errors: retry with backoff
	KindConflict         Kind = "GenesysVersionConflict"  // stale version: re-read and retry
	KindNotFound         Kind = "GenesysNotFound"         // the resource does not exist (in the asked state)
	KindPermissionDenied Kind = "GenesysPermissionDenied" // the credentials lack MissingPermissions
	KindInvalid          Kind = "GenesysInvalidRequest"   // the request is wrong: fix it, do not retry
	KindUnauthenticated  Kind = "GenesysUnauthenticated"  // credentials rejected even after re-authorizing
)

// Error is a classified Genesys API failure. It never contains credentials or tokens.
type Error struct {
	Kind Kind
	// Op names the operation, e.g. "patch user 1234".
	Op            string
	Status        int
	Code          string
	Message       string
	CorrelationID string
	// RetryAfter is set for KindRateLimited.
	RetryAfter time.Duration
	// MissingPermissions is set for KindPermissionDenied when Genesys named them.
	MissingPermissions []string
	// Err is the underlying transport error, if any.
	Err error
}

// Error describes the failure: operation, status, code, message, and what to do about it.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d ", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, "%s ", e.Code)
	}
	switch {
	case e.Message != "":
		b.WriteString(e.Message)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString(string(e.Kind))
	}
	if e.Kind == KindRateLimited && e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if len(e.MissingPermissions) > 0 {
		fmt.Fprintf(&b, " (missing permissions: %s)", strings.Join(e.MissingPermissions, ", "))
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " [correlation %s]", e.CorrelationID)
	}
	return b.String()
}

// Unwrap returns the transport error underneath, if any.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of a *Error in err's chain, or "" if there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// IsNotFound reports whether err is a KindNotFound *Error.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// Kinds lists every kind, for tables derived from them (retry policies, documentation).
func Kinds() []Kind {
	return []Kind{KindRateLimited, KindTransient, KindConflict, KindNotFound, KindPermissionDenied, KindInvalid, KindUnauthenticated}
}

// Retryable reports whether an operation that failed with this kind may succeed when Temporal
// tries it again later: this is the one decision of retryability that the activities and the
// workflow's retry policies follow. Rejected credentials are retryable because they are the
// worker's, not the run's: an operator fixes them and restarts the worker, and the run goes on
// within its activities' ScheduleToClose. The client itself never repeats a rejected login.
func (k Kind) Retryable() bool {
	switch k {
	case KindRateLimited, KindTransient, KindConflict, KindUnauthenticated:
		return true
	}
	return false
}
