package workerproc

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/workflows"
)

func Test_GivenNoPayloadKeys_ShouldRefuseToConfigureTheWorker(t *testing.T) {
	_, err := FromSource(config.Source{Env: config.MapEnv{"TEMPORAL_CONFIG_FILE": "/nonexistent"}}, nil)

	require.Error(t, err)
	assert.Contains(t, err.Error(), config.EnvPayloadKeysFile)
	assert.Contains(t, err.Error(), "starter keys payload")
}

func Test_GivenPayloadKeys_ShouldConfigureTheWorkersClientToEncrypt(t *testing.T) {
	// The Genesys settings are read from the process environment.
	t.Setenv(genesys.EnvClientID, "client")
	t.Setenv(genesys.EnvClientSecret, "secret")
	t.Setenv(genesys.EnvAPIURL, "http://127.0.0.1:9")
	keys := "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	cfg, err := FromSource(config.Source{Env: config.MapEnv{"TEMPORAL_CONFIG_FILE": "/nonexistent", config.EnvPayloadKeys: keys}}, nil)
	require.NoError(t, err)
	require.NotNil(t, cfg.Temporal.DataConverter)

	p, err := cfg.Temporal.DataConverter.ToPayload("Ada Lovelace")

	require.NoError(t, err)
	assert.NotContains(t, string(p.GetData()), "Lovelace")
}

func Test_GivenAConfigWithoutADataConverter_ShouldRefuseToConnect(t *testing.T) {
	policy := workflows.DefaultPolicy()
	policy.UnsignedDecisions = true
	cfg := Config{Policy: policy, Development: true, Addr: "off"}

	err := Run(context.Background(), cfg)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "payload encryption")
}

func Test_GivenAFleetBudgetAndReplicas_ShouldLetOneWorkerStartAsManyActivitiesAsTheFleet(t *testing.T) {
	opts := WorkerOptions(config.Budget{FleetRequestsPerMinute: 600, Replicas: 3}, 0, config.Deployment{Name: "offboard"})

	assert.InDelta(t, 10.0, opts.TaskQueueActivitiesPerSecond, 1e-9)
	assert.InDelta(t, 10.0, opts.WorkerActivitiesPerSecond, 1e-9, "a busy worker may take what idle ones leave")
}

func Test_GivenAFleetBudgetAndReplicas_ShouldGiveTheGenesysClientTheBudgetAndTheFallbackShare(t *testing.T) {
	t.Setenv(genesys.EnvClientID, "client")
	t.Setenv(genesys.EnvClientSecret, "secret")
	t.Setenv(genesys.EnvAPIURL, "http://127.0.0.1:9")
	keys := "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	env := config.MapEnv{"TEMPORAL_CONFIG_FILE": "/nonexistent", config.EnvPayloadKeys: keys,
		config.EnvFleetRequestsPerMin: "600", config.EnvWorkerReplicas: "3"}

	cfg, err := FromSource(config.Source{Env: env}, nil)

	require.NoError(t, err)
	assert.Equal(t, 600, cfg.Genesys.FleetRequestsPerMinute, "the client's count stays under the fleet's budget")
	assert.Equal(t, 200, cfg.Genesys.RequestsPerMinute, "the share while Genesys reports no count")
}
