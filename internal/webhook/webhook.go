// Package webhook signs and verifies HTTP deliveries the Standard Webhooks way
// (https://www.standardwebhooks.com): headers webhook-id, webhook-timestamp and
// webhook-signature ("v1,<base64 HMAC-SHA256 of id.timestamp.body>"), on the specification's
// own Go library. It adds what that library leaves to its caller: several secrets at once for
// rotation, a configurable replay window, an injectable clock and errors that never show a secret.
package webhook

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Header names of a signed delivery.
const (
	HeaderID        = standardwebhooks.HeaderWebhookID
	HeaderTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderSignature = standardwebhooks.HeaderWebhookSignature
)

// DefaultTolerance is how far a delivery's timestamp may be from now, either way.
const DefaultTolerance = 5 * time.Minute

// secretPrefix marks a secret in the specification's text form.
const secretPrefix = "whsec_"

// Secret lengths the specification allows, in bytes.
const (
	minSecretBytes = 24
	maxSecretBytes = 64
)

// Why a delivery is refused. Verify wraps one of them; none of them shows a secret.
var (
	ErrUnsigned     = errors.New("the delivery lacks the webhook-id, webhook-timestamp or webhook-signature header")
	ErrBadTimestamp = errors.New("webhook-timestamp is not a Unix time in seconds")
	ErrExpired      = errors.New("webhook-timestamp is outside the replay window")
	ErrBadSignature = errors.New("no webhook-signature matches a configured secret")
)

// Secret is one signing secret. Its String hides the value.
type Secret struct {
	key []byte
}

// String hides the secret, so that printing one by mistake leaks nothing.
func (Secret) String() string { return "whsec_[redacted]" }

// Text is the secret in the specification's form, whsec_<base64>; only for handing it to a
// receiver, never for logs.
func (s Secret) Text() string { return secretPrefix + base64.StdEncoding.EncodeToString(s.key) }

// ParseSecret reads a secret as whsec_<base64 of 24 to 64 bytes>.
func ParseSecret(text string) (Secret, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(text), secretPrefix)
	if !ok {
		return Secret{}, fmt.Errorf("a webhook secret starts with %q followed by base64", secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return Secret{}, fmt.Errorf("a webhook secret is %q followed by standard base64, and this one is not valid base64", secretPrefix)
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return Secret{}, fmt.Errorf("a webhook secret holds %d to %d bytes, and this one holds %d; generate one with: openssl rand -base64 32", minSecretBytes, maxSecretBytes, len(key))
	}
	return Secret{key: key}, nil
}

// ParseSecrets reads one or more secrets separated by commas, spaces or new lines; lines
// starting with # are comments. The first signs; all verify, so that a secret can rotate.
func ParseSecrets(text string) ([]Secret, error) {
	var out []Secret
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, field := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
			s, err := ParseSecret(field)
			if err != nil {
				return nil, fmt.Errorf("secret %d: %w", len(out)+1, err)
			}
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no webhook secret given")
	}
	return out, nil
}

// Signature is the webhook-signature value of body delivered as id at ts under secret.
func Signature(secret Secret, id string, ts time.Time, body []byte) string {
	wh, _ := standardwebhooks.NewWebhookRaw(secret.key) // never fails
	sig, _ := wh.Sign(id, ts, body)                     // never fails
	return sig
}

// Sign sets the three signature headers on h for body delivered as id at ts.
func Sign(h http.Header, secret Secret, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Signature(secret, id, ts, body))
}

// Verifier checks signed deliveries against several secrets.
type Verifier struct {
	secrets   []Secret
	tolerance time.Duration
	now       func() time.Time
}

// NewVerifier verifies with secrets, accepting timestamps within tolerance of now either way
// (zero means DefaultTolerance); now nil means time.Now.
func NewVerifier(secrets []Secret, tolerance time.Duration, now func() time.Time) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("a webhook verifier needs at least one secret")
	}
	if tolerance < 0 {
		return nil, errors.New("the webhook replay window cannot be negative")
	}
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	if now == nil {
		now = time.Now
	}
	return &Verifier{secrets: secrets, tolerance: tolerance, now: now}, nil
}

// Verify checks h's signature of body and returns the delivery's webhook-id. The timestamp is
// checked before any signature, so a capture replayed after the window fails as ErrExpired.
func (v *Verifier) Verify(h http.Header, body []byte) (string, error) {
	id, ts, sig := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sig == "" {
		return "", ErrUnsigned
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", ErrBadTimestamp
	}
	if d := v.now().Sub(time.Unix(secs, 0)); d > v.tolerance || d < -v.tolerance {
		return "", fmt.Errorf("%w of %s", ErrExpired, v.tolerance)
	}
	for _, s := range v.secrets {
		wh, _ := standardwebhooks.NewWebhookRaw(s.key)
		if wh.VerifyIgnoringTimestamp(body, h) == nil {
			return id, nil
		}
	}
	return "", ErrBadSignature
}
