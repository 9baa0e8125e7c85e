package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func Test_GivenAHealthEndpoint_ShouldExitZeroOnlyWhenItAnswers2xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	code, _, stderr := runStarter(t, "healthcheck", srv.URL+"/healthz")
	assert.Equal(t, 0, code, stderr)

	code, _, stderr = runStarter(t, "healthcheck", srv.URL+"/readyz")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "503")

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	code, _, _ = runStarter(t, "healthcheck", closed.URL+"/healthz")
	assert.Equal(t, 1, code, "nothing listening")
}
