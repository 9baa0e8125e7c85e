package credential

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// KeySet is the set of trusted public keys, by key ID. The zero KeySet trusts no key. It is
// read-only, so safe for concurrent use.
type KeySet struct {
	keys map[string]ed25519.PublicKey
	ids  []string
}

// NewKeySet trusts keys, in order. It skips repeats and keys that are not usable Ed25519 keys;
// ParseKeySet reports those instead.
func NewKeySet(keys ...ed25519.PublicKey) KeySet {
	k := KeySet{keys: map[string]ed25519.PublicKey{}}
	for _, pub := range keys {
		if len(pub) == ed25519.PublicKeySize && isStrongPoint(pub) {
			k.add(pub)
		}
	}
	return k
}

// add trusts pub and reports whether it was new.
func (k *KeySet) add(pub ed25519.PublicKey) bool {
	id := KeyID(pub)
	if _, ok := k.keys[id]; ok {
		return false
	}
	k.keys[id] = append(ed25519.PublicKey(nil), pub...)
	k.ids = append(k.ids, id)
	return true
}

// ParseKeySet parses public keys as the policy holds them (EncodePublicKey's form, or any form
// ParsePublicKey reads); repeated and malformed keys are errors naming the position (from 1).
func ParseKeySet(encoded []string) (KeySet, error) {
	k := KeySet{keys: map[string]ed25519.PublicKey{}}
	var errs []error
	for i, s := range encoded {
		pub, err := ParsePublicKey(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("decision key %d: %w", i+1, err))
		case !k.add(pub):
			errs = append(errs, fmt.Errorf("decision key %d (ID %s) repeats an earlier key", i+1, KeyID(pub)))
		}
	}
	if len(errs) > 0 {
		return KeySet{}, errors.Join(errs...)
	}
	return k, nil
}

// IDs returns the key IDs, in the order the keys were given.
func (k KeySet) IDs() []string { return append([]string(nil), k.ids...) }

// Len is the number of keys.
func (k KeySet) Len() int { return len(k.ids) }

// headerNames are the only JOSE header parameters a credential may have.
var headerNames = map[string]bool{"alg": true, "typ": true, "kid": true}

// parser checks alg, decodes base64 strictly and leaves the claims to check.
var parser = jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
	jwt.WithStrictDecoding(), jwt.WithoutClaimsValidation())

// Verify checks token at time now and returns its claims: length <= MaxLen, three parts, alg
// EdDSA only (never "none", never HMAC), kid known, signature, exp present and now < exp, iat
// present and iat <= now+Leeway, exp-iat <= MaxTTL, every claim well-formed, identity already
// normalised, no unknown or repeated claim names. It reads no clock and no randomness, so
// workflows may call it. The error is an *Error.
func (k KeySet) Verify(token string, now time.Time) (Claims, error) {
	c, err := k.verify(token, now)
	if err != nil {
		return Claims{}, err
	}
	return c, nil
}

func (k KeySet) verify(token string, now time.Time) (Claims, *Error) {
	if len(token) > MaxLen {
		return Claims{}, refusal(ReasonMalformed, "it is %d bytes long, over the limit of %d", len(token), MaxLen)
	}
	var p payload
	parsed, err := parser.ParseWithClaims(token, &p, k.key)
	if err != nil {
		return Claims{}, classify(parsed, err)
	}
	c, refused := p.claims()
	if refused == nil {
		refused = check(c)
	}
	switch {
	case refused != nil:
		return Claims{}, refused
	case c.IssuedAt.After(now.Add(Leeway)):
		return Claims{}, refusal(ReasonNotYetValid, "it is issued at %s, later than now (%s) allowing %s of clock skew", stamp(c.IssuedAt), stamp(now), Leeway)
	case !now.Before(c.ExpiresAt):
		return Claims{}, refusal(ReasonExpired, "it expired at %s; ask for a new one", stamp(c.ExpiresAt))
	}
	return c, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// key is the jwt.Keyfunc: it refuses unknown header parameters and unknown key IDs.
func (k KeySet) key(t *jwt.Token) (any, error) {
	for name := range t.Header {
		if !headerNames[name] {
			return nil, refusal(ReasonMalformed, "its header has the unknown parameter %q", clip(name))
		}
	}
	if typ, ok := t.Header["typ"]; ok && typ != "JWT" {
		return nil, refusal(ReasonMalformed, "its header's typ is not JWT")
	}
	kid, ok := t.Header["kid"].(string)
	if !ok {
		return nil, refusal(ReasonUnknownKey, "its header names no key (kid)")
	}
	pub, ok := k.keys[kid]
	if !ok {
		return nil, refusal(ReasonUnknownKey, "it is signed with key %q, which is not among the %d trusted decision keys", clip(kid), k.Len())
	}
	return pub, nil
}

// classify turns a jwt error into an *Error, never repeating the token.
func classify(t *jwt.Token, err error) *Error {
	var refused *Error
	switch {
	case errors.As(err, &refused):
		return refused
	case errors.Is(err, jwt.ErrTokenMalformed):
		return refusal(ReasonMalformed, "it is not a well-formed JWT (three base64url parts: header, claims, signature)")
	case t != nil && t.Method != nil && t.Method != jwt.SigningMethodEdDSA:
		return refusal(ReasonBadSignature, "it is signed with %q; only EdDSA (Ed25519) is accepted", clip(t.Method.Alg()))
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return refusal(ReasonBadSignature, "its signature does not match its content")
	}
	return refusal(ReasonBadSignature, "it does not name EdDSA (Ed25519) as its algorithm")
}
