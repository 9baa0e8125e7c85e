package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/genesys"
)

// Application error types that the activities return. Callers match them with
// temporal.ApplicationError.Type(); whether Temporal retries them is declared in errorTypes.
const (
	ErrMissingPermissions = "MissingPermissions" // the credentials lack permissions this run needs
	ErrUserNotFound       = "UserNotFound"       // no such Genesys user
	ErrProtectedUser      = "ProtectedUser"      // the policy forbids offboarding this user
	ErrInvalidInput       = "InvalidInput"       // the activity input is wrong
	ErrCountMismatch      = "CountMismatch"      // the export or re-count disagrees with Genesys
	ErrUnexpectedState    = "UnexpectedState"    // the user is not in the state the step requires
	ErrNotYetConsistent   = "NotYetConsistent"   // Genesys does not show a change this activity made yet
	ErrWebhookRejected    = "WebhookRejected"    // the notification webhook answered 4xx
	ErrWebhookUnavailable = "WebhookUnavailable" // the webhook failed with 5xx, 429 or a transport error
	ErrAuditExists        = "AuditExists"        // audit.json exists with a different record
	// ErrExportJobFailed: the analytics jobs for a window kept ending FAILED or EXPIRED; the next
	// attempt creates a new job and resumes.
	ErrExportJobFailed = "ExportJobFailed"
	// ErrBundleCorrupt: the stored objects disagree with what the export recorded or its manifest says.
	ErrBundleCorrupt = "BundleCorrupt"
	// ErrWorkerStopping: the export was interrupted by its worker's shutdown and resumes elsewhere.
	ErrWorkerStopping = "WorkerStopping"
	// ErrPersonUnknown: no active or inactive Genesys user has the email or employee ID HR sent.
	ErrPersonUnknown = "PersonUnknown"
	// ErrPersonAmbiguous: several Genesys users have it (details: how many).
	ErrPersonAmbiguous = "PersonAmbiguous"
)

// errorTypes is the one declaration of which of this package's failures Temporal may retry;
// the Genesys client's failures follow genesys.Kind.Retryable.
var errorTypes = map[string]bool{
	ErrMissingPermissions: false,
	ErrUserNotFound:       false,
	ErrProtectedUser:      false,
	ErrInvalidInput:       false,
	ErrCountMismatch:      false,
	ErrUnexpectedState:    false,
	ErrNotYetConsistent:   true,
	ErrWebhookRejected:    false,
	ErrWebhookUnavailable: true,
	ErrAuditExists:        false,
	ErrExportJobFailed:    true,
	ErrBundleCorrupt:      false,
	ErrWorkerStopping:     true,
	ErrPersonUnknown:      false,
	ErrPersonAmbiguous:    false,
}

// NonRetryableErrorTypes lists every failure type, of this package and of the Genesys client,
// that no retry can fix, for retry policies. Activities already mark such failures
// non-retryable; the list keeps a retry policy from retrying one that arrives otherwise.
func NonRetryableErrorTypes() []string {
	var out []string
	for _, typ := range slices.Sorted(maps.Keys(errorTypes)) {
		if !errorTypes[typ] {
			out = append(out, typ)
		}
	}
	for _, k := range genesys.Kinds() {
		if !k.Retryable() {
			out = append(out, string(k))
		}
	}
	return out
}

// failure builds an application error of one of this package's types, retryable as errorTypes
// says. details reach the caller through ApplicationError.Details.
func failure(typ string, cause error, msg string, details ...any) error {
	retryable, ok := errorTypes[typ]
	if !ok {
		panic("activities: undeclared error type " + typ)
	}
	return temporal.NewApplicationErrorWithOptions(msg, typ, temporal.ApplicationErrorOptions{
		NonRetryable: !retryable, Cause: cause, Details: details,
	})
}

// failf is failure with a formatted message and no cause.
func failf(typ, format string, args ...any) error {
	return failure(typ, nil, fmt.Sprintf(format, args...))
}

// asTemporalError turns a failure of the Genesys client into a Temporal application error whose
// type is the genesys.Kind and whose retryability is the kind's. A rate limit asks Temporal to
// retry after Retry-After. Errors that are already application errors, and nil, pass through;
// other errors stay as they are (Temporal retries them).
func asTemporalError(err error) error {
	if err == nil {
		return nil
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return err
	}
	var ge *genesys.Error
	if !errors.As(err, &ge) {
		return err
	}
	if ge.Kind == genesys.KindTransient && errors.Is(err, context.Canceled) {
		return err
	}
	opts := temporal.ApplicationErrorOptions{NonRetryable: !ge.Kind.Retryable(), Cause: err}
	if ge.Kind == genesys.KindRateLimited {
		opts.NextRetryDelay = ge.RetryAfter
	}
	if ge.Kind == genesys.KindPermissionDenied {
		opts.Details = []any{ge.MissingPermissions}
	}
	return temporal.NewApplicationErrorWithOptions(kindMessage(ge), string(ge.Kind), opts)
}

// kindMessage says what a Genesys failure means for the run and what fixes it.
func kindMessage(ge *genesys.Error) string {
	switch ge.Kind {
	case genesys.KindRateLimited:
		return fmt.Sprintf("Genesys Cloud rate limit reached; retry after %s", ge.RetryAfter)
	case genesys.KindTransient:
		return "transient Genesys Cloud failure; will retry"
	case genesys.KindConflict:
		return "Genesys Cloud version conflict; will re-read and retry"
	case genesys.KindPermissionDenied:
		if len(ge.MissingPermissions) > 0 {
			return fmt.Sprintf("the OAuth client lacks Genesys Cloud permission(s) %s; add them to one of the client's roles",
				strings.Join(ge.MissingPermissions, ", "))
		}
		return "the OAuth client lacks a Genesys Cloud permission; add it to one of the client's roles"
	case genesys.KindNotFound:
		return "not found in Genesys Cloud"
	case genesys.KindUnauthenticated:
		return fmt.Sprintf("Genesys Cloud rejected the OAuth client credentials; fix %s and %s on the worker and restart it: the activity is retried",
			genesys.EnvClientID, genesys.EnvClientSecret)
	default: // KindInvalid and anything new
		return "Genesys Cloud rejected the request; retrying will not help, fix the input"
	}
}
