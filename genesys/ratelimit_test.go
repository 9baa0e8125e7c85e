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

func TestLimiterAdaptsToOrgBudget(t *testing.T) {
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

func TestLimiterPausesWhenBudgetIsSpent(t *testing.T) {
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

func TestRetryAfterFallsBackToMessage(t *testing.T) {
	if d := retryAfter(http.Header{}, "Rate limit exceeded the maximum. Retry the request in [7] seconds"); d != 7*time.Second {
		t.Fatalf("retryAfter = %v, want 7s", d)
	}
	if d := retryAfter(http.Header{"Retry-After": {"3"}}, "Retry the request in [7] seconds"); d != 3*time.Second {
		t.Fatalf("retryAfter = %v, want the header's 3s", d)
	}
}

func TestMissingPermissionsParsing(t *testing.T) {
	got := missingPermissions("You are missing the following permission(s): [directory:user:edit, directory:user:delete]", "",
		map[string]any{"permissions": []any{"gdpr:request:add"}})
	want := []string{"directory:user:edit", "directory:user:delete", "gdpr:request:add"}
	if len(got) != len(want) {
		t.Fatalf("missingPermissions = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("missingPermissions = %v, want %v", got, want)
		}
	}
}
