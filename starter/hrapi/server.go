// Package hrapi is Offboard's HR HTTP API: HR systems start offboardings, approvers decide, and
// auditors read. JSON in and out; errors are RFC 9457 problem details. openapi.yaml documents it.
package hrapi

import (
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/felixge/httpsnoop"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/webhook"
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
	// Signer signs the decision credentials the API issues. New refuses to start without one,
	// or with one whose public key the policy's decisionKeys do not hold (the workers would
	// refuse every credential it signs).
	Signer *credential.Signer
	// Development allows a policy of unsigned decisions (the devstack's, never production's).
	Development bool
	// Logger receives one line per request (never tokens or bodies); nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PageTokenKey is the HMAC key that signs list page tokens, at least MinPageTokenKeyLen
	// bytes. Nil derives it from the Signer's key, so that replicas signing with one key accept
	// each other's page tokens.
	PageTokenKey []byte
	// AuthFailureLimit limits failed authentications per client address; once it is spent,
	// every authenticated route answers 429 to that address, whatever token it sends. Zero
	// means DefaultAuthFailureLimit.
	AuthFailureLimit RateLimit
	// StartLimit limits starts per token identity; zero means DefaultStartLimit.
	StartLimit RateLimit
	// EventSecrets verify the Standard Webhooks signatures of HR events (POST /v1/events), all
	// at once so that a secret can rotate. None makes that route answer 503: no events taken.
	EventSecrets []webhook.Secret
	// EventTolerance is the events' replay window either way of now; zero means
	// webhook.DefaultTolerance.
	EventTolerance time.Duration
	// Codec is the payload codec of the Temporal client's data converter (config.DataConverter):
	// memos are read through it, and the codec server at /codec serves it to auditor tokens.
	// Nil means payloads in clear (tests of the API alone) and no codec server.
	Codec converter.PayloadCodec
	// CodecOrigin is the Temporal Web UI's origin, the one browser origin the codec server
	// allows (CORS); empty allows none (the temporal CLI needs none).
	CodecOrigin string
	// Store is the export store (config.EnvExportURL), the workers', where POST /v1/batches
	// keeps a batch's items; nil answers every batch 503.
	Store *bundle.Store
	// TrustForwardedFor makes the failed-authentication limit count against the last
	// X-Forwarded-For address instead of the connection's. Set it only when every request
	// comes through one proxy that appends that header; otherwise a client could pick its
	// own address.
	TrustForwardedFor bool
}

type server struct {
	svc          *Service
	tokens       []tokenHash
	log          *slog.Logger
	mux          *http.ServeMux
	authFailures *limiters
	starts       *limiters
	forwardedFor bool
	// events verifies HR events; nil when no secret is configured.
	events *webhook.Verifier
	codec  *codecGate
}

type tokenHash struct {
	sum [32]byte
	tok config.Token
}

// Principal is who a request acts as: the role and identity its bearer token is bound to.
type Principal struct {
	Role     config.Role
	Identity string
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
	if err := checkSigner(opts); err != nil {
		return nil, err
	}
	pages, err := newPageTokens(pageTokenKey(opts))
	if err != nil {
		return nil, err
	}
	gate, err := newCodecGate(opts)
	if err != nil {
		return nil, err
	}
	svc := &Service{Client: opts.Temporal, Policy: opts.Policy, Signer: opts.Signer, Now: opts.Now, Store: opts.Store, pages: pages}
	if opts.Codec != nil {
		svc.DataConverter = config.DataConverter(opts.Codec)
	}
	s := &server{svc: svc, log: opts.Logger, mux: http.NewServeMux(), codec: gate,
		authFailures: newLimiters(opts.AuthFailureLimit, DefaultAuthFailureLimit),
		starts:       newLimiters(opts.StartLimit, DefaultStartLimit),
		forwardedFor: opts.TrustForwardedFor,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, t := range opts.Tokens {
		s.tokens = append(s.tokens, tokenHash{sum: sha256.Sum256([]byte(t.Secret())), tok: t})
	}
	if s.events, err = eventVerifier(opts, s.svc.now); err != nil {
		return nil, err
	}
	s.register()
	return s, nil
}

// ServeHTTP routes the request and logs it. Unknown paths and methods get problem details too.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := httpsnoop.CaptureMetrics(http.HandlerFunc(s.route), w, r)
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method), slog.String("path", RedactPath(r.URL.Path)),
		slog.Int("status", m.Code), slog.Duration("took", m.Duration))
}

func (s *server) route(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// Let the mux decide between 404 and 405 (and its Allow header), then rewrite the body.
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, r)
	if allow := rec.Header().Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if rec.Code == http.StatusMethodNotAllowed {
		writeProblem(w, r, newProblem(TypeMethod, r.Method+" is not allowed here; allowed: "+rec.Header().Get("Allow")))
		return
	}
	writeProblem(w, r, notFound("no such route; see /openapi.yaml"))
}

// auth authenticates the bearer token and checks its role. A client address that has failed
// too often is refused before its token is looked at.
func (s *server) auth(roles []config.Role, next func(w http.ResponseWriter, r *http.Request, who Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		addr := clientAddress(r, s.forwardedFor)
		if s.authLimited(w, r, addr) {
			return
		}
		found, challenge, why := s.authenticate(r)
		if found == nil {
			s.authFailures.take(addr, s.svc.now())
			w.Header().Set("WWW-Authenticate", challenge)
			writeProblem(w, r, newProblem(TypeUnauthorized, why))
			return
		}
		if !slices.Contains(roles, found.Role) {
			writeProblem(w, r, newProblem(TypeForbidden, fmt.Sprintf("role %q may not do this; it needs %s", found.Role, roleList(roles))))
			return
		}
		next(w, r, Principal{Role: found.Role, Identity: found.Identity})
	}
}

// authLimited answers 429 when addr has spent its failed authentications.
func (s *server) authLimited(w http.ResponseWriter, r *http.Request, addr string) bool {
	wait := s.authFailures.wait(addr, s.svc.now())
	if wait > 0 {
		tooMany(w, r, wait, "too many failed authentications from this address")
	}
	return wait > 0
}

// eventVerifier verifies HR events with the configured secrets, or is nil without any. A token
// bound to EventRequester is refused: its holder would pass for the HR system's events.
func eventVerifier(opts Options, now func() time.Time) (*webhook.Verifier, error) {
	if len(opts.EventSecrets) == 0 {
		return nil, nil
	}
	for _, t := range opts.Tokens {
		if t.Identity == EventRequester {
			return nil, fmt.Errorf("hrapi: a token (%s) is bound to %q, the identity of HR events: bind it to another identity", t, EventRequester)
		}
	}
	v, err := webhook.NewVerifier(opts.EventSecrets, opts.EventTolerance, now)
	if err != nil {
		return nil, fmt.Errorf("hrapi: %s: %w", config.EnvEventTolerance, err)
	}
	return v, nil
}

// authenticate finds the request's bearer token, or answers the challenge and why it failed.
// Every configured token is compared in constant time, so the time taken says nothing about
// which prefix matched.
func (s *server) authenticate(r *http.Request) (found *config.Token, challenge, why string) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, `Bearer realm="offboard"`, "send Authorization: Bearer <token>"
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	for i := range s.tokens {
		if subtle.ConstantTimeCompare(sum[:], s.tokens[i].sum[:]) == 1 {
			found = &s.tokens[i].tok
		}
	}
	if found == nil {
		return nil, `Bearer realm="offboard", error="invalid_token"`, "the bearer token is not valid"
	}
	return found, "", ""
}

// decisionsPrefix starts the path of a decision link, whose last segment is a credential.
const decisionsPrefix = "/v1/decisions/"

// RedactPath is path as logs and problem details may show it: a link's credential is a bearer
// secret until it expires.
func RedactPath(path string) string {
	if strings.HasPrefix(path, decisionsPrefix) {
		return decisionsPrefix + "{credential}"
	}
	return path
}

// pageTokenKey is the configured page token key, else one derived from the signing key.
func pageTokenKey(opts Options) []byte {
	if opts.PageTokenKey != nil || opts.Signer == nil {
		return opts.PageTokenKey
	}
	key, err := opts.Signer.DeriveKey("offboard hrapi page tokens", MinPageTokenKeyLen)
	if err != nil {
		panic(fmt.Sprintf("HKDF-SHA256 derives %d bytes: %v", MinPageTokenKeyLen, err))
	}
	return key
}

// DecisionLink is the path of the link that takes a credential's decision.
func DecisionLink(credential string) string { return decisionsPrefix + credential }

// checkSigner refuses a configuration whose credentials the workers would refuse.
func checkSigner(opts Options) error {
	if err := opts.Policy.CheckDecisionTrust(opts.Development); err != nil {
		return fmt.Errorf("hrapi: %w", err)
	}
	if opts.Signer == nil {
		return fmt.Errorf("hrapi: no decision signing key: set %s (generate one with `starter keys generate`)", config.EnvDecisionSigningKeyFile)
	}
	if !slices.Contains(opts.Policy.DecisionKeys, credential.EncodePublicKey(opts.Signer.PublicKey())) {
		return fmt.Errorf("hrapi: the signing key %s is not in %s, so the workers would refuse every credential it signs: add %s to it",
			opts.Signer.KeyID(), workflows.EnvDecisionKeys, credential.EncodePublicKey(opts.Signer.PublicKey()))
	}
	return nil
}

func roleList(roles []config.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// fail answers err as a problem. An error that is not a problem is a 500 whose detail says
// nothing of it; the log keeps every cause.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p, ok := err.(*Problem)
	if !ok {
		p = internal("complete the request", err)
	}
	if p.Status >= 500 || p.cause != nil {
		level := slog.LevelWarn
		if p.Status >= 500 {
			level = slog.LevelError
		}
		attrs := []any{"path", RedactPath(r.URL.Path), "status", p.Status, "detail", p.Detail}
		if p.cause != nil {
			attrs = append(attrs, "cause", p.cause.Error())
		}
		s.log.Log(r.Context(), level, "request failed", attrs...)
	}
	writeProblem(w, r, p)
}
