package credential

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signer issues credentials with one private key. It is safe for concurrent use.
type Signer struct {
	key    ed25519.PrivateKey
	issuer string
	keyID  string
}

// NewSigner returns a Signer that signs with key and names issuer in every credential.
func NewSigner(key ed25519.PrivateKey, issuer string) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize || !bytes.Equal(ed25519.NewKeyFromSeed(key.Seed()), key) {
		return nil, errors.New("signing key: not a well-formed Ed25519 private key")
	}
	if issuer == "" || !isText(issuer) {
		return nil, errors.New("signer: the issuer must be non-empty text, e.g. offboard-hrapi")
	}
	pub := key.Public().(ed25519.PublicKey)
	if !isStrongPoint(pub) {
		return nil, errors.New("signing key: its public key is of small order")
	}
	return &Signer{key: key, issuer: issuer, keyID: KeyID(pub)}, nil
}

// KeyID is the ID of the Signer's key (see KeyID), which every credential's header names.
func (s *Signer) KeyID() string { return s.keyID }

// PublicKey is the key that verifies the Signer's credentials.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Issue signs c. It fills ID when empty, Issuer with the Signer's, IssuedAt with now and
// ExpiresAt with IssuedAt+DefaultTTL when they are zero, and keeps times to whole seconds. It
// refuses claims that Verify would refuse (bad identity, unknown action or role, empty
// WorkflowID/RunID, ExpiresAt not after IssuedAt, TTL > MaxTTL, Until set on another action or
// missing on extendRetention, a credential longer than MaxLen); the error is an *Error.
func (s *Signer) Issue(c Claims) (string, error) {
	switch c.Issuer {
	case "":
		c.Issuer = s.issuer
	case s.issuer:
	default:
		return "", refusal(ReasonMalformed, "its issuer is not this signer's")
	}
	if c.ID == "" {
		c.ID = newID()
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.IssuedAt.Add(DefaultTTL)
	}
	c.IssuedAt, c.ExpiresAt = time.Unix(c.IssuedAt.Unix(), 0), time.Unix(c.ExpiresAt.Unix(), 0)
	if err := check(c); err != nil {
		return "", err
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, toPayload(c))
	tok.Header["kid"] = s.keyID
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return "", refusal(ReasonMalformed, "it could not be signed")
	}
	if len(signed) > MaxLen {
		return "", refusal(ReasonMalformed, "it is %d bytes long, over the limit of %d: shorten the comment", len(signed), MaxLen)
	}
	return signed, nil
}

// DeriveKey derives an n-byte key for purpose from the signing key with HKDF-SHA256, so that
// every process holding the signing key derives the same key and no other does.
func (s *Signer) DeriveKey(purpose string, n int) ([]byte, error) {
	return hkdf.Key(sha256.New, s.key.Seed(), nil, purpose, n)
}

// newID returns 128 random bits, base64url.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand aborts the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}
