package credential

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"

	"filippo.io/edwards25519"
)

// EncodePublicKey writes pub as the policy and the config hold it: base64url, no padding, of
// its 32 bytes.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.RawURLEncoding.EncodeToString(pub)
}

// ParsePublicKey reads an Ed25519 public key written by EncodePublicKey, as standard base64, or
// as a PEM "PUBLIC KEY" (PKIX, as `openssl pkey -pubout` writes). It refuses keys that are not
// points of the curve or have small order, under which forged signatures verify. Errors never
// include the input.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	var raw []byte
	if strings.HasPrefix(s, "-----BEGIN") {
		pub, err := fromPEM[ed25519.PublicKey](s, "PUBLIC KEY", x509.ParsePKIXPublicKey)
		if err != nil {
			return nil, err
		}
		raw = pub
	} else if raw = decodeBase64(s); len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("public key: want base64url or base64 of 32 bytes, or a PEM PUBLIC KEY")
	}
	if !isStrongPoint(raw) {
		return nil, errors.New("public key: not a usable Ed25519 key (not on the curve, or of small order)")
	}
	return ed25519.PublicKey(raw), nil
}

func isStrongPoint(raw []byte) bool {
	p, err := new(edwards25519.Point).SetBytes(raw)
	if err != nil {
		return false
	}
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 0
}

// KeyID is the RFC 7638 JWK thumbprint of pub: base64url SHA-256 of
// {"crv":"Ed25519","kty":"OKP","x":"..."}.
func KeyID(pub ed25519.PublicKey) string {
	jwk := `{"crv":"Ed25519","kty":"OKP","x":"` + EncodePublicKey(pub) + `"}`
	sum := sha256.Sum256([]byte(jwk))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ParsePrivateKey reads an Ed25519 private key: PEM PKCS#8 (`openssl genpkey -algorithm
// ed25519`), or base64 (standard or url, padded or not) of the 32-byte seed. Errors never
// include key material.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "-----BEGIN") {
		return fromPEM[ed25519.PrivateKey](s, "PRIVATE KEY", x509.ParsePKCS8PrivateKey)
	}
	seed := decodeBase64(s)
	if len(seed) != ed25519.SeedSize {
		return nil, errors.New("private key: want a PEM PRIVATE KEY (PKCS#8) or base64 of a 32-byte seed")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// EncodePrivateKey writes key as PEM PKCS#8, or nil if key is not a well-formed Ed25519 key.
func EncodePrivateKey(key ed25519.PrivateKey) []byte {
	if len(key) != ed25519.PrivateKeySize {
		return nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// GenerateKey makes a new private key from the system's randomness.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	return key, err
}

// fromPEM parses s, which must be exactly one PEM block of type kind holding an Ed25519 key K.
func fromPEM[K ed25519.PublicKey | ed25519.PrivateKey](s, kind string, parse func([]byte) (any, error)) (K, error) {
	what := strings.ToLower(kind)
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != kind || strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New(what + ": want exactly one PEM block of type " + kind)
	}
	key, err := parse(block.Bytes)
	k, ok := key.(K)
	if err != nil || !ok {
		return nil, errors.New(what + ": the PEM block does not hold an Ed25519 " + what)
	}
	return k, nil
}

// decodeBase64 decodes s as base64url or standard base64, padded or not, or returns nil.
func decodeBase64(s string) []byte {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}
