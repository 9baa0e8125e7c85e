package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/pace"
	"github.com/offboard/offboard/starter/hrapi"
)

// defaultPromoteWait is how long promote retries while the version's workers have not polled:
// a worker that has just started registers its version at its first poll.
const defaultPromoteWait = 30 * time.Second

// deploymentCmd manages the workers' Temporal Worker Deployment: which version new runs start
// on, and which old versions still hold pinned runs.
func (c *cli) deploymentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "deployment", Short: "Promote a worker version and show the versions' routing and drainage (Temporal Worker Deployment)"}
	cmd.AddCommand(c.promoteCmd(), c.deploymentStatusCmd())
	return cmd
}

// deploymentCommand is a deployment subcommand: a service command on the deployment named by
// OFFBOARD_DEPLOYMENT_NAME. The name, and what check checks (nil: nothing more), are checked
// before Temporal is dialed.
func (c *cli) deploymentCommand(use, short string, check func() error, act func(cmd *cobra.Command, h client.WorkerDeploymentHandle, svc *hrapi.Service, name string) (any, func(io.Writer), error)) *cobra.Command {
	var name string
	cmd := c.serviceCmd(use, short, cobra.NoArgs, func(cmd *cobra.Command, _ []string, svc *hrapi.Service) (any, func(io.Writer), error) {
		return act(cmd, svc.Client.WorkerDeploymentClient().GetHandle(name), svc, name)
	})
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		var err error
		if name, err = c.source(cmd).DeploymentName(); err != nil || check == nil {
			return err
		}
		return check()
	}
	config.AddFlags(cmd.Flags(), config.EnvDeploymentName)
	return cmd
}

// promotion is what promote reports.
type promotion struct {
	Deployment string `json:"deployment"`
	Current    string `json:"current"`
	Previous   string `json:"previous"`
}

func (c *cli) promoteCmd() *cobra.Command {
	var buildID string
	var wait time.Duration
	cmd := c.deploymentCommand("promote --build-id <id>", "Make a worker version current: new offboardings start on it, runs started earlier stay on theirs",
		func() error { return config.CheckBuildID("--build-id", buildID) },
		func(cmd *cobra.Command, h client.WorkerDeploymentHandle, _ *hrapi.Service, name string) (any, func(io.Writer), error) {
			v := config.Deployment{Name: name, BuildID: buildID}
			previous, err := setCurrent(cmd.Context(), h, v, wait)
			if err != nil {
				return nil, nil, err
			}
			p := promotion{Deployment: name, Current: v.String(), Previous: config.VersionName(previous)}
			return p, func(w io.Writer) {
				fmt.Fprintf(w, "%s is current: new offboardings start on it (previously %s).\n", p.Current, p.Previous)
				if previous != nil && previous.BuildID != buildID {
					fmt.Fprintf(w, "Runs pinned to %s stay on it: keep its workers until `starter deployment status` shows it drained.\n", p.Previous)
				}
			}, nil
		})
	f := cmd.Flags()
	f.StringVar(&buildID, "build-id", "", "the build ID (OFFBOARD_BUILD_ID) of the workers to make current (required)")
	f.DurationVar(&wait, "wait", defaultPromoteWait, "how long to retry while no worker of the version has polled yet")
	return cmd
}

// errNotPolled is a version the deployment does not list: no worker of it has polled yet.
var errNotPolled = errors.New("not polled yet")

// setCurrent makes v current and returns the version it replaced, retrying within wait while
// v's workers are not all polling yet: the deployment does not list v (NotFound), or v does not
// poll every task queue of the current version yet (FailedPrecondition, also a concurrent
// change: the change carries the conflict token of the description it read, and is re-read).
func setCurrent(ctx context.Context, h client.WorkerDeploymentHandle, v config.Deployment, wait time.Duration) (*worker.WorkerDeploymentVersion, error) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var last error
	previous, err := pace.Until(wctx, pace.Delays(500*time.Millisecond, 5*time.Second, 0.1), pace.Sleep,
		func(ctx context.Context) (*worker.WorkerDeploymentVersion, bool, error) {
			desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
			if err == nil && !v.ListedIn(desc.Info) {
				err = errNotPolled
			}
			if err == nil {
				_, err = h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: v.BuildID, ConflictToken: desc.ConflictToken})
			}
			if notYet(err) {
				last = err
				return nil, false, nil
			}
			return desc.Info.RoutingConfig.CurrentVersion, err == nil, err
		})
	var precondition *serviceerror.FailedPrecondition
	switch {
	case err == nil:
		return previous, nil
	case last == nil || ctx.Err() != nil:
		return nil, fmt.Errorf("promote %s: %w", v, err)
	case errors.As(last, &precondition):
		return nil, fmt.Errorf("promote %s: %w (retried for %s: start every worker of the version, or raise --wait)", v, last, wait)
	}
	return nil, fmt.Errorf("no worker of version %s has polled Temporal in %s (%v): start its workers with %s=%s and %s=%s, wait for their \"worker started\" log, then promote again (or raise --wait)",
		v, wait, last, config.EnvDeploymentName, v.Name, config.EnvBuildID, v.BuildID)
}

// notYet reports whether a promotion failed because the version's workers are not all polling
// yet, or another change came first: worth trying again.
func notYet(err error) bool {
	var missing *serviceerror.NotFound
	var precondition *serviceerror.FailedPrecondition
	return errors.Is(err, errNotPolled) || errors.As(err, &missing) || errors.As(err, &precondition)
}

// deploymentStatus is what status reports.
type deploymentStatus struct {
	Deployment     string          `json:"deployment"`
	Current        string          `json:"current"`
	Ramping        string          `json:"ramping,omitempty"`
	RampPercentage float32         `json:"rampPercentage,omitempty"`
	Versions       []versionStatus `json:"versions"`
}

// versionStatus is one version of the deployment.
type versionStatus struct {
	BuildID string `json:"buildId"`
	// Routing is current, ramping or empty.
	Routing string `json:"routing,omitempty"`
	// Drainage is Temporal's drainage status of a version no longer current: draining or
	// drained; the server refreshes it every few minutes.
	Drainage string `json:"drainage,omitempty"`
	// OpenPinnedRuns counts the open runs pinned to the version now, from visibility.
	OpenPinnedRuns int64     `json:"openPinnedRuns"`
	Created        time.Time `json:"created"`
}

func (c *cli) deploymentStatusCmd() *cobra.Command {
	return c.deploymentCommand("status", "Show the current and ramping worker versions, and each version's drainage and open pinned runs", nil,
		func(cmd *cobra.Command, h client.WorkerDeploymentHandle, svc *hrapi.Service, name string) (any, func(io.Writer), error) {
			desc, err := h.Describe(cmd.Context(), client.WorkerDeploymentDescribeOptions{})
			var missing *serviceerror.NotFound
			if errors.As(err, &missing) {
				return nil, nil, fmt.Errorf("deployment %s has no versions in this namespace: no worker with %s set has polled yet (%v)", name, config.EnvBuildID, err)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("describe deployment %s: %w", name, err)
			}
			st, err := statusOf(cmd.Context(), svc.Client, desc.Info)
			return st, st.text, err
		})
}

// statusOf is the deployment's routing and versions, with each version's open pinned runs
// counted the way Temporal's drainage counts them.
func statusOf(ctx context.Context, c client.Client, info client.WorkerDeploymentInfo) (deploymentStatus, error) {
	rc := info.RoutingConfig
	st := deploymentStatus{Deployment: info.Name, Current: config.VersionName(rc.CurrentVersion), Versions: []versionStatus{}}
	if rc.RampingVersion != nil {
		st.Ramping, st.RampPercentage = config.VersionName(rc.RampingVersion), rc.RampingVersionPercentage
	}
	for _, s := range info.VersionSummaries {
		q := fmt.Sprintf("TemporalWorkerDeploymentVersion = '%s' AND TemporalWorkflowVersioningBehavior = 'Pinned' AND ExecutionStatus = 'Running'",
			config.Deployment{Name: info.Name, BuildID: s.Version.BuildID})
		n, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		if err != nil {
			return st, fmt.Errorf("count the runs pinned to %s: %w", s.Version.BuildID, err)
		}
		v := versionStatus{BuildID: s.Version.BuildID, Drainage: drainageName(s.DrainageStatus), OpenPinnedRuns: n.GetCount(), Created: s.CreateTime.UTC()}
		switch s.Version {
		case deref(rc.CurrentVersion):
			v.Routing = "current"
		case deref(rc.RampingVersion):
			v.Routing = fmt.Sprintf("ramping %g%%", rc.RampingVersionPercentage)
		}
		st.Versions = append(st.Versions, v)
	}
	return st, nil
}

// text prints the status as a table.
func (st deploymentStatus) text(w io.Writer) {
	fmt.Fprintf(w, "Deployment %s: current %s", st.Deployment, st.Current)
	if st.Ramping != "" {
		fmt.Fprintf(w, ", ramping %s (%g%%)", st.Ramping, st.RampPercentage)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BUILD ID\tROUTING\tDRAINAGE\tOPEN PINNED RUNS\tCREATED")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, v := range st.Versions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", v.BuildID, dash(v.Routing), dash(v.Drainage), v.OpenPinnedRuns, v.Created.Format(time.RFC3339))
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "Stop a version's workers only once it is drained: its pinned runs run nowhere else.")
}

func deref(v *worker.WorkerDeploymentVersion) worker.WorkerDeploymentVersion {
	if v == nil {
		return worker.WorkerDeploymentVersion{}
	}
	return *v
}

// drainageName is Temporal's drainage status in words; empty while the version is current,
// ramping or never was either.
func drainageName(s client.WorkerDeploymentVersionDrainageStatus) string {
	switch s {
	case client.WorkerDeploymentVersionDrainageStatusDraining:
		return "draining"
	case client.WorkerDeploymentVersionDrainageStatusDrained:
		return "drained"
	}
	return ""
}
