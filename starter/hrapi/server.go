// Package hrapi is Offboard's HR HTTP API: HR systems start offboardings, approvers decide, and
// auditors read. JSON in and out; errors are RFC 9457 problem details. openapi.yaml documents it.
package hrapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/workflows"
)

// OpenAPI is the OpenAPI 3 document of the API, served at GET /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Options configures New.
type Options struct {
	Temporal client.Client
	Policy   workflows.Policy
	// Tokens are the accepted bearer tokens; New refuses an empty list.
	Tokens []config.Token
	// Logger receives one line per request (never tokens or bodies); nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Route is one method and path the API serves, with the statuses it can answer.
type Route struct {
	Method, Path string
	Statuses     []int
}

type server struct {
	svc    *Service
	tokens []tokenHash
	log    *slog.Logger
	mux    *http.ServeMux
}

type tokenHash struct {
	sum [32]byte
	tok config.Token
}

type principal struct {
	Role     config.Role
	Identity string
}

var (
	readers   = []config.Role{config.RoleHR, config.RoleApprover, config.RoleAuditor}
	hrOnly    = []config.Role{config.RoleHR}
	approvers = []config.Role{config.RoleApprover}
	retainers = []config.Role{config.RoleHR, config.RoleApprover}
)

// Status sets of the routes; TestOpenAPICoversRoutes checks openapi.yaml against them.
var (
	authStatuses    = []int{401, 403, 503, 500}
	startStatuses   = append([]int{200, 202, 400, 409}, authStatuses...)
	readStatuses    = append([]int{200, 400, 404}, authStatuses...)
	listStatuses    = append([]int{200, 400}, authStatuses...)
	updateStatuses  = append([]int{200, 400, 404, 409}, authStatuses...)
	healthStatuses  = []int{200}
	readyStatuses   = []int{200, 503}
	openapiStatuses = []int{200}
)

// Routes lists every route New serves.
func Routes() []Route {
	return []Route{
		{"POST", "/v1/offboardings", startStatuses},
		{"GET", "/v1/offboardings", listStatuses},
		{"GET", "/v1/offboardings/{userId}", readStatuses},
		{"POST", "/v1/offboardings/{userId}/approvals", updateStatuses},
		{"POST", "/v1/offboardings/{userId}/cancel", updateStatuses},
		{"POST", "/v1/offboardings/{userId}/hold", updateStatuses},
		{"POST", "/v1/offboardings/{userId}/release", updateStatuses},
		{"POST", "/v1/offboardings/{userId}/retention", updateStatuses},
		{"GET", "/healthz", healthStatuses},
		{"GET", "/readyz", readyStatuses},
		{"GET", "/openapi.yaml", openapiStatuses},
	}
}

// New builds the API handler.
func New(opts Options) (http.Handler, error) {
	if opts.Temporal == nil {
		return nil, fmt.Errorf("hrapi: no Temporal client")
	}
	if len(opts.Tokens) == 0 {
		return nil, fmt.Errorf("no API tokens configured: set %s or %s", config.EnvAPITokens, config.EnvAPITokensFile)
	}
	if err := opts.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("hrapi: %w", err)
	}
	s := &server{svc: &Service{Client: opts.Temporal, Policy: opts.Policy, Now: opts.Now}, log: opts.Logger, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, t := range opts.Tokens {
		s.tokens = append(s.tokens, tokenHash{sum: sha256.Sum256([]byte(t.Secret())), tok: t})
	}
	m := s.mux
	m.HandleFunc("POST /v1/offboardings", s.auth(hrOnly, s.start))
	m.HandleFunc("GET /v1/offboardings", s.auth(readers, s.list))
	m.HandleFunc("GET /v1/offboardings/{userId}", s.auth(readers, s.status))
	m.HandleFunc("POST /v1/offboardings/{userId}/approvals", s.auth(approvers, s.decide))
	m.HandleFunc("POST /v1/offboardings/{userId}/cancel", s.auth(hrOnly, s.control(workflows.UpdateCancel)))
	m.HandleFunc("POST /v1/offboardings/{userId}/hold", s.auth(hrOnly, s.control(workflows.UpdateHold)))
	m.HandleFunc("POST /v1/offboardings/{userId}/release", s.auth(hrOnly, s.control(workflows.UpdateRelease)))
	m.HandleFunc("POST /v1/offboardings/{userId}/retention", s.auth(retainers, s.retention))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /readyz", s.ready)
	m.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
	})
	return s, nil
}

// ServeHTTP routes the request. Unknown paths and methods get problem details too.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		// Let the mux decide between 404 and 405 (and its Allow header), then rewrite the body.
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, r)
		if allow := rec.Header().Get("Allow"); allow != "" {
			sw.Header().Set("Allow", allow)
		}
		if rec.Code == http.StatusMethodNotAllowed {
			writeProblem(sw, r, &Problem{Type: TypeMethod, Title: "Method not allowed", Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not allowed here; allowed: " + rec.Header().Get("Allow")})
		} else {
			writeProblem(sw, r, notFound("no such route; see /openapi.yaml"))
		}
	} else {
		s.mux.ServeHTTP(sw, r)
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", sw.status), slog.Duration("took", time.Since(start)))
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

type handler func(w http.ResponseWriter, r *http.Request, who principal)

// auth authenticates the bearer token and checks its role. Every configured token is compared
// in constant time, so the time taken says nothing about which prefix matched.
func (s *server) auth(roles []config.Role, next handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="offboard"`)
			writeProblem(w, r, &Problem{Type: TypeUnauthorized, Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: "send Authorization: Bearer <token>"})
			return
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		var found *config.Token
		for i := range s.tokens {
			if subtle.ConstantTimeCompare(sum[:], s.tokens[i].sum[:]) == 1 {
				found = &s.tokens[i].tok
			}
		}
		if found == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="offboard", error="invalid_token"`)
			writeProblem(w, r, &Problem{Type: TypeUnauthorized, Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: "the bearer token is not valid"})
			return
		}
		allowed := false
		for _, role := range roles {
			allowed = allowed || role == found.Role
		}
		if !allowed {
			writeProblem(w, r, &Problem{Type: TypeForbidden, Title: "Forbidden", Status: http.StatusForbidden, Detail: fmt.Sprintf("role %q may not do this; it needs %s", found.Role, roleList(roles))})
			return
		}
		next(w, r, principal{Role: found.Role, Identity: found.Identity})
	}
}

func roleList(roles []config.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p, ok := err.(*Problem)
	if !ok {
		p = &Problem{Type: TypeInternal, Title: "Internal error", Status: http.StatusInternalServerError, Detail: err.Error()}
	}
	if p.Status >= 500 {
		s.log.Error("request failed", "path", r.URL.Path, "error", p.Detail)
	}
	writeProblem(w, r, p)
}

func (s *server) start(w http.ResponseWriter, r *http.Request, who principal) {
	body, err := DecodeOffboardingRequest(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := body.Request(who.Identity, s.svc.now(), s.svc.Policy)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.svc.Start(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/offboardings/"+req.UserID)
	status := http.StatusAccepted
	if res.Existing {
		status = http.StatusOK
	}
	writeJSON(w, status, res)
}

func (s *server) status(w http.ResponseWriter, r *http.Request, _ principal) {
	st, err := s.svc.Status(r.Context(), r.PathValue("userId"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *server) list(w http.ResponseWriter, r *http.Request, _ principal) {
	q := r.URL.Query()
	lq := ListQuery{Stage: q.Get("stage"), Disposition: q.Get("disposition"), PageToken: q.Get("pageToken")}
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, invalid("the list query is invalid", workflows.FieldError{Field: "pageSize", Message: fmt.Sprintf("must be between 1 and %d", MaxPageSize)}))
			return
		}
		lq.PageSize = n
	}
	page, err := s.svc.List(r.Context(), lq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *server) decide(w http.ResponseWriter, r *http.Request, who principal) {
	var body DecisionRequest
	if p := decodeJSON(http.MaxBytesReader(w, r.Body, MaxBodyBytes), &body, false); p != nil {
		s.fail(w, r, p)
		return
	}
	var approve bool
	switch body.Decision {
	case "approve":
		approve = true
	case "reject":
	default:
		s.fail(w, r, invalid("the decision is invalid", workflows.FieldError{Field: "decision", Message: fmt.Sprintf("%q is unknown: use approve or reject", clip(body.Decision))}))
		return
	}
	st, err := s.svc.Decide(r.Context(), r.PathValue("userId"), approve, workflows.DecisionInput{Approver: who.Identity, Comment: body.Comment})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *server) control(update string) handler {
	return func(w http.ResponseWriter, r *http.Request, who principal) {
		var body ControlRequest
		if p := decodeJSON(http.MaxBytesReader(w, r.Body, MaxBodyBytes), &body, true); p != nil {
			s.fail(w, r, p)
			return
		}
		st, err := s.svc.Control(r.Context(), r.PathValue("userId"), update, workflows.ControlInput{By: who.Identity, Reason: body.Reason})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	}
}

func (s *server) retention(w http.ResponseWriter, r *http.Request, who principal) {
	var body RetentionRequest
	if p := decodeJSON(http.MaxBytesReader(w, r.Body, MaxBodyBytes), &body, false); p != nil {
		s.fail(w, r, p)
		return
	}
	until, err := time.Parse(time.RFC3339, body.Until)
	if err != nil {
		s.fail(w, r, invalid("the retention change is invalid", workflows.FieldError{Field: "until", Message: fmt.Sprintf("%q is not an RFC 3339 time such as 2030-01-31T00:00:00Z", clip(body.Until))}))
		return
	}
	in := workflows.RetentionInput{Until: until.UTC(), By: who.Identity, Reason: body.Reason}
	if who.Role == config.RoleApprover {
		in.Approver = who.Identity
	}
	st, err := s.svc.ExtendRetention(r.Context(), r.PathValue("userId"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if _, err := s.svc.Client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		writeProblem(w, r, &Problem{Type: TypeUnavailable, Title: "Temporal unavailable", Status: http.StatusServiceUnavailable, Detail: "the Temporal frontend does not answer its health check"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
