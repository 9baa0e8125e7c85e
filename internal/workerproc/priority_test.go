package workerproc

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/internal/config"
)

func priorityWorkflow(ctx workflow.Context) (genesys.Priority, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var got genesys.Priority
	err := workflow.ExecuteActivity(ctx, genesysPriority).Get(ctx, &got)
	return got, err
}

func genesysPriority(ctx context.Context) (genesys.Priority, error) {
	return genesys.PriorityOf(ctx), nil
}

// The worker hands every activity's priority to its Genesys requests. (The SDK's test suite
// drops task priorities, so the key itself is checked on requestPriority below.)
func Test_GivenWorkerOptions_ShouldGiveActivitiesGenesysRequestsTheirPriority(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(WorkerOptions(config.Budget{FleetRequestsPerMinute: 300, Replicas: 1}, time.Second, config.Deployment{}))
	env.RegisterWorkflow(priorityWorkflow)
	env.RegisterActivity(genesysPriority)
	env.ExecuteWorkflow(priorityWorkflow)
	require.NoError(t, env.GetWorkflowError())
	var got genesys.Priority
	require.NoError(t, env.GetWorkflowResult(&got))
	require.NotEmpty(t, got.Order, "the activity's requests carry its run")
}

func Test_GivenActivityWithATaskPriority_ShouldWaitForGenesysAtThatPriority(t *testing.T) {
	const run = "019ad6f0-0000-7000-8000-000000000001"
	got := requestPriority(activity.Info{Priority: temporal.Priority{PriorityKey: 1}, ScheduledTime: time.Now(),
		WorkflowExecution: workflow.Execution{ID: "offboarding-u1", RunID: run}})
	require.Equal(t, genesys.Priority{Key: 1, Order: run}, got)
}
