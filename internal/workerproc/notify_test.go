package workerproc

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/webhook"
	"github.com/offboard/offboard/workflows"
)

func signer(t *testing.T, b byte) *credential.Signer {
	t.Helper()
	s, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize)), activities.WorkerIssuer)
	require.NoError(t, err)
	return s
}

// trusting is the default policy trusting s's key.
func trusting(s *credential.Signer) workflows.Policy {
	p := workflows.DefaultPolicy()
	p.DecisionKeys = []string{credential.EncodePublicKey(s.PublicKey())}
	return p
}

// A worker refuses, before it connects anywhere, to send what its receivers could not trust or use.
func Test_GivenAWebhookWithoutSecretOrLinksOfAnUntrustedKey_ShouldRefuseToStart(t *testing.T) {
	hr, worker := signer(t, 1), signer(t, 2)
	secret, err := webhook.ParseSecret("whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)))
	require.NoError(t, err)

	err = Run(context.Background(), Config{Policy: trusting(hr), WebhookURL: "https://hooks.example.com/offboard"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), config.EnvWebhookSecretFile)
	assert.Contains(t, err.Error(), "unsigned")

	err = Run(context.Background(), Config{Policy: trusting(hr), WebhookURL: "https://hooks.example.com/offboard",
		WebhookSecrets: []webhook.Secret{secret}, Links: activities.Links{Signer: worker, PublicAPIURL: "https://hr.example.com"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), workflows.EnvDecisionKeys)
	assert.Contains(t, err.Error(), worker.KeyID())

	assert.NoError(t, checkNotifications(Config{Policy: trusting(worker), WebhookURL: "https://hooks.example.com/offboard",
		WebhookSecrets: []webhook.Secret{secret}, Links: activities.Links{Signer: worker}}))
	assert.NoError(t, checkNotifications(Config{Policy: trusting(hr)}), "no webhook, nothing to sign")
}

func Test_GivenNotificationSettings_ShouldReadThemIntoTheWorkersConfig(t *testing.T) {
	hr := signer(t, 1)
	// The Genesys settings are read from the process environment.
	t.Setenv(genesys.EnvClientID, "client")
	t.Setenv(genesys.EnvClientSecret, "secret")
	t.Setenv(genesys.EnvAPIURL, "http://127.0.0.1:1")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))
	cfg, err := FromSource(config.Source{Env: config.MapEnv{
		config.EnvWebhookURL: "https://hooks.example.com/offboard", config.EnvWebhookSecret: secret,
		config.EnvPublicAPIURL: "https://hr.example.com", config.EnvApprovalLinkTTL: "2h",
		config.EnvDecisionSigningKey: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, ed25519.SeedSize)),
		workflows.EnvDecisionKeys:    credential.EncodePublicKey(hr.PublicKey()),
		config.EnvPayloadKeys:        "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
	}}, nil)
	require.NoError(t, err)
	require.Len(t, cfg.WebhookSecrets, 1)
	assert.Equal(t, secret, cfg.WebhookSecrets[0].Text())
	require.NotNil(t, cfg.Links.Signer)
	assert.Equal(t, hr.KeyID(), cfg.Links.Signer.KeyID())
	assert.Equal(t, "https://hr.example.com", cfg.Links.PublicAPIURL)
	assert.NoError(t, checkNotifications(cfg))

	_, err = FromSource(config.Source{Env: config.MapEnv{config.EnvApprovalLinkTTL: "48h", workflows.EnvDecisionKeys: credential.EncodePublicKey(hr.PublicKey())}}, nil)
	assert.ErrorContains(t, err, config.EnvApprovalLinkTTL)
}
