package hrapi

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/offboard/offboard/internal/config"
)

func bearer(secret string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + secret}
}

func Test_GivenTooManyFailedAuthentications_ShouldAnswer429BeforeCheckingTheToken(t *testing.T) {
	h, _, clock := newTestAPI(t, nil)
	const attacker, other = "198.51.100.7:40000", "203.0.113.9:40000"
	for i := range DefaultAuthFailureLimit.Burst {
		header := bearer("guess-" + strconv.Itoa(i))
		if i == 0 {
			header = nil
		}
		require.Equal(t, 401, sendFrom(h, attacker, "GET", "/v1/offboardings", "", header).code, "failure %d", i)
	}
	a := sendFrom(h, attacker, "GET", "/v1/offboardings", "", bearer(auditorSecret))
	require.Equal(t, 429, a.code, "even the right token waits: %s", a.body)
	assert.Equal(t, TypeTooManyRequests, problemOf(t, a).Type)
	assert.Equal(t, "6", a.header.Get("Retry-After"), "10 a minute: one more after 6 s")
	assert.Equal(t, 429, sendFrom(h, attacker, "POST", "/v1/offboardings", startJSON(uid, "e"), asHR()).code)
	assert.Equal(t, 200, sendFrom(h, other, "GET", "/v1/offboardings", "", bearer(auditorSecret)).code, "another address is not limited")
	assert.Equal(t, 200, sendFrom(h, attacker, "GET", "/healthz", "", nil).code, "public routes are not limited")

	clock.Add(6 * time.Second)
	assert.Equal(t, 200, sendFrom(h, attacker, "GET", "/v1/offboardings", "", bearer(auditorSecret)).code)
	assert.Equal(t, 200, sendFrom(h, attacker, "GET", "/v1/offboardings", "", bearer(auditorSecret)).code, "a success spends nothing")
	assert.Equal(t, 401, sendFrom(h, attacker, "GET", "/v1/offboardings", "", bearer("guess")).code)
	assert.Equal(t, 429, sendFrom(h, attacker, "GET", "/v1/offboardings", "", bearer(auditorSecret)).code)
}

func Test_GivenClientAddresses_ShouldCountIPv6By64AndTrustForwardedForOnlyWhenAsked(t *testing.T) {
	one := RateLimit{Rate: rate.Every(time.Minute), Burst: 1}
	h, _, _ := newTestAPI(t, func(o *Options) { o.AuthFailureLimit = one })
	fwd := func(addr string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + auditorSecret, "X-Forwarded-For": addr}
	}
	require.Equal(t, 401, sendFrom(h, "[2001:db8:1:2::1]:5000", "GET", "/v1/offboardings", "", bearer("guess")).code)
	assert.Equal(t, 429, sendFrom(h, "[2001:db8:1:2:ffff::9]:5000", "GET", "/v1/offboardings", "", bearer(auditorSecret)).code, "the same /64")
	assert.Equal(t, 200, sendFrom(h, "[2001:db8:1:3::1]:5000", "GET", "/v1/offboardings", "", bearer(auditorSecret)).code, "another /64")

	require.Equal(t, 401, sendFrom(h, "10.0.0.1:1", "GET", "/v1/offboardings", "", map[string]string{"X-Forwarded-For": "192.0.2.50"}).code)
	assert.Equal(t, 429, sendFrom(h, "10.0.0.1:1", "GET", "/v1/offboardings", "", fwd("192.0.2.51")).code, "X-Forwarded-For is not trusted by default")

	behindProxy, _, _ := newTestAPI(t, func(o *Options) { o.AuthFailureLimit = one; o.TrustForwardedFor = true })
	require.Equal(t, 401, sendFrom(behindProxy, "10.0.0.1:1", "GET", "/v1/offboardings", "", map[string]string{"X-Forwarded-For": "6.6.6.6, 192.0.2.50"}).code)
	assert.Equal(t, 429, sendFrom(behindProxy, "10.0.0.1:1", "GET", "/v1/offboardings", "", fwd("192.0.2.50")).code, "the proxy's entry counts")
	assert.Equal(t, 200, sendFrom(behindProxy, "10.0.0.1:1", "GET", "/v1/offboardings", "", fwd("192.0.2.51")).code, "another client behind the proxy")
	assert.Equal(t, 200, sendFrom(behindProxy, "10.0.0.1:1", "GET", "/v1/offboardings", "", fwd("192.0.2.51, 6.6.6.6")).code, "a client's own entries do not count")
}

func Test_GivenTooManyStartsByOneIdentity_ShouldAnswer429ForThatIdentityOnly(t *testing.T) {
	h, temporal, clock := newTestAPI(t, func(o *Options) {
		o.StartLimit = RateLimit{Rate: rate.Every(time.Minute), Burst: 2}
		o.Tokens = append(o.Tokens, config.NewToken("bamboo-token-0123456789", config.RoleHR, "bamboo"))
	})
	for i := range 2 {
		require.Equal(t, 202, send(h, "POST", "/v1/offboardings", startJSON(uid, "e"+strconv.Itoa(i)), asHR()).code)
	}
	a := send(h, "POST", "/v1/offboardings", startJSON(uid, "e2"), asHR())
	require.Equal(t, 429, a.code, a.body)
	assert.Equal(t, "60", a.header.Get("Retry-After"))
	assert.Contains(t, problemOf(t, a).Detail, `"workday"`)
	assert.Equal(t, 2, temporal.count("ExecuteWorkflow"))
	assert.Equal(t, 429, send(h, "POST", "/v1/offboardings", "{}", asHR()).code, "the limit comes before the body")

	bamboo := map[string]string{"Authorization": "Bearer bamboo-token-0123456789", "Content-Type": "application/json"}
	assert.Equal(t, 202, send(h, "POST", "/v1/offboardings", startJSON(uid, "b1"), bamboo).code)
	assert.Equal(t, 200, send(h, "GET", "/v1/offboardings", "", bearer(auditorSecret)).code, "reads are not starts")
	clock.Add(time.Minute)
	assert.Equal(t, 202, send(h, "POST", "/v1/offboardings", startJSON(uid, "e3"), asHR()).code)
}

func Test_GivenMoreClientsThanTheLimitersHold_ShouldForgetFullBucketsFirst(t *testing.T) {
	l := newLimiters(RateLimit{Rate: rate.Every(time.Minute), Burst: 1}, DefaultStartLimit)
	for i := range maxLimited {
		require.Zero(t, l.take(strconv.Itoa(i), now))
	}
	assert.Positive(t, l.take("0", now), "a spent bucket is remembered")
	require.Zero(t, l.take("new", now))
	assert.Len(t, l.byKey, maxLimited, "no more than the bound, even when no bucket is full")

	later := now.Add(time.Minute)
	require.Zero(t, l.take("newer", later))
	assert.Len(t, l.byKey, 1, "every bucket filled up again: all are forgotten")
	assert.Positive(t, l.take("newer", later))

	off := newLimiters(RateLimit{Rate: rate.Inf}, DefaultStartLimit)
	for range 1000 {
		require.Zero(t, off.take("x", now))
	}
	assert.Empty(t, off.byKey)
}
