package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apiError is the Genesys error body. The SDK loses the error object unless it is this JSON.
type apiError struct {
	Message           string            `json:"message"`
	MessageWithParams string            `json:"messageWithParams,omitempty"` // Message with {name} placeholders
	MessageParams     map[string]string `json:"messageParams,omitempty"`     // the placeholders' values
	Code              string            `json:"code"`
	Status            int               `json:"status"`
	ContextID         string            `json:"contextId"` // the response's correlation ID
	Details           []any             `json:"details"`   // always empty, but present
	Errors            []any             `json:"errors"`    // always empty, but present
}

// request is one request on its way through the middleware. Every answer goes through its
// methods, which note the status for the call log.
type request struct {
	w        http.ResponseWriter
	r        *http.Request
	status   int
	corrID   string
	clientID string
	client   *client
	user     *userRec // the user a user's token was issued to; nil for client credentials
}

// newRequest starts a request with a fresh correlation ID, which every response carries.
func newRequest(w http.ResponseWriter, r *http.Request) *request {
	q := &request{w: w, r: r, corrID: newUUID()}
	w.Header().Set("ININ-Correlation-Id", q.corrID)
	return q
}

func (q *request) writeHeader(status int) {
	q.status = status
	q.w.WriteHeader(status)
}

// noContent answers 204.
func (q *request) noContent() { q.writeHeader(http.StatusNoContent) }

func (q *request) json(status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		q.fail(http.StatusInternalServerError, "internal.server.error", "The emulator could not render its response: "+err.Error())
		return
	}
	q.w.Header().Set("Content-Type", "application/json")
	q.writeHeader(status)
	_, _ = q.w.Write(body)
}

func (q *request) fail(status int, code, msg string) {
	q.failWith(apiError{Message: msg, Code: code, Status: status})
}

func (q *request) failWith(ae apiError) {
	ae.ContextID = q.corrID
	if ae.Details == nil {
		ae.Details = []any{}
	}
	if ae.Errors == nil {
		ae.Errors = []any{}
	}
	q.json(ae.Status, ae)
}

func (q *request) notFound(what string) {
	q.fail(http.StatusNotFound, "not.found", what+" not found")
}

func (q *request) badRequest(msg string) {
	q.fail(http.StatusBadRequest, "bad.request", msg)
}

func (q *request) invalid(msg string) {
	q.fail(http.StatusBadRequest, "invalid.value", msg)
}

// rejection is a request the emulator answers 400 with code: what parsing a request finds wrong.
type rejection struct{ code, message string }

func (r *rejection) Error() string { return r.message }

// errBadRequest rejects a request that is malformed (code bad.request).
func errBadRequest(msg string) error { return &rejection{"bad.request", msg} }

// errInvalid rejects a request with a value out of range (code invalid.value).
func errInvalid(msg string) error { return &rejection{"invalid.value", msg} }

// reject answers 400 for err, with a rejection's code or bad.request.
func (q *request) reject(err error) {
	var r *rejection
	if errors.As(err, &r) {
		q.fail(http.StatusBadRequest, r.code, r.message)
		return
	}
	q.badRequest(err.Error())
}

// handler serves one Genesys endpoint once authentication and permission checks have passed.
type handler func(q *request)

// need is the permissions an endpoint requires: all of them, or any one when anyOf is set (as
// the API's x-inin-requires-permissions says, type ALL or ANY).
type need struct {
	perms []string
	anyOf bool
}

// route registers a Genesys endpoint that needs a bearer token and every permission in perms.
func (e *Emulator) route(pattern string, h handler, perms ...string) {
	e.routeNeeding(pattern, h, need{perms: perms})
}

// routeAny registers a Genesys endpoint that needs a bearer token and any one of perms.
func (e *Emulator) routeAny(pattern string, h handler, perms ...string) {
	e.routeNeeding(pattern, h, need{perms: perms, anyOf: true})
}

func (e *Emulator) routeNeeding(pattern string, h handler, n need) {
	e.operations = append(e.operations, pattern)
	e.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		e.serveGenesys(w, r, true, n, h)
	})
}

func (e *Emulator) serveGenesys(w http.ResponseWriter, r *http.Request, needAuth bool, n need, h handler) {
	start := e.opts.Now()
	q := newRequest(w, r)
	var body *digestingBody
	if needAuth && r.Body != nil {
		body = &digestingBody{ReadCloser: r.Body, h: sha256.New()}
		r.Body = body
	}
	defer func() {
		e.record(Call{Time: start.UTC(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Status: q.status, ClientID: q.clientID, CorrelationID: q.corrID, BodySHA256: body.digest()})
		e.opts.Logger.Debug("genesys request", "method", r.Method, "path", r.URL.Path,
			"status", q.status, "client", q.clientID, "correlationId", q.corrID)
	}()
	if !needAuth {
		if id, _, ok := r.BasicAuth(); ok {
			q.clientID = id
		}
	}

	if e.injectFault(q) {
		return
	}
	if !needAuth {
		h(q)
		return
	}
	if !e.authenticate(q) || !e.rateLimit(q) || !e.authorize(q, n) {
		return
	}
	h(q)
}

// injectFault applies latency and answers the request itself when a fault fires.
func (e *Emulator) injectFault(q *request) bool {
	e.mu.Lock()
	f := &e.faults
	latency := f.Latency
	var status int
	retryAfter := max(f.RetryAfter, 1)
	switch {
	case f.RateLimitBurst > 0:
		f.RateLimitBurst--
		status = http.StatusTooManyRequests
	case f.Burst5xx > 0:
		f.Burst5xx--
		status = http.StatusServiceUnavailable
	case f.ErrorRate > 0 && e.rng.Float64() < f.ErrorRate:
		status = http.StatusInternalServerError
		if e.rng.IntN(2) == 0 {
			status = http.StatusServiceUnavailable
		}
	}
	e.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-q.r.Context().Done():
			t.Stop()
		}
	}
	switch status {
	case 0:
		return false
	case http.StatusTooManyRequests:
		q.tooMany(retryAfter)
	case http.StatusServiceUnavailable:
		q.fail(status, "service.unavailable", "Service is currently unavailable (injected fault)")
	default:
		q.fail(status, "internal.server.error", "The server encountered an internal error (injected fault)")
	}
	return true
}

func (q *request) tooMany(seconds int) {
	q.w.Header().Set("Retry-After", strconv.Itoa(seconds))
	q.failWith(apiError{
		Status:            http.StatusTooManyRequests,
		Code:              "too.many.requests.retry.after",
		Message:           fmt.Sprintf("Rate limit exceeded the maximum. Retry the request in [%d] seconds", seconds),
		MessageWithParams: "Rate limit exceeded the maximum. Retry the request in [{0}] seconds",
		MessageParams:     map[string]string{"0": strconv.Itoa(seconds)},
	})
}

// authenticate checks the bearer token and fills in the client, and for a user's token the user:
// a user who is no longer active has no valid token.
func (e *Emulator) authenticate(q *request) bool {
	h := q.r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "bearer") || tok == "" {
		q.fail(http.StatusUnauthorized, "authentication.required", "No authentication bearer token specified in authorization header.")
		return false
	}
	e.mu.Lock()
	t, ok := e.tokens[tok]
	var c *client
	var u *userRec
	switch {
	case !ok || !e.opts.Now().Before(t.expires):
	case t.userID == "":
		c = e.clients[t.clientID]
	default:
		if i, found := e.userIdx[t.userID]; found && e.users[i].state == "active" {
			c, u = userLogin, e.users[i]
		}
	}
	e.mu.Unlock()
	if c == nil {
		q.fail(http.StatusUnauthorized, "bad.credentials", "Invalid login credentials.")
		return false
	}
	q.client, q.clientID, q.user = c, c.id, u
	return true
}

// window is one client's fixed rate-limit window (Options.RateLimitWindow, a minute by default).
type window struct {
	start time.Time
	count int
}

func (e *Emulator) rateLimit(q *request) bool {
	now := e.opts.Now()
	e.mu.Lock()
	limit := e.opts.RequestsPerMinute
	if e.faults.RequestsPerMinute != 0 {
		limit = e.faults.RequestsPerMinute
	}
	if limit < 0 {
		e.mu.Unlock()
		return true
	}
	length := e.opts.RateLimitWindow
	limit = max(1, int(int64(limit)*int64(length)/int64(time.Minute)))
	w := e.limits[q.clientID]
	if w == nil || !now.Before(w.start.Add(length)) {
		w = &window{start: now}
		e.limits[q.clientID] = w
	}
	reset := int(math.Ceil(w.start.Add(length).Sub(now).Seconds()))
	reset = max(reset, 1)
	over := w.count >= limit
	if !over {
		w.count++
	}
	count := w.count
	e.mu.Unlock()
	if over {
		q.tooMany(reset)
		return false
	}
	hd := q.w.Header()
	hd.Set("inin-ratelimit-count", strconv.Itoa(count))
	hd.Set("inin-ratelimit-allowed", strconv.Itoa(limit))
	hd.Set("inin-ratelimit-reset", strconv.Itoa(reset))
	return true
}

// authorize checks the permissions of the token's client, or of its user for a user's token.
func (e *Emulator) authorize(q *request, n need) bool {
	e.mu.Lock()
	roleIDs := q.client.roleIDs
	if q.user != nil {
		roleIDs = q.user.roleIDs()
	}
	var missing []string
	for _, p := range n.perms {
		if !e.rolesHaveLocked(roleIDs, p) {
			missing = append(missing, p)
		}
	}
	e.mu.Unlock()
	if len(missing) == 0 || (n.anyOf && len(missing) < len(n.perms)) {
		return true
	}
	list := strings.Join(missing, ", ")
	q.failWith(apiError{
		Status:            http.StatusForbidden,
		Code:              "missing.permissions",
		Message:           "Unable to perform the requested action. You are missing the following permission(s): [" + list + "]",
		MessageWithParams: "Unable to perform the requested action. You are missing the following permission(s): [{permissions}]",
		MessageParams:     map[string]string{"permissions": list},
	})
	return false
}

// handleToken serves POST /oauth/token (client credentials with HTTP Basic authentication).
func (e *Emulator) handleToken(q *request) {
	authErr := func(status int, code, desc string) {
		q.json(status, map[string]string{"error": code, "description": desc, "error_description": desc})
	}
	if err := q.r.ParseForm(); err != nil {
		authErr(http.StatusBadRequest, "invalid_request", "the form body could not be parsed")
		return
	}
	if gt := q.r.PostForm.Get("grant_type"); gt != "client_credentials" {
		authErr(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	}
	id, secret, ok := q.r.BasicAuth()
	e.mu.Lock()
	c := e.clients[id]
	if !ok || c == nil || c.secret != secret {
		e.mu.Unlock()
		authErr(http.StatusUnauthorized, "invalid_client", "client not found or bad client secret")
		return
	}
	ttl := e.tokenTTLLocked()
	tok := newToken()
	e.tokens[tok] = &token{clientID: id, expires: e.opts.Now().Add(ttl)}
	e.mu.Unlock()
	q.json(http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "bearer",
		"expires_in":   int(ttl / time.Second),
	})
}

// token is an issued access token: of an OAuth client, or of a user (userID set).
type token struct {
	clientID string
	userID   string
	expires  time.Time
}

func newToken() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// ts renders a time the way Genesys does: UTC, milliseconds, literal Z.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Call is one request to a Genesys path, as the call log records it. Tokens are never recorded.
type Call struct {
	Time          time.Time `json:"time"`
	Method        string    `json:"method"`
	Path          string    `json:"path"`
	Query         string    `json:"query,omitempty"`
	Status        int       `json:"status"`
	ClientID      string    `json:"clientId,omitempty"`
	CorrelationID string    `json:"correlationId"`
	// BodySHA256 is the digest of the request body as the handler read it, empty without one, so
	// that two calls to a path whose target is in the body (queue members) can be told apart.
	// Login requests, whose body may hold a secret, get none.
	BodySHA256 string `json:"bodySha256,omitempty"`
}

// digestingBody hashes a request body as it is read.
type digestingBody struct {
	io.ReadCloser
	h hash.Hash
	n int
}

func (b *digestingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.h.Write(p[:n])
	b.n += n
	return n, err
}

// digest is the hex SHA-256 of what was read, empty when nothing was.
func (b *digestingBody) digest() string {
	if b == nil || b.n == 0 {
		return ""
	}
	return hex.EncodeToString(b.h.Sum(nil))
}

// DefaultCallLog is how many calls the call log keeps by default (Options.CallLog).
const DefaultCallLog = 10000

func (e *Emulator) record(c Call) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.calls) < e.opts.CallLog {
		e.calls = append(e.calls, c)
		return
	}
	e.calls[e.callNext] = c
	e.callNext = (e.callNext + 1) % e.opts.CallLog
}

// Calls returns the call log of Genesys requests, oldest first (at most the last Options.CallLog).
func (e *Emulator) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Call, 0, len(e.calls))
	out = append(out, e.calls[e.callNext:]...)
	return append(out, e.calls[:e.callNext]...)
}

// Operations lists the Genesys Platform API operations the emulator serves, as "METHOD /path"
// patterns with the path parameters named as in Genesys's OpenAPI document (login aside).
func (e *Emulator) Operations() []string { return slices.Clone(e.operations) }
