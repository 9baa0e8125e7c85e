package hrapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/internal/config"
)

// codecPrefix is the path under which the API serves the codec server; the Temporal Web UI's
// codec endpoint and the temporal CLI's --codec-endpoint are the API's URL plus this prefix.
const codecPrefix = "/codec"

// codecReaders may decode payloads: the auditors, who read everything and change nothing. HR
// systems and approvers see the status, never the raw payloads.
var codecReaders = []config.Role{config.RoleAuditor}

// codecWriters may encode payloads, as the Web UI does with the input of a signal or an update it
// sends: every role, since encrypting under the current key reveals nothing.
var codecWriters = readers

// codecGate is the codec server behind the API's authentication.
type codecGate struct {
	// payloads is internal/codec's server, nil when the API has no codec.
	payloads http.Handler
	// origin is the one browser origin allowed; empty allows none.
	origin string
}

// newCodecGate builds the codec server over opts.Codec. It accepts the API's tokens; the route
// table's roles decide who may decode and who may only encode.
func newCodecGate(opts Options) (*codecGate, error) {
	g := &codecGate{origin: strings.TrimSuffix(opts.CodecOrigin, "/")}
	if opts.Codec == nil {
		return g, nil
	}
	secrets := make([]string, len(opts.Tokens))
	for i, t := range opts.Tokens {
		secrets[i] = t.Secret()
	}
	payloads, err := codec.NewServer(opts.Codec, codec.ServerOptions{AllowedOrigin: g.origin, Tokens: secrets})
	if err != nil {
		return nil, fmt.Errorf("hrapi: %w", err)
	}
	g.payloads = payloads
	return g, nil
}

// codecOff answers a codec route of an API without a codec (tests of the API alone).
const codecOff = "the codec server is off: this API has no payload codec"

// codecPayloads serves POST /codec/encode and /codec/decode: the codec server's answer, with its
// refusals turned into problem details.
func (s *server) codecPayloads(w http.ResponseWriter, r *http.Request, who Principal) {
	if s.codec.payloads == nil {
		writeProblem(w, r, notFound(codecOff))
		return
	}
	rec := httptest.NewRecorder()
	s.codec.payloads.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		if k != "Content-Type" && k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	if rec.Code != http.StatusOK {
		detail := strings.TrimSpace(strings.SplitN(rec.Body.String(), "\n", 2)[0])
		writeProblem(w, r, invalid("the body is not a JSON object of payloads the keyring reads: "+detail))
		return
	}
	s.log.Info("codec", "path", r.URL.Path, "identity", who.Identity)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(rec.Body.Bytes())
}

// codecPreflight answers a browser's CORS preflight of the codec server: allowed for the
// configured origin (OFFBOARD_CODEC_ORIGIN) only, without a token, as browsers send none.
func (s *server) codecPreflight(w http.ResponseWriter, r *http.Request, _ Principal) {
	origin := r.Header.Get("Origin")
	switch {
	case s.codec.payloads == nil:
		writeProblem(w, r, notFound(codecOff))
	case s.codec.origin == "" || origin != s.codec.origin:
		w.Header().Add("Vary", "Origin")
		writeProblem(w, r, newProblem(TypeForbidden, fmt.Sprintf("origin %q may not call the codec server; the operators allow the Temporal Web UI's origin with %s", clipOrigin(origin), config.EnvCodecOrigin)))
	default:
		s.codec.payloads.ServeHTTP(w, r)
	}
}

// clipOrigin bounds an origin header before it goes into a problem.
func clipOrigin(origin string) string {
	const maxLen = 100
	if len(origin) > maxLen {
		return origin[:maxLen] + "…"
	}
	return origin
}
