package hrapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
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
	// UserID is the Genesys user ID. An HR system that does not know it sends Email or
	// EmployeeID instead: exactly one of the three.
	UserID      string `json:"userId,omitempty"`
	Email       string `json:"email,omitempty"`
	EmployeeID  string `json:"employeeId,omitempty"`
	Disposition string `json:"disposition"`
	EffectiveAt string `json:"effectiveAt,omitempty"`
	Retention   string `json:"retention,omitempty"`
	ExportFrom  string `json:"exportFrom,omitempty"`
	Reason      string `json:"reason" text:"free"`
	HREventID   string `json:"hrEventId"`
	DryRun      bool   `json:"dryRun,omitempty"`
}

// DecisionRequest is the body of POST /v1/offboardings/{userId}/approvals.
type DecisionRequest struct {
	Decision string `json:"decision"`
	Comment  string `json:"comment,omitempty" text:"free"`
}

// ControlRequest is the body of cancel, hold and release; it may be empty.
type ControlRequest struct {
	Reason string `json:"reason,omitempty" text:"free"`
}

// RetentionRequest is the body of POST /v1/offboardings/{userId}/retention.
type RetentionRequest struct {
	Until  string `json:"until"`
	Reason string `json:"reason,omitempty" text:"free"`
}

// decodeJSON reads one JSON object of at most MaxBodyBytes into dst, strictly: it refuses
// unknown fields, trailing data and everything checkStrict refuses. An empty body is allowed
// only when allowEmpty is set. Every body of the API is read by it.
func decodeJSON(r io.Reader, dst any, allowEmpty bool) *Problem {
	raw, p := readBody(r)
	if p != nil {
		return p
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if allowEmpty {
			return nil
		}
		return invalid("the body is empty: send a JSON object")
	}
	if p := checkStrict(raw, reflect.TypeOf(dst)); p != nil {
		return p
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

// Request converts the body into a validated workflow request made by requestedBy at now
// under policy p. The error is a *Problem listing every invalid field.
func (b OffboardingRequest) Request(requestedBy string, now time.Time, p workflows.Policy) (workflows.Request, error) {
	var fields fieldErrors
	req := workflows.Request{
		UserID:       strings.ToLower(b.UserID),
		IdentifiedBy: fields.identification(b),
		Disposition:  workflows.Disposition(b.Disposition),
		Reason:       strings.TrimSpace(b.Reason),
		RequestedBy:  requestedBy,
		HREventID:    b.HREventID,
		DryRun:       b.DryRun,
		RequestedAt:  now.UTC(),
		EffectiveAt:  fields.time("effectiveAt", b.EffectiveAt, "2030-01-31T17:00:00Z"),
		ExportFrom:   fields.time("exportFrom", b.ExportFrom, "2022-01-01T00:00:00Z"),
		Retention:    fields.retention(b.Retention),
	}
	fields.required(req)
	fields.text("userId", b.UserID, identifierText)
	fields.text("email", b.Email, identifierText)
	fields.text("employeeId", b.EmployeeID, identifierText)
	fields.text("hrEventId", b.HREventID, identifierText)
	fields.text("reason", b.Reason, prose)
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

// retention parses the optional ISO-8601 retention. PT0S is no retention at all, which the
// workflow's check accepts only when the policy's minimum is zero.
func (fs *fieldErrors) retention(v string) *workflows.Duration {
	if v == "" {
		return nil
	}
	d, err := workflows.ParseDuration(v)
	if err != nil {
		fs.add("retention", "%s", err.Error())
	}
	return &d
}

// required reports the fields the API asks for with a hint of what to send.
func (fs *fieldErrors) required(req workflows.Request) {
	if req.Reason == "" {
		fs.add("reason", "is required: say why, e.g. \"resigned\" or a ticket number")
	}
	if req.HREventID == "" {
		fs.add("hrEventId", "is required: the HR system's event ID, which makes redelivery safe")
	}
}

// text reports what checkText finds wrong with the field's value, unless the field is
// reported already. Bodies were checked when decoded; this covers the CLI's flags.
func (fs *fieldErrors) text(field, v string, c textClass) {
	if msg := checkText(v, c); msg != "" && !fs.has(field) {
		fs.add(field, "%s", msg)
	}
}

func (fs *fieldErrors) has(field string) bool {
	return slices.ContainsFunc(*fs, func(g workflows.FieldError) bool { return g.Field == field })
}

// validate adds the workflow's own field errors for fields not reported yet. An error that
// names no field is returned as a problem of its own.
func (fs *fieldErrors) validate(req workflows.Request, p workflows.Policy, now time.Time) error {
	found, err := validationFields(req, p, now)
	if err != nil {
		return invalid(err.Error())
	}
	for _, f := range found {
		if f.Field == "userId" && req.UserID == "" && (fs.has("email") || fs.has("employeeId")) {
			continue // the body named the person twice over, which is reported already
		}
		switch f.Field {
		case "requestedBy":
			f.Message = "the identity bound to your token " + f.Message
		case "identifiedBy.value", "identifiedBy.by":
			f.Field = req.IdentifiedBy.By // the body's email or employeeId
		}
		if !fs.has(f.Field) {
			*fs = append(*fs, f)
		}
	}
	return nil
}

// identification is how the body names the person when it does not send userId: exactly one
// of userId, email and employeeId is allowed.
func (fs *fieldErrors) identification(b OffboardingRequest) *workflows.Identification {
	var named []string
	for _, f := range []struct{ name, v string }{{"userId", b.UserID}, {"email", b.Email}, {"employeeId", b.EmployeeID}} {
		if f.v != "" {
			named = append(named, f.name)
		}
	}
	switch {
	case len(named) == 0:
		fs.add("userId", "is required: the Genesys user ID, or instead the person's email or employeeId")
	case len(named) > 1:
		fs.add(named[1], "is sent with %s: name the person by exactly one of userId, email and employeeId", named[0])
	case b.Email != "":
		return &workflows.Identification{By: workflows.IdentifyByEmail, Value: b.Email}
	case b.EmployeeID != "":
		return &workflows.Identification{By: workflows.IdentifyByEmployeeID, Value: b.EmployeeID}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
