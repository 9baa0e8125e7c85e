package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/genesys"
)

// More application error types, beside those in types.go.
const (
	// ErrNotYetConsistent: Genesys has not yet shown a change this activity made; retryable.
	ErrNotYetConsistent = "NotYetConsistent"
	// ErrWebhookRejected: the notification webhook answered 4xx; not retried.
	ErrWebhookRejected = "WebhookRejected"
	// ErrWebhookUnavailable: the webhook failed with 5xx, 429 or a transport error; retried.
	ErrWebhookUnavailable = "WebhookUnavailable"
	// ErrAuditExists: audit.json exists with a different record; not retried.
	ErrAuditExists = "AuditExists"
)

// asTemporalError turns a failure of the Genesys client into a Temporal application error whose
// type is the genesys.Kind and whose retryability follows it. A rate limit asks Temporal to
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
	typ := string(ge.Kind)
	switch ge.Kind {
	case genesys.KindRateLimited:
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("Genesys Cloud rate limit reached; retry after %s", ge.RetryAfter), typ,
			temporal.ApplicationErrorOptions{NextRetryDelay: ge.RetryAfter, Cause: err})
	case genesys.KindTransient:
		if errors.Is(err, context.Canceled) {
			return err
		}
		return temporal.NewApplicationErrorWithCause("transient Genesys Cloud failure; will retry", typ, err)
	case genesys.KindConflict:
		return temporal.NewApplicationErrorWithCause("Genesys Cloud version conflict; will re-read and retry", typ, err)
	case genesys.KindPermissionDenied:
		msg := "the OAuth client lacks a Genesys Cloud permission; add it to one of the client's roles"
		if len(ge.MissingPermissions) > 0 {
			msg = fmt.Sprintf("the OAuth client lacks Genesys Cloud permission(s) %s; add them to one of the client's roles",
				strings.Join(ge.MissingPermissions, ", "))
		}
		return temporal.NewNonRetryableApplicationError(msg, typ, err, ge.MissingPermissions)
	case genesys.KindNotFound:
		return temporal.NewNonRetryableApplicationError("not found in Genesys Cloud", typ, err)
	case genesys.KindUnauthenticated:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"Genesys Cloud rejected the OAuth client credentials; check %s and %s", genesys.EnvClientID, genesys.EnvClientSecret), typ, err)
	default: // KindInvalid and anything new
		return temporal.NewNonRetryableApplicationError("Genesys Cloud rejected the request; retrying will not help, fix the input", typ, err)
	}
}

// nonRetryable builds a non-retryable application error of one of this package's types.
func nonRetryable(typ, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), typ, nil)
}
