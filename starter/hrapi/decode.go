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
	var fields []workflows.FieldError
	add := func(f, format string, args ...any) {
		fields = append(fields, workflows.FieldError{Field: f, Message: fmt.Sprintf(format, args...)})
	}
	req := workflows.Request{
		UserID:      strings.ToLower(strings.TrimSpace(b.UserID)),
		Disposition: workflows.Disposition(b.Disposition),
		Reason:      strings.TrimSpace(b.Reason),
		RequestedBy: requestedBy,
		HREventID:   strings.TrimSpace(b.HREventID),
		DryRun:      b.DryRun,
		RequestedAt: now.UTC(),
	}
	if b.EffectiveAt != "" {
		t, err := time.Parse(time.RFC3339, b.EffectiveAt)
		if err != nil {
			add("effectiveAt", "%q is not an RFC 3339 time such as 2030-01-31T17:00:00Z", clip(b.EffectiveAt))
		}
		req.EffectiveAt = t.UTC()
	}
	if b.ExportFrom != "" {
		t, err := time.Parse(time.RFC3339, b.ExportFrom)
		if err != nil {
			add("exportFrom", "%q is not an RFC 3339 time such as 2022-01-01T00:00:00Z", clip(b.ExportFrom))
		}
		req.ExportFrom = t.UTC()
	}
	if b.Retention != "" {
		d, err := workflows.ParseDuration(b.Retention)
		switch {
		case err != nil:
			add("retention", "%s", err.Error())
		case d == 0:
			add("retention", "must be positive; omit it for the policy default (%s)", workflows.Duration(p.DefaultRetention))
		}
		req.Retention = d
	}
	if req.Reason == "" {
		add("reason", "is required: say why, e.g. \"resigned\" or a ticket number")
	}
	switch {
	case req.HREventID == "":
		add("hrEventId", "is required: the HR system's event ID, which makes redelivery safe")
	case len(req.HREventID) > maxFieldLen:
		// ValidateRequest reports it.
	case strings.ContainsFunc(req.HREventID, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		add("hrEventId", "contains control characters")
	}
	if err := workflows.ValidateRequest(req, p, now); err != nil {
		var v *workflows.ValidationError
		if !errors.As(err, &v) {
			return workflows.Request{}, invalid(err.Error())
		}
		for _, f := range v.Fields {
			if f.Field == "requestedBy" {
				f.Message = "the identity bound to your token " + f.Message
			}
			if !slices.ContainsFunc(fields, func(g workflows.FieldError) bool { return g.Field == f.Field }) {
				fields = append(fields, f)
			}
		}
	}
	if workflows.IsUUID(req.UserID) && p.Protects(req.UserID) {
		add("userId", "is protected by policy and is never offboarded")
	}
	if len(fields) > 0 {
		return workflows.Request{}, invalid("the offboarding request is invalid; nothing was started", fields...)
	}
	return req, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
