package genesys

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func hdr(allowed, count, reset string) http.Header {
	h := http.Header{}
	h.Set("inin-ratelimit-allowed", allowed)
	h.Set("inin-ratelimit-count", count)
	h.Set("inin-ratelimit-reset", reset)
	return h
}

func Test_GivenTheOrgBudgetNearlySpent_ShouldSlowDownAndRecover(t *testing.T) {
	l := newLimiter(300)
	if got := l.limit(); got != rate.Limit(5) {
		t.Fatalf("base limit = %v, want 5/s", got)
	}
	l.observe(hdr("300", "100", "30"))
	if got := l.limit(); got != 5 {
		t.Fatalf("limit at 33%% used = %v, want unchanged 5/s", got)
	}
	l.observe(hdr("300", "270", "30")) // 30 left for 30 s
	if got := l.limit(); got != 1 {
		t.Fatalf("limit at 90%% used = %v, want 1/s", got)
	}
	l.observe(hdr("300", "10", "59"))
	if got := l.limit(); got != 5 {
		t.Fatalf("limit after the window reset = %v, want 5/s", got)
	}
}

func Test_GivenTheOrgBudgetSpent_ShouldRefuseAWaitLongerThanAllowed(t *testing.T) {
	l := newLimiter(6000)
	l.observe(hdr("300", "300", "20"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := l.wait(ctx, "op", 5*time.Second)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRateLimited || e.RetryAfter < 19*time.Second {
		t.Fatalf("wait while the org budget is spent = %v, want KindRateLimited with ~20s", err)
	}
}
