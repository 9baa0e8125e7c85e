package hrapi

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/offboard/offboard/workflows"
)

// Problem is an RFC 9457 problem detail. It is also the error type of Service, so the CLI and
// the HTTP API report the same failures the same way.
type Problem struct {
	// Type is a URI reference naming the kind of problem; GET on it answers its page.
	Type string `json:"type"`
	// Title is the short, fixed summary of Type.
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence and how to fix it, in the caller's terms.
	Detail string `json:"detail,omitempty"`
	// Instance is the request path.
	Instance string `json:"instance,omitempty"`
	// Errors are the invalid fields, for 400s.
	Errors []workflows.FieldError `json:"errors,omitempty"`
	// Items are the invalid items of a batch (TypeInvalidBatch), each with its line.
	Items []ItemError `json:"items,omitempty"`
	// WorkflowID names the offboarding concerned, when there is one.
	WorkflowID string `json:"workflowId,omitempty"`
	// cause is the internal error behind the problem: the server logs it, the answer never
	// shows it (it names Temporal operations and workflow IDs).
	cause error
}

// Problem types. Each is the path of its page (GET /problems/{type}), relative to the API.
const (
	TypeInvalidRequest = "/problems/invalid-request"
	TypeUnauthorized   = "/problems/unauthorized"
	TypeForbidden      = "/problems/forbidden"
	TypeNotFound       = "/problems/not-found"
	TypeConflict       = "/problems/conflict"
	TypeRejected       = "/problems/update-rejected"
	TypeMethod         = "/problems/method-not-allowed"
	TypeUnavailable    = "/problems/temporal-unavailable"
	TypeInternal       = "/problems/internal"

	// TypeUnsupportedMediaType is a body that is not declared as JSON in UTF-8.
	TypeUnsupportedMediaType = "/problems/unsupported-media-type"
	// TypeTooManyRequests is a client over a rate limit; Retry-After says when to try again.
	TypeTooManyRequests = "/problems/too-many-requests"
	// TypeNoSigningKey is a service without the decision signing key it needs.
	TypeNoSigningKey = "/problems/no-signing-key"

	// TypeUnknownPerson is an email or employee ID that no active or inactive Genesys user has.
	TypeUnknownPerson = "/problems/unknown-person"
	// TypeAmbiguousPerson is an email or employee ID that several Genesys users share.
	TypeAmbiguousPerson = "/problems/ambiguous-person"
	// TypeResolutionUnavailable is a resolution that no worker finished in time.
	TypeResolutionUnavailable = "/problems/resolution-unavailable"
	// TypeEventSignature is an HR event unsigned, badly signed or outside the replay window.
	TypeEventSignature = "/problems/event-signature"
	// TypeUnknownEventType is a valid, signed CloudEvent of a type the API does not take.
	TypeUnknownEventType = "/problems/unknown-event-type"
	// TypeInvalidBatch is a batch some of whose items are invalid; items lists each.
	TypeInvalidBatch = "/problems/invalid-batch"
	// TypeBatchesOff is a batch sent to an API that has no export store to keep its items in.
	TypeBatchesOff = "/problems/batches-off"
	// TypeEventsOff is an HR event sent to an API that has no event secret configured.
	TypeEventsOff = "/problems/events-off"
)

// problemsPrefix starts every problem type: the path of the problem pages.
const problemsPrefix = "/problems/"

// unavailableRetryAfter is the Retry-After of a 503, in seconds: Temporal is usually back
// within seconds of a frontend restart.
const unavailableRetryAfter = 5 * time.Second

// problemPage documents one problem type: what GET /problems/{type} answers.
type problemPage struct {
	Type   string
	Title  string
	Status int
	// Meaning says when the API answers it; Remedy what the caller does about it.
	Meaning, Remedy string
}

// problemPages documents every problem type.
var problemPages = []problemPage{
	{TypeInvalidRequest, "Invalid request", http.StatusBadRequest,
		"The request is malformed or breaks a rule: a bad user ID, an unknown field, a value outside the policy, a page token the API did not sign. Nothing was started or changed.",
		"Fix what detail and errors name (each entry of errors is a field and how to fix it) and send the request again."},
	{TypeUnauthorized, "Unauthorized", http.StatusUnauthorized,
		"The bearer token is missing or not valid, or a decision link's credential is malformed, untrusted, tampered with or expired. Failures count against the client address.",
		"Send Authorization: Bearer <token> with a configured token, or ask for a new credential."},
	{TypeForbidden, "Forbidden", http.StatusForbidden,
		"The token is valid but its role may not do this (detail names the roles that may), or a browser origin the operators did not allow asked to call the codec server.",
		"Use a token bound to a role that may, or ask someone who holds one."},
	{TypeNotFound, "Not found", http.StatusNotFound,
		"There is no offboarding of this user, or no such route.",
		"Check the user ID; list offboardings with GET /v1/offboardings; see /openapi.yaml for the routes."},
	{TypeConflict, "Conflict", http.StatusConflict,
		"Another offboarding of this user is in flight, or the offboarding has finished and takes no more decisions.",
		"Wait for the running offboarding to finish or cancel it; a redelivery of the same hrEventId is answered with the existing run."},
	{TypeRejected, "Update rejected", http.StatusConflict,
		"The offboarding refused the decision: detail gives its reason (a decision it already counted, a stage that takes none, retention outside the policy, ...).",
		"Read the offboarding's status and decide again if the reason allows it."},
	{TypeMethod, "Method not allowed", http.StatusMethodNotAllowed,
		"The route exists but not with this method; the Allow header lists the methods it takes.",
		"Use a method the Allow header lists."},
	{TypeUnavailable, "Temporal unavailable", http.StatusServiceUnavailable,
		"Temporal, where offboardings run, did not answer in time. Nothing is known to have changed.",
		"Retry after the seconds Retry-After gives; a start or decision sent again is counted once."},
	{TypeInternal, "Internal error", http.StatusInternalServerError,
		"The API failed unexpectedly; its log has the cause.",
		"Retry later; if it persists, give the operators the time and the instance of the problem."},
	{TypeUnsupportedMediaType, "Unsupported media type", http.StatusUnsupportedMediaType,
		"The body is not declared as application/json in UTF-8 (POST /v1/events: not application/cloudevents+json, nor binary-mode ce-* headers with application/json data).",
		"Send Content-Type: application/json (with charset utf-8 or none); an HR event as detail says."},
	{TypeTooManyRequests, "Too many requests", http.StatusTooManyRequests,
		"A rate limit is spent: failed authentications from this client address, or starts by this token's identity.",
		"Wait the seconds Retry-After gives before trying again."},
	{TypeNoSigningKey, "No signing key", http.StatusServiceUnavailable,
		"The service has no decision signing key, so it cannot sign the credentials that prove who starts or decides.",
		"Operators configure the key (OFFBOARD_DECISION_SIGNING_KEY_FILE, from `starter keys generate`); from the operator CLI, start offboardings through the HR API."},
	{TypeUnknownPerson, "Unknown person", http.StatusUnprocessableEntity,
		"No active or inactive Genesys Cloud user has the email or employee ID the request names (deleted users never match). Nothing was started.",
		"Check the email or employee ID against Genesys Cloud, or send the Genesys user ID instead."},
	{TypeAmbiguousPerson, "Ambiguous person", http.StatusUnprocessableEntity,
		"Several Genesys Cloud users share the email or employee ID the request names (a rehire often keeps the earlier account); detail says how many. Nothing was started.",
		"Send the Genesys user ID of the one to offboard instead."},
	{TypeResolutionUnavailable, "Resolution unavailable", http.StatusServiceUnavailable,
		"The workers, which hold the Genesys Cloud credentials, did not resolve the email or employee ID in time, the Genesys users search had not caught up, or the workers' OAuth client may not search users (detail names the permission to grant). Nothing was started.",
		"Retry after the seconds Retry-After gives."},
	{TypeEventSignature, "Bad event signature", http.StatusUnauthorized,
		"The HR event lacks the Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature), no signature matches a configured secret, or its timestamp is outside the replay window (5 minutes either way by default), so an old capture cannot be replayed. Nothing was started; failures count against the client address.",
		"Sign each delivery afresh with a current secret: webhook-signature: v1,<base64 HMAC-SHA256 of webhook-id.webhook-timestamp.body>, webhook-timestamp the Unix time of sending; check the sender's clock."},
	{TypeUnknownEventType, "Unknown event type", http.StatusUnprocessableEntity,
		"The HR event is a valid, signed CloudEvent, but of a type this API does not act on (it takes com.offboard.employee.terminated). Nothing was started, and resending it will not change that.",
		"Do not retry: stop sending this type to this endpoint, or send it as com.offboard.employee.terminated if that is what it means."},
	{TypeEventsOff, "Events off", http.StatusServiceUnavailable,
		"This HR API has no event secret configured (OFFBOARD_EVENT_SECRETS or OFFBOARD_EVENT_SECRETS_FILE), so it can verify no HR event and takes none. Nothing was started.",
		"Operators configure the secret the HR system signs with; a sender that retries delivers its events once they have."},
	{TypeInvalidBatch, "Invalid batch", http.StatusUnprocessableEntity,
		"Items of the batch are invalid: each entry of items gives its line (the CSV line, the header being line 1, or the JSON item's index plus one), the field and what is wrong, a person named twice included. Nothing was stored or started.",
		"Fix every item that items names and send the whole batch again (with the same Idempotency-Key, if you sent one)."},
	{TypeBatchesOff, "Batches off", http.StatusServiceUnavailable,
		"This HR API has no export store (OFFBOARD_EXPORT_URL), where a batch's items are kept for its workflow, so it takes no batch. Nothing was stored or started.",
		"Operators set OFFBOARD_EXPORT_URL for `starter serve` to the workers' export store; single starts work meanwhile."},
}

// problemPageOf is the page of the problem type typ.
func problemPageOf(typ string) (problemPage, bool) {
	for _, p := range problemPages {
		if p.Type == typ {
			return p, true
		}
	}
	return problemPage{}, false
}

// Error renders the problem as one line: title, detail and field errors, and the internal
// cause where there is one (for the operator CLI, which reaches Temporal itself).
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Title)
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	if p.cause != nil {
		fmt.Fprintf(&b, " (%v)", p.cause)
	}
	for _, f := range p.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
	}
	for _, it := range p.Items {
		fmt.Fprintf(&b, "\n  line %d: %s", it.Line, strings.TrimPrefix(it.Field+": "+it.Message, ": "))
	}
	return b.String()
}

// Unwrap is the internal cause of the problem, if any.
func (p *Problem) Unwrap() error { return p.cause }

// newProblem is a problem of type typ, titled and coded by its page.
func newProblem(typ, detail string) *Problem {
	page, _ := problemPageOf(typ)
	return &Problem{Type: typ, Title: page.Title, Status: page.Status, Detail: detail}
}

func invalid(detail string, fields ...workflows.FieldError) *Problem {
	p := newProblem(TypeInvalidRequest, detail)
	p.Errors = fields
	return p
}

func notFound(detail string) *Problem { return newProblem(TypeNotFound, detail) }

func conflict(detail string) *Problem { return newProblem(TypeConflict, detail) }

// internal is a 500 met while doing what; only the server log shows its cause.
func internal(what string, cause error) *Problem {
	p := newProblem(TypeInternal, "could not "+what+": an unexpected error, whose cause the server log holds")
	p.cause = cause
	return p
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Instance == "" && r != nil {
		p.Instance = RedactPath(r.URL.Path)
	}
	if p.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(int(unavailableRetryAfter/time.Second)))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// problemTemplate renders a problem page.
var problemTemplate = template.Must(template.New("problem").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} ({{.Status}})</title></head>
<body><h1>{{.Title}}</h1>
<p>HTTP status {{.Status}}; problem type <code>{{.Type}}</code>.</p>
<h2>What it means</h2><p>{{.Meaning}}</p>
<h2>What to do</h2><p>{{.Remedy}}</p>
<p>The problem's <code>detail</code> says what happened in this occurrence. See <a href="/openapi.yaml">/openapi.yaml</a> for the API.</p>
</body></html>
`))

// problemType serves the page of a problem type, which problem details name as their type.
func (s *server) problemType(w http.ResponseWriter, r *http.Request, _ Principal) {
	page, ok := problemPageOf(problemsPrefix + r.PathValue("type"))
	if !ok {
		writeProblem(w, r, notFound("no such problem type"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = problemTemplate.Execute(w, page)
}
