package emulator_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenTheRateLimitSpent_ShouldAnswer429WithRetryAfter(t *testing.T) {
	e := newEnv(t, emulator.Options{RequestsPerMinute: 3})
	tokens := platformclientv2.NewTokensApiWithConfig(e.dev())
	for range 3 {
		_, resp, err := tokens.GetTokensMe(false)
		ok(t, resp, err)
	}
	e.clock.Add(20 * time.Second)
	_, resp, err := tokens.GetTokensMe(false)
	wantStatus(t, resp, err, 429, "too.many.requests.retry.after")
	if ra := http.Header(http.Header(resp.Header)).Get("Retry-After"); ra != "40" {
		t.Errorf("Retry-After = %q, want 40", ra)
	}
	if resp.Error.Message != "Rate limit exceeded the maximum. Retry the request in [40] seconds" {
		t.Errorf("message = %q", resp.Error.Message)
	}
	// Another client has its own budget.
	_, resp, err = platformclientv2.NewTokensApiWithConfig(e.config(emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret)).GetTokensMe(false)
	ok(t, resp, err)
	e.clock.Add(40 * time.Second)
	_, resp, err = tokens.GetTokensMe(false)
	ok(t, resp, err)

	e.emu.SetFaults(emulator.Faults{RequestsPerMinute: -1, RateLimitBurst: 2, RetryAfter: 7})
	for range 2 {
		_, resp, err = tokens.GetTokensMe(false)
		wantStatus(t, resp, err, 429, "too.many.requests.retry.after")
		if http.Header(http.Header(resp.Header)).Get("Retry-After") != "7" {
			t.Errorf("injected Retry-After = %q", http.Header(http.Header(resp.Header)).Get("Retry-After"))
		}
	}
	for range 5 { // the limit is disabled by the fault override
		_, resp, err = tokens.GetTokensMe(false)
		ok(t, resp, err)
	}
}

func Test_GivenAShorterRateLimitWindow_ShouldAllowItsPartOfTheMinutesLimit(t *testing.T) {
	e := newEnv(t, emulator.Options{RequestsPerMinute: 120, RateLimitWindow: time.Second})
	tokens := platformclientv2.NewTokensApiWithConfig(e.dev())
	for n := 1; n <= 2; n++ { // 120 a minute is 2 a second
		_, resp, err := tokens.GetTokensMe(false)
		ok(t, resp, err)
		h := http.Header(resp.Header)
		if h.Get("inin-ratelimit-count") != strconv.Itoa(n) || h.Get("inin-ratelimit-allowed") != "2" || h.Get("inin-ratelimit-reset") != "1" {
			t.Errorf("headers = count %s, allowed %s, reset %s; want %d, 2, 1", h.Get("inin-ratelimit-count"),
				h.Get("inin-ratelimit-allowed"), h.Get("inin-ratelimit-reset"), n)
		}
	}
	_, resp, err := tokens.GetTokensMe(false)
	wantStatus(t, resp, err, 429, "too.many.requests.retry.after")
	e.clock.Add(time.Second)
	_, resp, err = tokens.GetTokensMe(false)
	ok(t, resp, err)
}

func Test_GivenInjectedFaults_ShouldAnswer5xxInBurstsAndAtTheirRate(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	tokens := platformclientv2.NewTokensApiWithConfig(e.dev())
	e.emu.SetFaults(emulator.Faults{Burst5xx: 2, Latency: time.Millisecond})
	for range 2 {
		_, resp, err := tokens.GetTokensMe(false)
		wantStatus(t, resp, err, 503, "service.unavailable")
	}
	_, resp, err := tokens.GetTokensMe(false)
	ok(t, resp, err)
	if f := e.emu.Faults(); f.Burst5xx != 0 || f.Latency != time.Millisecond {
		t.Errorf("faults after burst = %+v", f)
	}

	e.emu.SetFaults(emulator.Faults{ErrorRate: 1})
	_, resp, err = tokens.GetTokensMe(false)
	if resp == nil || (resp.StatusCode != 500 && resp.StatusCode != 503) || resp.Error == nil {
		t.Fatalf("ErrorRate 1: resp %v err %v", resp, err)
	}
	e.emu.SetFaults(emulator.Faults{ErrorRate: 0.5})
	failures := 0
	for range 200 {
		if _, resp, _ := tokens.GetTokensMe(false); resp.StatusCode >= 500 {
			failures++
		}
	}
	if failures < 60 || failures > 140 {
		t.Errorf("ErrorRate 0.5 failed %d of 200", failures)
	}
}
