package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"
)

// DefaultMaxRequestBytes bounds a codec server request body.
const DefaultMaxRequestBytes = 16 << 20

// ServerOptions configure NewServer.
type ServerOptions struct {
	// AllowedOrigin is the Temporal Web UI's origin (scheme://host[:port]) that browsers may call
	// the server from; empty allows no browser origin (the temporal CLI needs none).
	AllowedOrigin string
	// Tokens are the bearer tokens accepted in the Authorization header; at least one. With
	// the UI's codec.passAccessToken option (TEMPORAL_CODEC_PASS_ACCESS_TOKEN) on, the UI
	// forwards its signed-in user's Authorization header, so that token must be one of these;
	// otherwise the UI sends none and only CLI callers (temporal --codec-auth "Bearer ...") pass.
	Tokens []string
	// MaxRequestBytes bounds a request body; zero means DefaultMaxRequestBytes.
	MaxRequestBytes int64
}

// corsAllowHeaders are the request headers the UI sends to a codec server.
const corsAllowHeaders = "Authorization, Content-Type, X-Namespace"

type codecServer struct {
	payloads http.Handler
	origin   string
	digests  [][sha256.Size]byte
	maxBytes int64
}

// NewServer returns the codec server: POST /encode and POST /decode (under any path prefix,
// as converter.NewPayloadCodecHTTPHandler serves them) for callers bearing one of opts.Tokens,
// with CORS for opts.AllowedOrigin. Preflight requests are answered without a token, as
// browsers send none with them. It fails when no token, or an empty one, is configured.
func NewServer(codec converter.PayloadCodec, opts ServerOptions) (http.Handler, error) {
	if codec == nil {
		return nil, errors.New("codec server: no codec")
	}
	if len(opts.Tokens) == 0 {
		return nil, errors.New("codec server: no bearer token configured")
	}
	s := &codecServer{
		payloads: converter.NewPayloadCodecHTTPHandler(codec),
		origin:   strings.TrimSuffix(opts.AllowedOrigin, "/"),
		maxBytes: opts.MaxRequestBytes,
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxRequestBytes
	}
	for _, token := range opts.Tokens {
		if strings.TrimSpace(token) == "" {
			return nil, errors.New("codec server: an empty bearer token is configured")
		}
		s.digests = append(s.digests, sha256.Sum256([]byte(token)))
	}
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *codecServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	allowed := s.allowCORS(w, r)
	if r.Method == http.MethodOptions {
		if !allowed {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !s.authorised(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="offboard-codec"`)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBytes)
	s.payloads.ServeHTTP(w, r)
}

// allowCORS sets the CORS response headers when the request comes from the allowed origin, and
// says whether it did.
func (s *codecServer) allowCORS(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if s.origin == "" || origin != s.origin {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	// The UI's "include cross-origin credentials" option sends cookies; allowing them for one
	// named origin is safe, and a token is still required.
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Max-Age", "600")
	return true
}

// authorised compares the bearer token with every configured one in constant time, through
// their digests so that lengths leak nothing either.
func (s *codecServer) authorised(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	match := 0
	for _, want := range s.digests {
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return match == 1
}
