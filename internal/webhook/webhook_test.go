package webhook

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const devSecret = "whsec_b2ZmYm9hcmQtZGV2LXdlYmhvb2stc2VjcmV0LTAx"

var at = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func mustSecret(t *testing.T, text string) Secret {
	t.Helper()
	s, err := ParseSecret(text)
	require.NoError(t, err)
	return s
}

func verifier(t *testing.T, now time.Time, secrets ...Secret) *Verifier {
	t.Helper()
	v, err := NewVerifier(secrets, 0, func() time.Time { return now })
	require.NoError(t, err)
	return v
}

func signed(s Secret, id string, ts time.Time, body []byte) http.Header {
	h := http.Header{}
	Sign(h, s, id, ts, body)
	return h
}

func Test_GivenTheSpecificationsExample_ShouldSignAsItDoes(t *testing.T) {
	s := mustSecret(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	got := Signature(s, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	assert.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", got)
}

func Test_GivenASignedDelivery_ShouldVerifyAndReturnItsID(t *testing.T) {
	s := mustSecret(t, devSecret)
	body := []byte(`{"id":"1"}`)
	id, err := verifier(t, at, s).Verify(signed(s, "evt_1", at, body), body)
	require.NoError(t, err)
	assert.Equal(t, "evt_1", id)
}

func Test_GivenARotatedSecret_ShouldAcceptBothOldAndNew(t *testing.T) {
	old := mustSecret(t, devSecret)
	next := mustSecret(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	v := verifier(t, at, next, old)
	body := []byte(`{}`)
	for _, s := range []Secret{old, next} {
		_, err := v.Verify(signed(s, "evt", at, body), body)
		assert.NoError(t, err)
	}
	h := signed(old, "evt", at, body)
	h.Set(HeaderSignature, Signature(next, "evt", at, body)+" "+h.Get(HeaderSignature))
	_, err := verifier(t, at, old).Verify(h, body)
	assert.NoError(t, err, "a header with several signatures passes when one matches")
}

func Test_GivenATamperedDelivery_ShouldRefuseIt(t *testing.T) {
	s := mustSecret(t, devSecret)
	body := []byte(`{"disposition":"archive"}`)
	cases := map[string]func(h http.Header) []byte{
		"body changed": func(http.Header) []byte { return []byte(`{"disposition":"delete"}`) },
		"id changed":   func(h http.Header) []byte { h.Set(HeaderID, "evt_2"); return body },
		"time changed": func(h http.Header) []byte { h.Set(HeaderTimestamp, fmt.Sprint(at.Unix()+1)); return body },
		"v2 scheme":    func(h http.Header) []byte { h.Set(HeaderSignature, "v2"+h.Get(HeaderSignature)[2:]); return body },
		"other secret": func(h http.Header) []byte {
			h.Set(HeaderSignature, Signature(mustSecret(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "evt_1", at, body))
			return body
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			h := signed(s, "evt_1", at, body)
			b := tamper(h)
			_, err := verifier(t, at, s).Verify(h, b)
			assert.ErrorIs(t, err, ErrBadSignature)
		})
	}
}

func Test_GivenATimestampOutsideTheWindow_ShouldRefuseItEitherWay(t *testing.T) {
	s := mustSecret(t, devSecret)
	body := []byte(`{}`)
	for _, skew := range []time.Duration{-DefaultTolerance - time.Second, DefaultTolerance + time.Second} {
		_, err := verifier(t, at, s).Verify(signed(s, "evt", at.Add(skew), body), body)
		assert.ErrorIs(t, err, ErrExpired, "skew %s", skew)
	}
	for _, skew := range []time.Duration{-DefaultTolerance, DefaultTolerance} {
		_, err := verifier(t, at, s).Verify(signed(s, "evt", at.Add(skew), body), body)
		assert.NoError(t, err, "skew %s is at the edge of the window", skew)
	}
	narrow, err := NewVerifier([]Secret{s}, time.Minute, func() time.Time { return at })
	require.NoError(t, err)
	_, err = narrow.Verify(signed(s, "evt", at.Add(-2*time.Minute), body), body)
	assert.ErrorIs(t, err, ErrExpired)
}

func Test_GivenMissingOrMalformedHeaders_ShouldSayWhichIsWrong(t *testing.T) {
	s := mustSecret(t, devSecret)
	v := verifier(t, at, s)
	for _, name := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
		h := signed(s, "evt", at, nil)
		h.Del(name)
		_, err := v.Verify(h, nil)
		assert.ErrorIs(t, err, ErrUnsigned, name)
	}
	h := signed(s, "evt", at, nil)
	h.Set(HeaderTimestamp, "2026-12-01T12:00:00Z")
	_, err := v.Verify(h, nil)
	assert.ErrorIs(t, err, ErrBadTimestamp)
}

func Test_GivenSecretText_ShouldParseStrictlyAndNeverShowIt(t *testing.T) {
	s := mustSecret(t, devSecret)
	assert.Equal(t, devSecret, s.Text())
	assert.NotContains(t, fmt.Sprint(s), "b2Zm")
	assert.NotContains(t, fmt.Sprintf("%v %+v", s, []Secret{s}), "b2Zm")

	for text, want := range map[string]string{
		"b2ZmYm9hcmQtZGV2LXdlYmhvb2stc2VjcmV0LTAx": "starts with",
		"whsec_not*base64":                         "not valid base64",
		"whsec_c2hvcnQ=":                           "holds 24 to 64 bytes",
	} {
		_, err := ParseSecret(text)
		require.Error(t, err, text)
		assert.Contains(t, err.Error(), want)
		assert.NotContains(t, err.Error(), text)
	}

	list, err := ParseSecrets("# current first\n" + devSecret + ", whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
	require.NoError(t, err)
	assert.Len(t, list, 2)
	_, err = ParseSecrets("# none\n")
	assert.ErrorContains(t, err, "no webhook secret")
	_, err = ParseSecrets(devSecret + ",whsec_c2hvcnQ=")
	assert.ErrorContains(t, err, "secret 2")
}

func Test_GivenNoSecretOrANegativeWindow_ShouldRefuseToBuildAVerifier(t *testing.T) {
	_, err := NewVerifier(nil, 0, nil)
	assert.Error(t, err)
	_, err = NewVerifier([]Secret{mustSecret(t, devSecret)}, -time.Second, nil)
	assert.Error(t, err)
}
