package genesys_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
)

func Test_GivenTheEnvironment_ShouldBuildTheConfigOrNameEveryBadVariable(t *testing.T) {
	t.Run("region", func(t *testing.T) {
		t.Setenv(genesys.EnvClientID, "id")
		t.Setenv(genesys.EnvClientSecret, "s3cret")
		t.Setenv(genesys.EnvRegion, "mypurecloud.ie")
		t.Setenv(genesys.EnvAPIURL, "")
		t.Setenv(genesys.EnvRequestsPerMinute, "")
		cfg, err := genesys.ConfigFromEnv()
		require.NoError(t, err)
		base, err := cfg.BaseURL()
		require.NoError(t, err)
		assert.Equal(t, "https://api.mypurecloud.ie", base)
		assert.Equal(t, genesys.DefaultRequestsPerMinute, cfg.RequestsPerMinute)
	})
	t.Run("aws region name", func(t *testing.T) {
		base, err := genesys.Config{Region: "eu-central-1"}.BaseURL()
		require.NoError(t, err)
		assert.Equal(t, "https://api.mypurecloud.de", base)
	})
	t.Run("api url wins", func(t *testing.T) {
		t.Setenv(genesys.EnvClientID, "id")
		t.Setenv(genesys.EnvClientSecret, "s3cret")
		t.Setenv(genesys.EnvRegion, "mypurecloud.com")
		t.Setenv(genesys.EnvAPIURL, "http://127.0.0.1:9090/")
		t.Setenv(genesys.EnvRequestsPerMinute, "120")
		cfg, err := genesys.ConfigFromEnv()
		require.NoError(t, err)
		base, _ := cfg.BaseURL()
		assert.Equal(t, "http://127.0.0.1:9090", base)
		assert.Equal(t, 120, cfg.RequestsPerMinute)
	})
	t.Run("missing names every variable", func(t *testing.T) {
		for _, k := range []string{genesys.EnvClientID, genesys.EnvClientSecret, genesys.EnvRegion, genesys.EnvAPIURL, genesys.EnvRequestsPerMinute} {
			t.Setenv(k, "")
		}
		_, err := genesys.ConfigFromEnv()
		require.Error(t, err)
		for _, k := range []string{genesys.EnvClientID, genesys.EnvClientSecret, genesys.EnvRegion, genesys.EnvAPIURL} {
			assert.Contains(t, err.Error(), k)
		}
	})
	t.Run("bad values", func(t *testing.T) {
		t.Setenv(genesys.EnvClientID, "id")
		t.Setenv(genesys.EnvClientSecret, "s3cret")
		t.Setenv(genesys.EnvRegion, "")
		t.Setenv(genesys.EnvAPIURL, "ftp://x")
		t.Setenv(genesys.EnvRequestsPerMinute, "lots")
		_, err := genesys.ConfigFromEnv()
		require.ErrorContains(t, err, genesys.EnvRequestsPerMinute)
		t.Setenv(genesys.EnvRequestsPerMinute, "")
		_, err = genesys.ConfigFromEnv()
		require.ErrorContains(t, err, genesys.EnvAPIURL)
		assert.NotContains(t, err.Error(), "s3cret")
	})
}

func Test_GivenASecret_ShouldRedactItInEveryRendering(t *testing.T) {
	const secret = "hunter2-very-secret"
	cfg := genesys.Config{ClientID: "id", ClientSecret: genesys.Secret(secret), Region: "mypurecloud.com"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg, "secret", cfg.ClientSecret)
	js, err := json.Marshal(cfg)
	require.NoError(t, err)
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s|%q|%x", cfg.ClientSecret, cfg.ClientSecret, cfg.ClientSecret),
		string(js), logged.String(),
	} {
		assert.NotContains(t, s, secret)
	}
	assert.Equal(t, secret, cfg.ClientSecret.Reveal())
}
