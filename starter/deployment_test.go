package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/config"
)

// runDeployment runs `starter deployment ...` against the test server's default namespace,
// for the deployment given.
func runDeployment(t *testing.T, deployment string, args ...string) (string, error) {
	t.Helper()
	return runDeploymentAt(t, env.ts.GetFrontendHostPort(), deployment, args...)
}

// runDeploymentAt is runDeployment against the Temporal frontend at addr.
func runDeploymentAt(t *testing.T, addr, deployment string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd(deps{Env: config.MapEnv{
		"TEMPORAL_ADDRESS":       addr,
		"TEMPORAL_NAMESPACE":     env.ts.GetDefaultNamespace(),
		"TEMPORAL_CONFIG_FILE":   "/nonexistent/temporal.toml",
		config.EnvPayloadKeys:    testPayloadKeys,
		config.EnvDeploymentName: deployment,
	}})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append([]string{"deployment"}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// startVersion runs a worker of deployment:buildID on its own task queue, so that the other
// tests' workers are not routed to it, with one pinned workflow type that waits for a signal.
func startVersion(t *testing.T, deployment, taskQueue, buildID string) {
	t.Helper()
	w := worker.New(env.client, taskQueue, worker.Options{DeploymentOptions: worker.DeploymentOptions{
		UseVersioning: true, Version: worker.WorkerDeploymentVersion{DeploymentName: deployment, BuildID: buildID},
	}})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
		return nil
	}, workflow.RegisterOptions{Name: "Waits", VersioningBehavior: workflow.VersioningBehaviorPinned})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
}

func Test_GivenAVersionNoWorkerPolledFor_ShouldRefuseToPromoteItSayingWhatToStart(t *testing.T) {
	_, err := runDeployment(t, "cli-ghost", "promote", "--build-id", "v9", "--wait", "1s")

	require.Error(t, err)
	assert.Contains(t, err.Error(), "no worker of version cli-ghost:v9 has polled")
	assert.Contains(t, err.Error(), "OFFBOARD_BUILD_ID=v9")
}

func Test_GivenABadOrMissingBuildID_ShouldRefuseToPromoteNamingTheFlag(t *testing.T) {
	// No Temporal answers there: the input is refused before anything is dialed.
	const nowhere = "127.0.0.1:9"
	for _, id := range []string{"", "v 2", "__v2"} {
		_, err := runDeploymentAt(t, nowhere, "cli-bad", "promote", "--build-id", id)
		require.Error(t, err, id)
		assert.Contains(t, err.Error(), "--build-id", id)
	}
	_, err := runDeploymentAt(t, nowhere, "cli.bad", "status")
	require.ErrorContains(t, err, config.EnvDeploymentName)
}

func Test_GivenTwoVersions_ShouldPromoteEachAndShowTheOldOneHoldingItsPinnedRun(t *testing.T) {
	const deployment, queue = "cli-test", "cli-deployment-test"
	ctx := context.Background()
	startVersion(t, deployment, queue, "v1")
	out, err := runDeployment(t, deployment, "promote", "--build-id", "v1", "--json")
	require.NoError(t, err, out)
	var p promotion
	require.NoError(t, json.Unmarshal([]byte(out), &p), out)
	assert.Equal(t, promotion{Deployment: deployment, Current: "cli-test:v1", Previous: "unversioned"}, p)

	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, "Waits")
	require.NoError(t, err)
	startVersion(t, deployment, queue, "v2")
	out, err = runDeployment(t, deployment, "promote", "--build-id", "v2")
	require.NoError(t, err, out)
	assert.Contains(t, out, "cli-test:v2 is current")
	assert.Contains(t, out, "Runs pinned to cli-test:v1 stay on it")

	var st deploymentStatus
	eventually(t, 30*time.Second, func() error {
		out, err = runDeployment(t, deployment, "status", "--json")
		if err != nil {
			return err
		}
		st = deploymentStatus{}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			return err
		}
		if len(st.Versions) != 2 || st.Versions[0].OpenPinnedRuns+st.Versions[1].OpenPinnedRuns != 1 {
			return fmt.Errorf("want two versions and the pinned run counted: %s", out)
		}
		return nil
	})
	assert.Equal(t, "cli-test:v2", st.Current)
	byID := map[string]versionStatus{}
	for _, v := range st.Versions {
		byID[v.BuildID] = v
	}
	assert.Equal(t, "current", byID["v2"].Routing)
	assert.Equal(t, int64(0), byID["v2"].OpenPinnedRuns)
	assert.Empty(t, byID["v1"].Routing)
	assert.Equal(t, int64(1), byID["v1"].OpenPinnedRuns, "the run started on v1 stays pinned to it")

	out, err = runDeployment(t, deployment, "status")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Deployment cli-test: current cli-test:v2")
	assert.Regexp(t, `(?m)^v1\s+-\s+\S+\s+1\s`, out)

	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "done", nil))
	require.NoError(t, run.Get(ctx, nil))
}
