package hrapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/mail"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/webhook"
	"github.com/offboard/offboard/workflows"
)

// EventTypeTerminated is the one HR event type POST /v1/events takes.
const EventTypeTerminated = "com.offboard.employee.terminated"

// EventRequester is the requestedBy of every offboarding an HR event starts. The event secrets
// authenticate one sender, the HR system, and nothing in an event proves more: its source is
// the sender's own claim. So the requester is that system, under a name no token may hold, and
// the four-eyes rule keeps every person free to approve what HR's events request.
const EventRequester = "hr-events"

// eventReason is the reason of an event that gives none: its type says why.
const eventReason = "employee terminated (HR event)"

// Media types of the CloudEvents HTTP modes: structured (the event is the body) and binary
// (the data is the body, the attributes ce-* headers).
const (
	mediaCloudEvent = "application/cloudevents+json"
	mediaJSON       = "application/json"
)

// maxEventIDLen bounds an HREventID derived from an event: the request validation's limit.
const maxEventIDLen = 200

// EventData is the data of a com.offboard.employee.terminated event. It names the person by
// exactly one of GenesysUserID, Email and EmployeeID; the rest is as in an OffboardingRequest.
type EventData struct {
	GenesysUserID string `json:"genesysUserId,omitempty"`
	Email         string `json:"email,omitempty"`
	EmployeeID    string `json:"employeeId,omitempty"`
	Disposition   string `json:"disposition"`
	EffectiveAt   string `json:"effectiveAt,omitempty"`
	Retention     string `json:"retention,omitempty"`
	Reason        string `json:"reason,omitempty" text:"free"`
}

// StructuredEvent is a structured-mode CloudEvent as the API reads it: the attributes it takes,
// each once and spelt exactly. Any other attribute is refused rather than kept as an extension,
// so that a misspelt "datacontentype" is an error, not an ignored extension.
type StructuredEvent struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	DataContentType string    `json:"datacontenttype,omitempty"`
	DataSchema      string    `json:"dataschema,omitempty"`
	Subject         string    `json:"subject,omitempty"`
	Time            string    `json:"time,omitempty"`
	Data            EventData `json:"data,omitzero"`
	DataBase64      string    `json:"data_base64,omitempty"`
	TraceParent     string    `json:"traceparent,omitempty"`
	TraceState      string    `json:"tracestate,omitempty"`
}

// EventKey is the HREventID of the event id from source: the idempotency key of its start.
// It reads as source#id (a '#' or '%' in source percent-encoded, so that no two events share
// a key) while that fits the request's limit, and is a SHA-256 of that form otherwise.
func EventKey(source, id string) string {
	key := strings.NewReplacer("%", "%25", "#", "%23").Replace(source) + "#" + id
	if utf8.RuneCountInString(key) <= maxEventIDLen {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "ce-sha256:" + hex.EncodeToString(sum[:])
}

// event serves POST /v1/events: the signature, checked before the body is parsed, is the
// authentication, and a bad one counts against the client address like a bad token.
func (s *server) event(w http.ResponseWriter, r *http.Request, _ Principal) {
	if s.events == nil {
		writeProblem(w, r, newProblem(TypeEventsOff, "this HR API takes no events: its operators have set no "+config.EnvEventSecrets+"; deliveries succeed once they do"))
		return
	}
	raw, ok := s.verifiedBody(w, r)
	if !ok {
		return
	}
	if wait := s.starts.take(EventRequester, s.svc.now()); wait > 0 {
		tooMany(w, r, wait, "too many starts by HR events")
		return
	}
	ev, p := readEvent(r.Header, raw)
	if p != nil {
		s.fail(w, r, p)
		return
	}
	req, err := eventRequest(ev, s.svc.now(), s.svc.Policy)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.svc.Start(r.Context(), req)
	if userID, ok := workflows.UserIDFromWorkflowID(res.WorkflowID); err == nil && ok {
		w.Header().Set("Location", "/v1/offboardings/"+userID)
	}
	code := http.StatusAccepted
	if res.Existing {
		code = http.StatusOK
	}
	s.answer(w, r, code, res, err)
}

// verifiedBody is the body of a delivery whose signature verifies. An unsigned or expired
// delivery is refused whatever its size, one too large to verify as too large; a refused
// signature counts against the client address.
func (s *server) verifiedBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	addr := clientAddress(r, s.forwardedFor)
	if s.authLimited(w, r, addr) {
		return nil, false
	}
	raw, tooLarge := readBody(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	_, err := s.events.Verify(r.Header, raw)
	switch {
	case err != nil && (tooLarge == nil || !errors.Is(err, webhook.ErrBadSignature)):
		s.authFailures.take(addr, s.svc.now())
		s.fail(w, r, newProblem(TypeEventSignature, err.Error()+": sign each delivery the Standard Webhooks way, "+
			"webhook-signature: v1,<base64 HMAC-SHA256 of webhook-id.webhook-timestamp.body>, with a current secret and the current time"))
		return nil, false
	case tooLarge != nil:
		s.fail(w, r, tooLarge)
		return nil, false
	}
	return raw, true
}

// readEvent reads the CloudEvent of a verified delivery in either mode, with the official SDK,
// and checks what the SDK lets pass: the spec version, the type, the data's content type and
// extension attributes.
func readEvent(h http.Header, raw []byte) (*event.Event, *Problem) {
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch {
	case mt == mediaCloudEvent:
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return nil, unsupported(fmt.Sprintf("charset %q is not accepted: send %s with charset utf-8 or none", clip(cs), mediaCloudEvent))
		}
		if p := checkStrict(raw, reflect.TypeFor[StructuredEvent]()); p != nil {
			return nil, p
		}
		if p := checkAttributes(raw); p != nil {
			return nil, p
		}
	case h.Get("ce-specversion") != "":
		if p := checkContentType(h.Get("Content-Type")); p != nil {
			return nil, p
		}
	default:
		return nil, unsupported(fmt.Sprintf("send a CloudEvent: Content-Type %s (structured mode), or ce-specversion, ce-id, ce-source and ce-type headers with Content-Type %s data (binary mode)", mediaCloudEvent, mediaJSON))
	}
	if v := h.Get("ce-specversion"); mt != mediaCloudEvent && v != event.CloudEventsVersionV1 {
		return nil, fieldInvalid("specversion", fmt.Sprintf("%q is not supported: send %s", clip(v), event.CloudEventsVersionV1))
	}
	r, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(raw)) // a valid request: cannot fail
	r.Header = h
	ev, err := cehttp.NewEventFromHTTPRequest(r)
	if err == nil {
		err = ev.Validate()
	}
	if p := eventProblem(err); p != nil {
		return nil, p
	}
	return ev, checkEvent(ev, mt == mediaCloudEvent)
}

// checkAttributes refuses a structured event's attributes that StructuredEvent lacks, which
// the SDK would keep as extensions, and data declared as anything but JSON. A body that is no
// object is left to the SDK to refuse.
func checkAttributes(raw []byte) *Problem {
	var attrs map[string]json.RawMessage
	if json.Unmarshal(raw, &attrs) != nil {
		return nil
	}
	t := reflect.TypeFor[StructuredEvent]()
	var known []string
	for i := range t.NumField() {
		known = append(known, jsonName(t.Field(i)))
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		if !slices.Contains(known, name) {
			return fieldInvalid(name, "is not an attribute this API takes: see the CloudEvent schema in /openapi.yaml")
		}
	}
	var dct string
	if raw, ok := attrs["datacontenttype"]; ok && json.Unmarshal(raw, &dct) == nil {
		mt, params, err := mime.ParseMediaType(dct)
		if err != nil || mt != mediaJSON || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
			return unsupported(fmt.Sprintf("datacontenttype %q is not accepted: the data is %s (in UTF-8), or omit datacontenttype", clip(dct), mediaJSON))
		}
	}
	return nil
}

// eventProblem is a problem for the SDK's error: the attributes it names, or, for JSON it
// could not read (whose message quotes the body), a hint of what to send.
func eventProblem(err error) *Problem {
	if err == nil {
		return nil
	}
	var v event.ValidationError
	if !errors.As(err, &v) {
		return invalid("the body is not a CloudEvent in JSON: send one object whose attributes are strings, as the CloudEvents JSON format says")
	}
	var fields []workflows.FieldError
	for name, e := range v {
		fields = append(fields, workflows.FieldError{Field: name, Message: e.Error()})
	}
	slices.SortFunc(fields, func(a, b workflows.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return invalid("the CloudEvent is invalid; nothing was started", fields...)
}

// checkEvent checks what the SDK accepts but this API does not.
func checkEvent(ev *event.Event, structured bool) *Problem {
	if v := ev.SpecVersion(); v != event.CloudEventsVersionV1 {
		return fieldInvalid("specversion", fmt.Sprintf("%q is not supported: send %s", clip(v), event.CloudEventsVersionV1))
	}
	if name := firstExtension(ev); name != "" && !structured {
		return fieldInvalid("ce-"+name, "is not an attribute this API takes in binary mode: send only ce-specversion, ce-id, ce-source, ce-type, ce-subject, ce-time and ce-dataschema")
	}
	for name, v := range map[string]string{"id": ev.ID(), "source": ev.Source()} {
		if msg := checkText(v, identifierText); msg != "" {
			return fieldInvalid(name, msg)
		}
	}
	if ev.Type() != EventTypeTerminated {
		return newProblem(TypeUnknownEventType, fmt.Sprintf("events of type %q are not taken here; the one type is %s", clip(ev.Type()), EventTypeTerminated))
	}
	if len(bytes.TrimSpace(ev.Data())) == 0 {
		return fieldInvalid("data", "is missing: send the person and the disposition, see the EventData schema in /openapi.yaml")
	}
	return nil
}

// firstExtension is the first of ev's extension attributes by name, or "".
func firstExtension(ev *event.Event) string {
	if names := slices.Sorted(maps.Keys(ev.Extensions())); len(names) > 0 {
		return names[0]
	}
	return ""
}

// eventRequest maps a checked event to the offboarding it asks for, at now under policy p. The
// error is a *Problem naming the data's fields.
func eventRequest(ev *event.Event, now time.Time, p workflows.Policy) (workflows.Request, error) {
	var d EventData
	if prob := decodeJSON(bytes.NewReader(ev.Data()), &d, false); prob != nil {
		return workflows.Request{}, inData(prob)
	}
	var fields fieldErrors
	req := workflows.Request{
		Disposition: workflows.Disposition(d.Disposition),
		Reason:      strings.TrimSpace(d.Reason),
		RequestedBy: EventRequester,
		HREventID:   EventKey(ev.Source(), ev.ID()),
		RequestedAt: now.UTC(),
		EffectiveAt: fields.time("effectiveAt", d.EffectiveAt, "2030-01-31T17:00:00Z"),
		Retention:   fields.retention(d.Retention),
	}
	if req.Reason == "" {
		req.Reason = eventReason
	}
	req.UserID, req.IdentifiedBy = fields.person(d)
	fields.text("reason", d.Reason, prose)
	// Start resolves an email or employee ID to the user later: until then a stand-in ID lets
	// the workflow's own checks judge the rest of the request.
	check := req
	if check.UserID == "" {
		check.UserID = "00000000-0000-0000-0000-000000000000"
	}
	if err := fields.validate(check, p, now); err != nil {
		return workflows.Request{}, err
	}
	if workflows.IsUUID(req.UserID) && p.Protects(req.UserID) {
		fields.add("userId", "is protected by policy and is never offboarded")
	}
	if len(fields) > 0 {
		return workflows.Request{}, inData(invalid("the event's data is invalid; nothing was started", fields...))
	}
	return req, nil
}

// person reads who the event names: exactly one of the three identifiers.
func (fs *fieldErrors) person(d EventData) (string, *workflows.Identification) {
	var named []string
	for name, v := range map[string]string{"genesysUserId": d.GenesysUserID, "email": d.Email, "employeeId": d.EmployeeID} {
		if v != "" {
			named = append(named, name)
		}
	}
	switch {
	case len(named) == 0:
		fs.add("genesysUserId", "is required, or else email or employeeId: name the person by exactly one of them")
	case len(named) > 1:
		slices.Sort(named)
		fs.add(named[1], "names the person a second way (with %s): send exactly one of genesysUserId, email and employeeId", named[0])
	case d.Email != "":
		// The message never repeats the address: it is personal data.
		if a, err := mail.ParseAddress(d.Email); err != nil || a.Address != d.Email || a.Name != "" {
			fs.add("email", "is not an email address such as jane.doe@example.com (no name, no angle brackets)")
		}
		return "", &workflows.Identification{By: workflows.IdentifyByEmail, Value: d.Email}
	case d.EmployeeID != "":
		if n := utf8.RuneCountInString(d.EmployeeID); n > maxEventIDLen {
			fs.add("employeeId", "is %d characters; at most %d are allowed", n, maxEventIDLen)
		}
		return "", &workflows.Identification{By: workflows.IdentifyByEmployeeID, Value: d.EmployeeID}
	}
	return strings.ToLower(d.GenesysUserID), nil
}

// inData names p's fields as the event's: data.<field>, genesysUserId for the request's userId.
func inData(p *Problem) *Problem {
	for i, f := range p.Errors {
		if f.Field == "userId" {
			f.Field = "genesysUserId"
		}
		p.Errors[i].Field = "data." + f.Field
	}
	return p
}
