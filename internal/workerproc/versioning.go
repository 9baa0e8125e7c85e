package workerproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/pace"
	"github.com/offboard/offboard/workflows"
)

// VersioningBehaviours is how a run of each workflow type follows a new worker version; it
// counts only on a versioned worker (OFFBOARD_BUILD_ID set), which refuses to register a type
// missing here.
//
//   - Offboarding is Pinned: a run stays on the code it started on, through its continue-as-new
//     runs and the months of its retention, so a deploy never replays a history on changed code.
//   - ResolvePerson is AutoUpgrade: a run lasts seconds (workflows.ResolveTimeout), so pinning
//     it would buy nothing but keep an old version draining; its next task goes to the
//     current version.
//   - OffboardingBatch is AutoUpgrade: a batch lasts long but does little (it starts children and
//     counts), so it moves to the current version rather than keep an old one draining for days;
//     a change to what it records therefore needs workflow.GetVersion.
//   - Reconciliation is AutoUpgrade: a run lasts minutes and starts its batch as an abandoned child.
var VersioningBehaviours = map[string]workflow.VersioningBehavior{
	workflows.WorkflowType:               workflow.VersioningBehaviorPinned,
	workflows.ResolveWorkflowType:        workflow.VersioningBehaviorAutoUpgrade,
	workflows.BatchWorkflowType:          workflow.VersioningBehaviorAutoUpgrade,
	workflows.ReconciliationWorkflowType: workflow.VersioningBehaviorAutoUpgrade,
}

// behaviourRegistry registers each workflow with its VersioningBehaviours entry.
type behaviourRegistry struct{ worker.Registry }

func (r behaviourRegistry) RegisterWorkflowWithOptions(w any, o workflow.RegisterOptions) {
	o.VersioningBehavior = VersioningBehaviours[o.Name]
	r.Registry.RegisterWorkflowWithOptions(w, o)
}

// deploymentOptions opt a worker with a build ID into Worker Deployment versioning. There is no
// default behaviour, so that a workflow type without one fails at registration.
func deploymentOptions(d config.Deployment) worker.DeploymentOptions {
	if !d.Versioned() {
		return worker.DeploymentOptions{}
	}
	return worker.DeploymentOptions{
		UseVersioning: true,
		Version:       worker.WorkerDeploymentVersion{DeploymentName: d.Name, BuildID: d.BuildID},
	}
}

// routingWait bounds how long a started worker waits for the server to list its version.
const routingWait = 15 * time.Second

// reportRouting logs whether new runs reach this worker: a versioned worker gets them only once
// its version is the deployment's current one, and an unversioned worker only while the
// deployment has no current version. It waits for the server to list a new version (the first
// poll registers it); it never fails the worker.
func reportRouting(ctx context.Context, c client.Client, d config.Deployment, logger *slog.Logger) {
	h := c.WorkerDeploymentClient().GetHandle(d.Name)
	wctx, cancel := context.WithTimeout(ctx, routingWait)
	defer cancel()
	current, err := pace.Until(wctx, pace.Delays(250*time.Millisecond, 2*time.Second, 0.1), pace.Sleep,
		func(ctx context.Context) (*worker.WorkerDeploymentVersion, bool, error) {
			desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
			var missing *serviceerror.NotFound
			if errors.As(err, &missing) {
				return nil, !d.Versioned(), nil // unversioned, of a deployment no versioned worker joined yet
			}
			if err != nil {
				return nil, false, err
			}
			return desc.Info.RoutingConfig.CurrentVersion, !d.Versioned() || d.ListedIn(desc.Info), nil
		})
	promote := fmt.Sprintf("starter deployment promote --deployment-name %s --build-id %s", d.Name, d.BuildID)
	switch {
	case err != nil && !d.Versioned():
		logger.Debug("could not read the worker deployment's routing", "deployment", d.Name, "error", err)
	case err != nil:
		logger.Warn("could not read the worker deployment's routing; check it with `starter deployment status`", "deployment", d.Name, "error", err)
	case d.Versioned() && (current == nil || current.BuildID != d.BuildID):
		logger.Warn("this worker's version is not the deployment's current version: new offboardings are not routed to it until it is promoted",
			"version", d.String(), "current", config.VersionName(current), "promote", promote)
	case !d.Versioned() && current != nil:
		logger.Warn("this worker is unversioned but the deployment has a current version: new runs start there, not here",
			"deployment", d.Name, "current", config.VersionName(current))
	default:
		logger.Info("new runs are routed to this worker's version", "version", d.String())
	}
}
