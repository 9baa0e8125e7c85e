package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/offboard/offboard/workflows"
)

// fault is one fault the test injected: what, when, how many runs were open then, and how long
// the part it took down was away.
type fault struct {
	name     string
	at       time.Time
	open     int
	downtime time.Duration
}

// inFlight is an activity running on a worker when the worker was killed.
type inFlight struct {
	workflowID, runID, activityID, activityType string
}

// killReport is what the SIGKILL mid-export left to measure afterwards.
type killReport struct {
	at     time.Time
	worker string
	lost   []inFlight
}

// faultNames are the faults of the schedule, in order (--faults).
var faultNames = []string{"kill", "rolling", "temporal", "postgres"}

// injectFaults runs the fault schedule while the runs are in flight, each fault of s.faults in
// faultNames' order: kill SIGKILLs a worker while it exports and starts it again; rolling
// restarts every worker in turn (SIGTERM, drain, start); temporal restarts the Temporal server;
// postgres restarts PostgreSQL. Each fault waits for the cluster to be whole again, and a pause
// lets runs move on before the next.
func (c *cluster) injectFaults(ctx context.Context, w *workload) ([]fault, *killReport, error) {
	var faults []fault
	var kill *killReport
	for i, name := range faultNames {
		if !slices.Contains(c.s.faults, name) {
			continue
		}
		if i > 0 {
			select {
			case <-ctx.Done():
				return faults, kill, ctx.Err()
			case <-time.After(c.s.pause):
			}
		}
		open, at := len(w.open()), time.Now()
		what, err := c.inject(ctx, name, &kill)
		if err != nil {
			return faults, kill, fmt.Errorf("%s: %w", what, err)
		}
		if kill != nil && name == "kill" {
			at = kill.at
		}
		faults = append(faults, fault{name: what, at: at, open: open, downtime: time.Since(at)})
		fmt.Printf("%s  %s (%d runs open, back after %v)\n", at.UTC().Format("15:04:05"), what, open, time.Since(at).Round(100*time.Millisecond))
	}
	return faults, kill, nil
}

// inject injects one fault and waits until the cluster is whole again; it says what it did.
func (c *cluster) inject(ctx context.Context, name string, kill **killReport) (string, error) {
	switch name {
	case "kill":
		rep, err := c.killMidExport(ctx)
		if err != nil {
			return "SIGKILL mid-export", err
		}
		*kill = rep
		return "SIGKILL " + rep.worker + " mid-export, restarted", nil
	case "rolling":
		what := fmt.Sprintf("rolling restart of %d workers", len(c.workers))
		for i, wk := range c.workers {
			if err := wk.stop(shutdownTimeout + 20*time.Second); err != nil {
				return what, err
			}
			if err := c.startWorker(ctx, i); err != nil {
				return what, err
			}
		}
		return what, nil
	case "temporal":
		if err := c.temporal.stop(time.Minute); err != nil {
			return "Temporal restart", err
		}
		return "Temporal server restarted", c.restartTemporal(ctx)
	default:
		return "PostgreSQL restarted", c.restartPostgres(ctx)
	}
}

// restartPostgres stops the database and starts it again on its port, then waits until Temporal
// answers a visibility query from it.
func (c *cluster) restartPostgres(ctx context.Context) error {
	if _, err := script(ctx, c.s.repo, "stop", c.pgDir); err != nil {
		return err
	}
	if _, err := script(ctx, c.s.repo, "start", c.pgDir, strconv.Itoa(c.pgPort)); err != nil {
		return err
	}
	return c.temporal.waitReady(ctx, 2*time.Minute, c.temporalReady)
}

// exports counts the exports the kill interrupted.
func (k *killReport) exports() int {
	n := 0
	for _, a := range k.lost {
		if a.activityType == exportActivity {
			n++
		}
	}
	return n
}

// exportActivity is the export's activity type.
const exportActivity = "ExportInteractions"

// killMidExport waits for a worker to be running an export that has been going for a while,
// notes every activity that worker is running, SIGKILLs it and starts it again.
func (c *cluster) killMidExport(ctx context.Context) (*killReport, error) {
	deadline := time.Now().Add(c.s.timeout / 3)
	for time.Now().Before(deadline) {
		victim, err := c.exportingWorker(ctx)
		if err != nil {
			return nil, err
		}
		if victim >= 0 {
			wk := c.workers[victim]
			lost, err := c.activitiesOn(ctx, identityPrefix(wk.pid()), 0)
			if err != nil {
				return nil, err
			}
			rep := &killReport{at: time.Now(), worker: wk.name, lost: lost}
			wk.kill()
			if err := c.startWorker(ctx, victim); err != nil {
				return nil, err
			}
			return rep, nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return nil, fmt.Errorf("no worker was exporting within %v: the exports are too quick to be interrupted (raise --conversations)", c.s.timeout/3)
}

// identityPrefix is how the SDK's default worker identity (pid@host@) starts for a process.
func identityPrefix(pid int) string { return strconv.Itoa(pid) + "@" }

// exportingWorker returns the index of a worker running an export started at least two seconds
// ago, or -1.
func (c *cluster) exportingWorker(ctx context.Context) (int, error) {
	for i, wk := range c.workers {
		acts, err := c.activitiesOn(ctx, identityPrefix(wk.pid()), 2*time.Second)
		if err != nil {
			return -1, err
		}
		for _, a := range acts {
			if a.activityType == exportActivity {
				return i, nil
			}
		}
	}
	return -1, nil
}

// activitiesOn lists the activities of open runs started at least minAge ago on a worker whose
// identity starts with prefix.
func (c *cluster) activitiesOn(ctx context.Context, prefix string, minAge time.Duration) ([]inFlight, error) {
	var out []inFlight
	err := c.eachOpenRun(ctx, func(d *workflowservice.DescribeWorkflowExecutionResponse) {
		for _, a := range d.GetPendingActivities() {
			if a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && strings.HasPrefix(a.GetLastWorkerIdentity(), prefix) &&
				time.Since(a.GetLastStartedTime().AsTime()) >= minAge {
				ex := d.GetWorkflowExecutionInfo().GetExecution()
				out = append(out, inFlight{workflowID: ex.GetWorkflowId(), runID: ex.GetRunId(), activityID: a.GetActivityId(), activityType: a.GetActivityType().GetName()})
			}
		}
	})
	return out, err
}

// eachOpenRun describes every running offboarding.
func (c *cluster) eachOpenRun(ctx context.Context, fn func(*workflowservice.DescribeWorkflowExecutionResponse)) error {
	var token []byte
	for {
		page, err := c.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "ExecutionStatus = 'Running' AND WorkflowType = '" + workflows.WorkflowType + "'", NextPageToken: token})
		if err != nil {
			return fmt.Errorf("list open runs: %w", err)
		}
		for _, e := range page.GetExecutions() {
			if err := c.describe(ctx, e, fn); err != nil {
				return err
			}
		}
		if token = page.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}

func (c *cluster) describe(ctx context.Context, e *workflowpb.WorkflowExecutionInfo, fn func(*workflowservice.DescribeWorkflowExecutionResponse)) error {
	d, err := c.tc.DescribeWorkflowExecution(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId())
	if err != nil {
		return fmt.Errorf("describe %s: %w", e.GetExecution().GetWorkflowId(), err)
	}
	fn(d)
	return nil
}
