package hrapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/workflows"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 64 << 10

// OffboardingRequest is the body of POST /v1/offboardings. Times are RFC 3339 and retention is
// ISO-8601; they are strings here so that a bad value becomes a field-level error.
type OffboardingRequest struct {
	UserID      string `json:"userId"`
	Disposition string `json:"disposition"`
	EffectiveAt string `json:"effectiveAt,omitempty"`
	Retention   string `json:"retention,omitempty"`
	ExportFrom  string `json:"exportFrom,omitempty"`
	Reason      string `json:"reason"`
	HREventID   string `json:"hrEventId"`
	DryRun      bool   `json:"dryRun,omitempty"`
}

// DecisionRequest is the body of POST /v1/offboardings/{userId}/approvals.
type DecisionRequest struct {
	Decision string `json:"decision"`
	Comment  string `json:"comment,omitempty"`
}

// ControlRequest is the body of cancel, hold and release; it may be empty.
type ControlRequest struct {
	Reason string `json:"reason,omitempty"`
}

// RetentionRequest is the body of POST /v1/offboardings/{userId}/retention.
type RetentionRequest struct {
	Until  string `json:"until"`
	Reason string `json:"reason,omitempty"`
}

// decodeJSON reads one JSON object of at most MaxBodyBytes into dst, rejecting unknown fields
// and trailing data. An empty body is allowed only when allowEmpty is set.
func decodeJSON(r io.Reader, dst any, allowEmpty bool) *Problem {
	raw, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return invalid(fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
		}
		return invalid("the body could not be read: " + err.Error())
	}
	if len(raw) > MaxBodyBytes {
		return invalid(fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if allowEmpty {
			return nil
		}
		return invalid("the body is empty: send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("the body holds more than one JSON value: send exactly one object")
	}
	return nil
}

// jsonProblem turns a decoding error into a field-level problem where it can.
func jsonProblem(err error) *Problem {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return invalid("the body must be a JSON object")
		}
		return invalid("a field has the wrong JSON type", workflows.FieldError{Field: field, Message: "must be a JSON " + jsonKind(typeErr.Type.Kind().String())})
	case errors.As(err, &syntaxErr):
		return invalid(fmt.Sprintf("the body is not valid JSON (at byte %d)", syntaxErr.Offset))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid("the body has a field this API does not know", workflows.FieldError{Field: name, Message: "is not a known field; check the spelling against /openapi.yaml"})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("the body is truncated JSON")
	}
	return invalid("the body is not a valid JSON object")
}

func jsonKind(k string) string {
	switch k {
	case "bool":
		return "boolean"
	case "string":
		return "string"
	case "struct", "map":
		return "object"
	}
	return k
}

// DecodeOffboardingRequest reads the body of POST /v1/offboardings. The error is a *Problem.
func DecodeOffboardingRequest(r io.Reader) (OffboardingRequest, error) {
	var b OffboardingRequest
	if p := decodeJSON(r, &b, false); p != nil {
		return OffboardingRequest{}, p
	}
	return b, nil
}

// maxFieldLen bounds identifiers that are not otherwise bounded.
const maxFieldLen = 200

// Request converts the body into a validated workflow request made by requestedBy at now
// under policy p. The error is a *Problem listing every invalid field.
func (b OffboardingRequest) Request(requestedBy string, now time.Time, p workflows.Policy) (workflows.Request, error) {
	var fields fieldErrors
	req := workflows.Request{
		UserID:      strings.ToLower(strings.TrimSpace(b.UserID)),
		Disposition: workflows.Disposition(b.Disposition),
		Reason:      strings.TrimSpace(b.Reason),
		RequestedBy: requestedBy,
		HREventID:   strings.TrimSpace(b.HREventID),
		DryRun:      b.DryRun,
		RequestedAt: now.UTC(),
		EffectiveAt: fields.time("effectiveAt", b.EffectiveAt, "2030-01-31T17:00:00Z"),
		ExportFrom:  fields.time("exportFrom", b.ExportFrom, "2022-01-01T00:00:00Z"),
		Retention:   fields.retention(b.Retention, p),
	}
	fields.required(req)
	if err := fields.validate(req, p, now); err != nil {
		return workflows.Request{}, err
	}
	if workflows.IsUUID(req.UserID) && p.Protects(req.UserID) {
		fields.add("userId", "is protected by policy and is never offboarded")
	}
	if len(fields) > 0 {
		return workflows.Request{}, invalid("the offboarding request is invalid; nothing was started", fields...)
	}
	return req, nil
}

// fieldErrors collects the invalid fields of one request, at most one message a field from
// the workflow's own validation.
type fieldErrors []workflows.FieldError

func (fs *fieldErrors) add(field, format string, args ...any) {
	*fs = append(*fs, workflows.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// time parses an optional RFC 3339 field; example shows the form in the message.
func (fs *fieldErrors) time(field, v, example string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		fs.add(field, "%q is not an RFC 3339 time such as %s", clip(v), example)
	}
	return t.UTC()
}

// retention parses the optional ISO-8601 retention, which must be positive when given.
func (fs *fieldErrors) retention(v string, p workflows.Policy) workflows.Duration {
	if v == "" {
		return 0
	}
	d, err := workflows.ParseDuration(v)
	switch {
	case err != nil:
		fs.add("retention", "%s", err.Error())
	case d == 0:
		fs.add("retention", "must be positive; omit it for the policy default (%s)", workflows.Duration(p.DefaultRetention))
	}
	return d
}

// required reports the fields the API asks for with a hint of what to send.
func (fs *fieldErrors) required(req workflows.Request) {
	if req.Reason == "" {
		fs.add("reason", "is required: say why, e.g. \"resigned\" or a ticket number")
	}
	switch {
	case req.HREventID == "":
		fs.add("hrEventId", "is required: the HR system's event ID, which makes redelivery safe")
	case len(req.HREventID) > maxFieldLen:
		// ValidateRequest reports it.
	case strings.ContainsFunc(req.HREventID, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		fs.add("hrEventId", "contains control characters")
	}
}

// validate adds the workflow's own field errors for fields not reported yet. An error that
// names no field is returned as a problem of its own.
func (fs *fieldErrors) validate(req workflows.Request, p workflows.Policy, now time.Time) error {
	err := workflows.ValidateRequest(req, p, now)
	if err == nil {
		return nil
	}
	var v *workflows.ValidationError
	if !errors.As(err, &v) {
		return invalid(err.Error())
	}
	for _, f := range v.Fields {
		if f.Field == "requestedBy" {
			f.Message = "the identity bound to your token " + f.Message
		}
		if !slices.ContainsFunc(*fs, func(g workflows.FieldError) bool { return g.Field == f.Field }) {
			*fs = append(*fs, f)
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
