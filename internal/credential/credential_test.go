package credential_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/internal/credential"
)

var issuedAt = time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)

func signer(t testing.TB) *credential.Signer {
	s, err := credential.NewSigner(rfcKey(t), "offboard-hrapi")
	require.NoError(t, err)
	return s
}

func approval() credential.Claims {
	return credential.Claims{
		Identity: "alice", Role: credential.RoleApprover, WorkflowID: "offboard-u-123", RunID: "run-1",
		Action: credential.ActionApprove, Comment: "seen the leaver's handover", IssuedAt: issuedAt,
		ExpiresAt: issuedAt.Add(credential.DefaultTTL),
	}
}

func trusted(t testing.TB) credential.KeySet {
	return credential.NewKeySet(rfcKey(t).Public().(ed25519.PublicKey))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// claimsOf is the JSON payload Issue writes for approval(), as a map to edit.
func claimsOf() map[string]any {
	return map[string]any{
		"iss": "offboard-hrapi", "sub": "alice", "role": "approver", "aud": "offboard-u-123", "run": "run-1",
		"act": "approve", "jti": "id-1", "iat": issuedAt.Unix(), "exp": issuedAt.Add(credential.DefaultTTL).Unix(),
	}
}

// signRaw signs any header and payload text with key, bypassing Issue's checks.
func signRaw(key ed25519.PrivateKey, header, payload string) string {
	input := b64(header) + "." + b64(payload)
	return input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(input)))
}

func rfcHeader() string { return `{"alg":"EdDSA","kid":"` + rfcThumbprint + `","typ":"JWT"}` }

func signClaims(t testing.TB, edit func(map[string]any)) string {
	c := claimsOf()
	edit(c)
	body, err := json.Marshal(c)
	require.NoError(t, err)
	return signRaw(rfcKey(t), rfcHeader(), string(body))
}

func reasonOf(t *testing.T, err error) string {
	t.Helper()
	var refused *credential.Error
	require.True(t, errors.As(err, &refused), "the error is a *credential.Error: %v", err)
	return refused.Reason
}

func Test_GivenAnIssuedCredential_ShouldVerifyToTheSameClaims(t *testing.T) {
	s := signer(t)
	for _, c := range []credential.Claims{approval(), func() credential.Claims {
		c := approval()
		c.Role, c.Action, c.Comment = credential.RoleHR, credential.ActionRetention, ""
		c.Until = time.Date(2027, 3, 1, 0, 0, 0, 5, time.FixedZone("CET", 3600))
		return c
	}()} {
		token, err := s.Issue(c)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(token), credential.MaxLen)
		got, err := trusted(t).Verify(token, issuedAt.Add(time.Minute))
		require.NoError(t, err)
		assert.Len(t, got.ID, 22, "128 random bits, base64url")
		c.ID, c.Issuer, c.Until = got.ID, "offboard-hrapi", c.Until.UTC()
		if c.Until.IsZero() {
			c.Until = time.Time{}
		}
		assert.Equal(t, c, got)

		again, err := trusted(t).Verify(token, issuedAt.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, got, again, "Verify is deterministic")
	}
}

func Test_GivenClaimsWithoutIDOrTimes_ShouldFillThem(t *testing.T) {
	c := approval()
	c.IssuedAt, c.ExpiresAt = time.Time{}, time.Time{}
	before := time.Now().Add(-time.Second)
	first, err := signer(t).Issue(c)
	require.NoError(t, err)
	second, err := signer(t).Issue(c)
	require.NoError(t, err)
	a, err := trusted(t).Verify(first, time.Now())
	require.NoError(t, err)
	b, err := trusted(t).Verify(second, time.Now())
	require.NoError(t, err)
	assert.NotEqual(t, a.ID, b.ID, "each credential gets its own ID")
	assert.True(t, a.IssuedAt.After(before))
	assert.Equal(t, credential.DefaultTTL, a.ExpiresAt.Sub(a.IssuedAt))

	header, _, _ := strings.Cut(first, ".")
	raw, err := base64.RawURLEncoding.DecodeString(header)
	require.NoError(t, err)
	assert.JSONEq(t, rfcHeader(), string(raw), "the header names the key")
}

func Test_GivenClaimsVerifyWouldRefuse_ShouldNotIssueThem(t *testing.T) {
	cases := map[string]func(*credential.Claims){
		"identity not normalised":    func(c *credential.Claims) { c.Identity = "Alice" },
		"identity with a zero-width": func(c *credential.Claims) { c.Identity = "alice\u200b" },
		"empty identity":             func(c *credential.Claims) { c.Identity = "" },
		"unknown role":               func(c *credential.Claims) { c.Role = "auditor" },
		"unknown action":             func(c *credential.Claims) { c.Action = "delete" },
		"empty workflow ID":          func(c *credential.Claims) { c.WorkflowID = "" },
		"empty run ID":               func(c *credential.Claims) { c.RunID = "" },
		"control character":          func(c *credential.Claims) { c.Comment = "ok\x1b[2J" },
		"expiry before issue":        func(c *credential.Claims) { c.ExpiresAt = c.IssuedAt },
		"lifetime too long":          func(c *credential.Claims) { c.ExpiresAt = c.IssuedAt.Add(credential.MaxTTL + time.Second) },
		"until on approve":           func(c *credential.Claims) { c.Until = issuedAt.AddDate(0, 1, 0) },
		"retention without until":    func(c *credential.Claims) { c.Action = credential.ActionRetention },
		"another issuer":             func(c *credential.Claims) { c.Issuer = "someone-else" },
		"over MaxLen":                func(c *credential.Claims) { c.Comment = strings.Repeat("x", credential.MaxLen) },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			c := approval()
			edit(&c)
			token, err := signer(t).Issue(c)
			require.Error(t, err)
			assert.Empty(t, token)
			reasonOf(t, err)
		})
	}
	c := approval()
	c.ExpiresAt = c.IssuedAt.Add(credential.MaxTTL)
	_, err := signer(t).Issue(c)
	assert.NoError(t, err, "exactly MaxTTL is allowed")
}

func Test_GivenBadSignerSettings_ShouldRefuseToBuildOne(t *testing.T) {
	_, err := credential.NewSigner(rfcKey(t), "")
	assert.Error(t, err)
	_, err = credential.NewSigner(rfcKey(t)[:32], "x")
	assert.Error(t, err)
	mismatched := append(ed25519.PrivateKey(nil), rfcKey(t)...)
	mismatched[40] ^= 1
	_, err = credential.NewSigner(mismatched, "x")
	assert.Error(t, err, "a public half that does not match the seed")
}

func Test_GivenForgedOrDamagedCredentials_ShouldRefuseEachWithItsReason(t *testing.T) {
	valid, err := signer(t).Issue(approval())
	require.NoError(t, err)
	parts := strings.Split(valid, ".")
	other, err := credential.GenerateKey()
	require.NoError(t, err)
	pubBytes := []byte(rfcKey(t).Public().(ed25519.PublicKey))
	hs256 := func() string {
		input := b64(`{"alg":"HS256","kid":"`+rfcThumbprint+`","typ":"JWT"}`) + "." + parts[1]
		mac := hmac.New(sha256.New, pubBytes)
		mac.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}()
	// Another base64url character in the middle of the signature: flipping bits could make one
	// outside the alphabet ('-' ^ 3 is '.'), which is malformed rather than a bad signature.
	flipped := []byte(parts[2])
	flipped[10] = 'A'
	if parts[2][10] == 'A' {
		flipped[10] = 'B'
	}
	tamperedBody, _ := json.Marshal(maps.Collect(func(yield func(string, any) bool) {
		for k, v := range claimsOf() {
			if k == "sub" {
				v = "mallory"
			}
			yield(k, v)
		}
	}))
	now := issuedAt.Add(time.Minute)

	cases := []struct {
		name, token, reason string
	}{
		{"alg none", b64(`{"alg":"none","kid":"`+rfcThumbprint+`","typ":"JWT"}`) + "." + parts[1] + ".", credential.ReasonBadSignature},
		{"HS256 keyed with the public key", hs256, credential.ReasonBadSignature},
		{"unknown alg", signRaw(rfcKey(t), `{"alg":"Ed448","kid":"`+rfcThumbprint+`"}`, string(mustJSON(t, claimsOf()))), credential.ReasonBadSignature},
		{"signed by an unknown key", mustIssue(t, other, approval()), credential.ReasonUnknownKey},
		{"no kid", signRaw(rfcKey(t), `{"alg":"EdDSA","typ":"JWT"}`, string(mustJSON(t, claimsOf()))), credential.ReasonUnknownKey},
		{"kid of another key", signRaw(other, rfcHeader(), string(mustJSON(t, claimsOf()))), credential.ReasonBadSignature},
		{"tampered payload", parts[0] + "." + b64(string(tamperedBody)) + "." + parts[2], credential.ReasonBadSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + string(flipped), credential.ReasonBadSignature},
		{"signature dropped", parts[0] + "." + parts[1] + ".", credential.ReasonBadSignature},
		{"unknown header parameter", signRaw(rfcKey(t), `{"alg":"EdDSA","kid":"`+rfcThumbprint+`","jku":"https://evil"}`, string(mustJSON(t, claimsOf()))), credential.ReasonMalformed},
		{"typ not JWT", signRaw(rfcKey(t), `{"alg":"EdDSA","kid":"`+rfcThumbprint+`","typ":"JWE"}`, string(mustJSON(t, claimsOf()))), credential.ReasonMalformed},
		{"two parts", parts[0] + "." + parts[1], credential.ReasonMalformed},
		{"four parts", valid + ".x", credential.ReasonMalformed},
		{"padded base64", parts[0] + "." + parts[1] + "=." + parts[2], credential.ReasonMalformed},
		{"not base64", "a.b!.c", credential.ReasonMalformed},
		{"empty", "", credential.ReasonMalformed},
		{"oversize", valid + strings.Repeat("A", credential.MaxLen), credential.ReasonMalformed},
		{"payload not an object", signRaw(rfcKey(t), rfcHeader(), `["sub"]`), credential.ReasonMalformed},
		{"trailing data after the payload", signRaw(rfcKey(t), rfcHeader(), string(mustJSON(t, claimsOf()))+` {}`), credential.ReasonMalformed},
		{"repeated claim", signRaw(rfcKey(t), rfcHeader(), strings.Replace(string(mustJSON(t, claimsOf())), `{`, `{"sub":"mallory",`, 1)), credential.ReasonMalformed},
		{"claim name in another case", signRaw(rfcKey(t), rfcHeader(), strings.Replace(string(mustJSON(t, claimsOf())), `"sub"`, `"SUB"`, 1)), credential.ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := trusted(t).Verify(c.token, now)
			require.Error(t, err)
			assert.Zero(t, got)
			assert.Equal(t, c.reason, reasonOf(t, err), err.Error())
			assertShowsNoCredential(t, err, c.token)
		})
	}
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func mustIssue(t testing.TB, key ed25519.PrivateKey, c credential.Claims) string {
	s, err := credential.NewSigner(key, "offboard-hrapi")
	require.NoError(t, err)
	token, err := s.Issue(c)
	require.NoError(t, err)
	return token
}

func assertShowsNoCredential(t *testing.T, err error, token string) {
	t.Helper()
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 12 {
			assert.NotContains(t, err.Error(), part[:12], "an error never repeats the credential")
		}
	}
}

func Test_GivenValidlySignedButIllFormedClaims_ShouldRefuseThem(t *testing.T) {
	now := issuedAt.Add(time.Minute)
	set := func(name string, v any) func(map[string]any) { return func(c map[string]any) { c[name] = v } }
	drop := func(name string) func(map[string]any) { return func(c map[string]any) { delete(c, name) } }
	cases := map[string]func(map[string]any){
		"unknown claim":                 set("admin", true),
		"nbf is not a credential claim": set("nbf", issuedAt.Unix()),
		"identity not normalised":       set("sub", "Alice"),
		"identity mixing scripts":       set("sub", "\u0430lice"),
		"unknown role":                  set("role", "auditor"),
		"unknown action":                set("act", "delete"),
		"until on approve":              set("until", "2027-01-01T00:00:00Z"),
		"retention without until":       set("act", "extendRetention"),
		"until not RFC 3339":            func(c map[string]any) { c["act"], c["until"] = "extendRetention", "1 March" },
		"until not UTC":                 func(c map[string]any) { c["act"], c["until"] = "extendRetention", "2027-01-01T00:00:00+01:00" },
		"two audiences":                 set("aud", []string{"offboard-u-123", "offboard-u-456"}),
		"audience of wrong type":        set("aud", 7),
		"iat with a fraction":           set("iat", float64(issuedAt.Unix())+0.5),
		"exp as a string":               set("exp", "tomorrow"),
		"exp before iat":                set("exp", issuedAt.Unix()-1),
		"control character in comment":  set("comment", "line\nbreak"),
		"missing iss":                   drop("iss"),
		"missing exp":                   drop("exp"),
		"missing iat":                   drop("iat"),
		"missing sub":                   drop("sub"),
		"missing aud":                   drop("aud"),
		"missing run":                   drop("run"),
		"missing act":                   drop("act"),
		"missing role":                  drop("role"),
		"missing jti":                   drop("jti"),
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			token := signClaims(t, edit)
			_, err := trusted(t).Verify(token, now)
			require.Error(t, err)
			assert.Equal(t, credential.ReasonMalformed, reasonOf(t, err), err.Error())
			assertShowsNoCredential(t, err, token)
		})
	}

	_, err := trusted(t).Verify(signClaims(t, set("aud", []string{"offboard-u-123"})), now)
	assert.NoError(t, err, "a one-element audience array is the same audience")
	_, err = trusted(t).Verify(signClaims(t, func(c map[string]any) { c["act"], c["until"] = "extendRetention", "2027-01-01T00:00:00+00:00" }), now)
	assert.NoError(t, err)
}

func Test_GivenTheClock_ShouldHonourExpiryLeewayAndLifetime(t *testing.T) {
	token, err := signer(t).Issue(approval())
	require.NoError(t, err)
	exp := issuedAt.Add(credential.DefaultTTL)
	cases := []struct {
		name   string
		token  string
		now    time.Time
		reason string
	}{
		{"at issue", token, issuedAt, ""},
		{"issued within the leeway ahead", token, issuedAt.Add(-credential.Leeway), ""},
		{"issued beyond the leeway ahead", token, issuedAt.Add(-credential.Leeway - time.Second), credential.ReasonNotYetValid},
		{"just before expiry", token, exp.Add(-time.Nanosecond), ""},
		{"at expiry", token, exp, credential.ReasonExpired},
		{"long after", token, exp.Add(30 * 24 * time.Hour), credential.ReasonExpired},
		{"lifetime over MaxTTL", signClaims(t, func(c map[string]any) {
			c["exp"] = issuedAt.Add(credential.MaxTTL + time.Second).Unix()
		}), issuedAt, credential.ReasonTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := trusted(t).Verify(c.token, c.now)
			if c.reason == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, c.reason, reasonOf(t, err), err.Error())
		})
	}
}

func Test_GivenTheActionList_ShouldHoldEveryActionOnce(t *testing.T) {
	assert.Equal(t, []credential.Action{"approve", "reject", "cancel", "hold", "release", "extendRetention"}, credential.Actions())
	assert.Equal(t, "credential expired: gone", (&credential.Error{Reason: credential.ReasonExpired, Detail: "gone"}).Error())
}

func Test_GivenStartCredentials_ShouldBindARequestAndNoRun(t *testing.T) {
	s := signer(t)
	base := credential.Claims{Identity: "workday", Role: credential.RoleHR, Action: credential.ActionStart, WorkflowID: "offboard-u-123",
		IssuedAt: issuedAt, ExpiresAt: issuedAt.Add(time.Minute)}
	withRequest := base
	withRequest.Request = "digest"
	tok, err := s.Issue(withRequest)
	require.NoError(t, err)
	c, err := trusted(t).Verify(tok, issuedAt)
	require.NoError(t, err)
	assert.Equal(t, "digest", c.Request)
	assert.Empty(t, c.RunID)

	_, err = s.Issue(base)
	require.ErrorContains(t, err, "request digest (req) is missing")
	both := withRequest
	both.RunID = "run-1"
	_, err = s.Issue(both)
	require.ErrorContains(t, err, "no run")
	decision := both
	decision.Action, decision.Role = credential.ActionApprove, credential.RoleApprover
	_, err = s.Issue(decision)
	require.ErrorContains(t, err, "no request")
}
