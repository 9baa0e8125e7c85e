package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/offboard/offboard/genesys"

	"github.com/offboard/offboard/internal/identity"
)

// Limits on free-text request fields, so that one request cannot bloat workflow history.
const (
	maxIdentityLen = 200
	maxReasonLen   = 2000
	// maxClockSkew is how far RequestedAt may lie in the future of the validating clock.
	maxClockSkew = 5 * time.Minute
)

// FieldError is one invalid field of a request or policy.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error formats the field and its problem.
func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidationError lists every invalid field; its message names each one and how to fix it.
type ValidationError struct {
	What   string       `json:"what"`
	Fields []FieldError `json:"fields"`
}

// Error lists every invalid field.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return "invalid " + e.What + ": " + strings.Join(parts, "; ")
}

func (e *ValidationError) add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (e *ValidationError) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// ValidateRequest checks req against the policy p at time now (the starter's clock, or the
// workflow's). The error is a *ValidationError with one entry per invalid field.
func ValidateRequest(req Request, p Policy, now time.Time) error {
	v := &ValidationError{What: "request"}
	if req.UserID == "" {
		v.add("userId", "is required: the Genesys user ID")
	} else if !IsUUID(req.UserID) {
		v.add("userId", "%q is not a UUID such as 3f2504e0-4f89-41d3-9a0c-0305e82c3301", truncate(req.UserID, 64))
	}
	checkDisposition(v, req, p)
	checkIdentification(v, req.IdentifiedBy)
	checkIdentity(v, "requestedBy", req.RequestedBy, true)
	if n := utf8.RuneCountInString(req.Reason); n > maxReasonLen {
		v.add("reason", "is %d characters; at most %d are allowed", n, maxReasonLen)
	}
	if n := utf8.RuneCountInString(req.HREventID); n > maxIdentityLen {
		v.add("hrEventId", "is %d characters; at most %d are allowed", n, maxIdentityLen)
	}
	checkTimes(v, req, now)
	if req.Resume != nil {
		v.add("resume", "is set only by the workflow itself when it continues as new")
	}
	return v.err()
}

// checkDisposition checks the disposition, and the retention that only a deletion has.
func checkDisposition(v *ValidationError, req Request, p Policy) {
	switch req.Disposition {
	case DispositionArchive:
		if req.Retention != nil {
			v.add("retention", "applies only to disposition %q: an archived user is never deleted", DispositionDelete)
		}
	case DispositionDelete:
		r := effectiveRetention(req, p)
		if r < p.MinRetention || r > p.MaxRetention {
			v.add("retention", "%s is outside the policy's range [%s, %s]", Duration(r), Duration(p.MinRetention), Duration(p.MaxRetention))
		}
	case "":
		v.add("disposition", "is required: %q or %q", DispositionArchive, DispositionDelete)
	default:
		v.add("disposition", "%q is unknown: use %q or %q", truncate(string(req.Disposition), 32), DispositionArchive, DispositionDelete)
	}
}

// maxIdentifierLen bounds an email or employee ID, in characters (an email address has at most 254).
const maxIdentifierLen = 254

// checkIdentification checks how HR named the person, if it did. Messages never repeat the
// value: it is personal data.
func checkIdentification(v *ValidationError, id *Identification) {
	if id == nil {
		return
	}
	switch id.By {
	case IdentifyByEmail, IdentifyByEmployeeID:
	default:
		v.add("identifiedBy.by", "%q is unknown: use %q or %q", truncate(id.By, 32), IdentifyByEmail, IdentifyByEmployeeID)
	}
	switch {
	case strings.TrimSpace(id.Value) == "":
		v.add("identifiedBy.value", "is required: the email or employee ID HR knows the person by")
	case utf8.RuneCountInString(id.Value) > maxIdentifierLen:
		v.add("identifiedBy.value", "is %d characters; at most %d are allowed", utf8.RuneCountInString(id.Value), maxIdentifierLen)
	case strings.ContainsFunc(id.Value, func(r rune) bool { return r < 0x20 || r == 0x7f }) || !utf8.ValidString(id.Value):
		v.add("identifiedBy.value", "contains control characters or invalid UTF-8")
	case id.By == IdentifyByEmail && !strings.Contains(id.Value, "@"):
		v.add("identifiedBy.value", "is not an email address: it has no @")
	}
}

// checkTimes checks that the request was not made in the future and that its export window
// ends when access does.
func checkTimes(v *ValidationError, req Request, now time.Time) {
	if !req.RequestedAt.IsZero() && req.RequestedAt.After(now.Add(maxClockSkew)) {
		v.add("requestedAt", "%s is in the future", req.RequestedAt.UTC().Format(time.RFC3339))
	}
	requestedAt := req.RequestedAt
	if requestedAt.IsZero() {
		requestedAt = now
	}
	accessEnd := accessEndAt(req, requestedAt)
	if !req.ExportFrom.IsZero() && !req.ExportFrom.Before(accessEnd) {
		v.add("exportFrom", "%s must be before access ends (%s)", req.ExportFrom.UTC().Format(time.RFC3339), accessEnd.UTC().Format(time.RFC3339))
	}
}

// checkIdentity validates an identity that may be shown in search attributes or the audit record.
func checkIdentity(v *ValidationError, field, id string, required bool) {
	switch {
	case strings.TrimSpace(id) == "":
		if required {
			v.add(field, "is required: an identity such as a service or user ID")
		}
	case len(id) > maxIdentityLen:
		v.add(field, "is %d bytes; at most %d are allowed", len(id), maxIdentityLen)
	case strings.Contains(id, "@"):
		v.add(field, "looks like an email address: use an ID, because identities appear in search attributes")
	case strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		v.add(field, "contains control characters")
	default:
		norm, err := identity.Normalize(id)
		switch {
		case err != nil:
			v.add(field, "%v", err)
		case norm != id:
			v.add(field, "%q is not in its normal form: send %q", truncate(id, 64), norm)
		}
	}
}

// effectiveRetention is the request's retention or the policy default.
func effectiveRetention(req Request, p Policy) time.Duration {
	if req.Retention != nil {
		return time.Duration(*req.Retention)
	}
	return p.DefaultRetention
}

// accessEndAt is when access is due to end: EffectiveAt, else when the request was made.
func accessEndAt(req Request, requestedAt time.Time) time.Time {
	if !req.EffectiveAt.IsZero() {
		return req.EffectiveAt.UTC()
	}
	return requestedAt.UTC()
}

// permissionsFor lists the Genesys permissions a run with this disposition needs. A dry run
// checks the same ones, so it fails where the real run would.
func permissionsFor(d Disposition) []string {
	perms := []string{genesys.PermUserEdit, genesys.PermConversationDetail}
	if d == DispositionDelete {
		perms = append(perms, genesys.PermUserDelete)
	}
	return perms
}

// IsUUID reports whether s is a UUID in canonical 8-4-4-4-12 hexadecimal form.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// errorFields returns the field errors of err, if it is a *ValidationError.
func errorFields(err error) []FieldError {
	var v *ValidationError
	if errors.As(err, &v) {
		return v.Fields
	}
	return nil
}
