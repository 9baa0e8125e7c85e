package main

import (
	"context"
	"fmt"
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

// injectFaults runs the fault schedule while the runs are in flight: a worker SIGKILLed while it
// exports, then restarted; every worker restarted in turn (SIGTERM, drain, start); the Temporal
// server restarted; PostgreSQL restarted. Each fault waits for the cluster to be whole again
// before the next, with a pause between them so that runs move on in between.
func (c *cluster) injectFaults(ctx context.Context, w *workload) ([]fault, *killReport, error) {
	var faults []fault
	record := func(name string, at time.Time, down time.Duration) {
		faults = append(faults, fault{name: name, at: at, open: len(w.open()), downtime: down})
		fmt.Printf("%s  %s (%d runs open, back after %v)\n", at.UTC().Format("15:04:05"), name, len(w.open()), down.Round(100*time.Millisecond))
	}

	kill, err := c.killMidExport(ctx)
	if err != nil {
		return faults, nil, err
	}
	record("SIGKILL "+kill.worker+" mid-export, restarted", kill.at, time.Since(kill.at))

	pause := func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.s.pause):
			return nil
		}
	}
	if err := pause(); err != nil {
		return faults, kill, err
	}
	at := time.Now()
	for i, wk := range c.workers {
		if err := wk.stop(shutdownTimeout + 20*time.Second); err != nil {
			return faults, kill, fmt.Errorf("rolling restart: %w", err)
		}
		if err := c.startWorker(ctx, i); err != nil {
			return faults, kill, fmt.Errorf("rolling restart: %w", err)
		}
	}
	record(fmt.Sprintf("rolling restart of %d workers", len(c.workers)), at, time.Since(at))

	if err := pause(); err != nil {
		return faults, kill, err
	}
	at = time.Now()
	if err := c.temporal.stop(time.Minute); err != nil {
		return faults, kill, err
	}
	if err := c.restartTemporal(ctx); err != nil {
		return faults, kill, err
	}
	record("Temporal server restarted", at, time.Since(at))

	if err := pause(); err != nil {
		return faults, kill, err
	}
	at = time.Now()
	if err := c.restartPostgres(ctx); err != nil {
		return faults, kill, err
	}
	record("PostgreSQL restarted", at, time.Since(at))
	return faults, kill, nil
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
			lost, err := c.activitiesOn(ctx, identityPrefix(wk.pid()))
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
		acts, err := c.activitiesOn(ctx, identityPrefix(wk.pid()))
		if err != nil {
			return -1, err
		}
		for _, a := range acts {
			if a.activityType == "ExportInteractions" {
				return i, nil
			}
		}
	}
	return -1, nil
}

// activitiesOn lists the started activities of open runs whose worker identity starts with prefix.
func (c *cluster) activitiesOn(ctx context.Context, prefix string) ([]inFlight, error) {
	var out []inFlight
	err := c.eachOpenRun(ctx, func(d *workflowservice.DescribeWorkflowExecutionResponse) {
		for _, a := range d.GetPendingActivities() {
			if a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && strings.HasPrefix(a.GetLastWorkerIdentity(), prefix) &&
				time.Since(a.GetLastStartedTime().AsTime()) > 2*time.Second {
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
