package workerproc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/workflows"
)

// behaviours records what Register asks of a worker.
type behaviours struct {
	worker.Registry
	got map[string]workflow.VersioningBehavior
}

func (r *behaviours) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	r.got[o.Name] = o.VersioningBehavior
}

func (r *behaviours) RegisterActivity(any) {}

func Test_GivenTheWorkflows_ShouldRegisterOffboardingPinnedAndResolvePersonAndBatchAutoUpgrade(t *testing.T) {
	r := &behaviours{got: map[string]workflow.VersioningBehavior{}}

	Register(r, workflows.DefaultPolicy(), &activities.Activities{})

	assert.Equal(t, map[string]workflow.VersioningBehavior{
		workflows.WorkflowType:               workflow.VersioningBehaviorPinned,
		workflows.ResolveWorkflowType:        workflow.VersioningBehaviorAutoUpgrade,
		workflows.BatchWorkflowType:          workflow.VersioningBehaviorAutoUpgrade,
		workflows.ReconciliationWorkflowType: workflow.VersioningBehaviorAutoUpgrade,
	}, r.got, "every workflow type has its behaviour; a new one needs an entry in VersioningBehaviours")
}

func Test_GivenABuildID_ShouldRegisterOnAVersionedWorkerWithoutADefaultBehaviour(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:9"})
	require.NoError(t, err)
	defer c.Close()
	d := config.Deployment{Name: "offboard", BuildID: "v2"}
	opts := WorkerOptions(config.Budget{FleetRequestsPerMinute: 60, Replicas: 1}, 0, d)
	require.True(t, opts.DeploymentOptions.UseVersioning)
	require.Equal(t, worker.WorkerDeploymentVersion{DeploymentName: "offboard", BuildID: "v2"}, opts.DeploymentOptions.Version)
	require.Equal(t, workflow.VersioningBehaviorUnspecified, opts.DeploymentOptions.DefaultVersioningBehavior,
		"no default: a workflow type without a behaviour must fail at registration")
	w := worker.New(c, workflows.TaskQueue, opts)

	// The SDK panics when a versioned worker registers a workflow type without a behaviour.
	assert.NotPanics(t, func() { Register(w, workflows.DefaultPolicy(), &activities.Activities{}) })
	assert.Panics(t, func() {
		w.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: "Unlisted"})
	})
}

func Test_GivenNoBuildID_ShouldRunUnversioned(t *testing.T) {
	opts := WorkerOptions(config.Budget{FleetRequestsPerMinute: 60, Replicas: 1}, 0, config.Deployment{Name: "offboard"})

	assert.Equal(t, worker.DeploymentOptions{}, opts.DeploymentOptions)
}
