package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
)

func whsec(b byte) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

func Test_GivenWebhookSecrets_ShouldReadTheListFromTheVariableOrTheFileWithTheFirstSigning(t *testing.T) {
	secrets, err := Source{Env: MapEnv{EnvWebhookSecret: whsec(1) + "," + whsec(2)}}.WebhookSecrets()
	require.NoError(t, err)
	require.Len(t, secrets, 2)
	assert.Equal(t, whsec(1), secrets[0].Text(), "the first signs")

	file := filepath.Join(t.TempDir(), "webhook-secrets")
	require.NoError(t, os.WriteFile(file, []byte("# current first\n"+whsec(3)+"\n"+whsec(1)+"\n"), 0o600))
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	require.NoError(t, fs.Parse([]string{"--webhook-secret-file", file}))
	secrets, err = Source{Flags: fs, Env: MapEnv{}}.WebhookSecrets()
	require.NoError(t, err)
	require.Len(t, secrets, 2)
	assert.Equal(t, whsec(3), secrets[0].Text())

	none, err := Source{Env: MapEnv{}}.WebhookSecrets()
	require.NoError(t, err)
	assert.Empty(t, none)
}

func Test_GivenBadWebhookSecrets_ShouldNameTheSettingAndNeverShowTheSecret(t *testing.T) {
	bad := "whsec_" + base64.StdEncoding.EncodeToString([]byte("short-and-secret"))
	_, err := Source{Env: MapEnv{EnvWebhookSecret: bad}}.WebhookSecrets()
	require.ErrorContains(t, err, EnvWebhookSecret)
	assert.NotContains(t, err.Error(), bad)

	_, err = Source{Env: MapEnv{EnvWebhookSecret: whsec(1), EnvWebhookSecretFile: "/x"}}.WebhookSecrets()
	require.ErrorContains(t, err, "both set")
	_, err = Source{Env: MapEnv{EnvWebhookSecretFile: filepath.Join(t.TempDir(), "missing")}}.WebhookSecrets()
	require.ErrorContains(t, err, EnvWebhookSecretFile)
}

func Test_GivenLinkSettings_ShouldReadTheWorkersKeyURLAndLifetime(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, ed25519.SeedSize))
	seed := base64.StdEncoding.EncodeToString(key.Seed())
	l, err := Source{Env: MapEnv{EnvDecisionSigningKey: seed, EnvPublicAPIURL: "https://hr.example.com"}}.Links()
	require.NoError(t, err)
	require.NotNil(t, l.Signer)
	assert.Equal(t, credential.KeyID(key.Public().(ed25519.PublicKey)), l.Signer.KeyID())
	assert.Equal(t, "https://hr.example.com", l.PublicAPIURL)
	assert.Equal(t, 24*time.Hour, l.TTL, "the default lifetime")
	tok, err := l.Signer.Issue(credential.Claims{Identity: "alice", Role: credential.RoleApprover, WorkflowID: "w", RunID: "r", Action: credential.ActionApprove})
	require.NoError(t, err)
	c, err := credential.NewKeySet(l.Signer.PublicKey()).Verify(tok, time.Now())
	require.NoError(t, err)
	assert.Equal(t, activities.WorkerIssuer, c.Issuer)

	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	require.NoError(t, fs.Parse([]string{"--approval-link-ttl", "2h", "--public-api-url", "http://localhost:8080"}))
	l, err = Source{Flags: fs, Env: MapEnv{EnvApprovalLinkTTL: "3h"}}.Links()
	require.NoError(t, err)
	assert.Nil(t, l.Signer, "no key, no links")
	assert.Equal(t, 2*time.Hour, l.TTL, "the flag overrides the variable")
	assert.Equal(t, "http://localhost:8080", l.PublicAPIURL)
}

func Test_GivenBadLinkSettings_ShouldNameTheSetting(t *testing.T) {
	for env, bad := range map[string]string{
		EnvApprovalLinkTTL:    "25h",
		EnvPublicAPIURL:       "hr.example.com",
		EnvDecisionSigningKey: "not-a-key",
	} {
		_, err := Source{Env: MapEnv{env: bad}}.Links()
		require.ErrorContains(t, err, env)
		assert.NotContains(t, err.Error(), "not-a-key")
	}
	_, err := Source{Env: MapEnv{EnvApprovalLinkTTL: "0s"}}.Links()
	require.ErrorContains(t, err, "positive")
}
