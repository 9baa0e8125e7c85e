package genesys

import (
	"net/http"
	"testing"
	"time"
)

func Test_GivenNoRetryAfterHeader_ShouldReadTheWaitFromTheMessage(t *testing.T) {
	if d := retryAfter(http.Header{}, "Rate limit exceeded the maximum. Retry the request in [7] seconds"); d != 7*time.Second {
		t.Fatalf("retryAfter = %v, want 7s", d)
	}
	if d := retryAfter(http.Header{"Retry-After": {"3"}}, "Retry the request in [7] seconds"); d != 3*time.Second {
		t.Fatalf("retryAfter = %v, want the header's 3s", d)
	}
}

func Test_GivenA403MessageAndParams_ShouldExtractTheMissingPermissions(t *testing.T) {
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
