package workerproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/pace"
	"github.com/offboard/offboard/workflows"
)

// ReconcileWorkflowID is the workflow ID of the Schedule's runs; Temporal appends the scheduled
// time to it, so each run has its own ID (and report).
const ReconcileWorkflowID = workflows.ReconciliationIDPrefix + "scheduled"

// reconcileSpec is when the reconciliation runs, and the note that fingerprints it: the
// Schedule is updated only when its note differs, since the server rewrites cron expressions
// into calendars.
func reconcileSpec(r config.Reconcile) (client.ScheduleSpec, string) {
	if r.Cron != "" {
		return client.ScheduleSpec{CronExpressions: []string{r.Cron}}, "Offboard reconciliation (cron " + r.Cron + "); kept by the workers from OFFBOARD_RECONCILE_*"
	}
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: r.Every}}},
		"Offboard reconciliation (every " + r.Every.String() + "); kept by the workers from OFFBOARD_RECONCILE_*"
}

func reconcileAction() *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{ID: ReconcileWorkflowID, Workflow: workflows.ReconciliationWorkflowType,
		Args: []any{workflows.ReconciliationInput{}}, TaskQueue: workflows.TaskQueue}
}

// EnsureReconcileSchedule creates the reconciliation Schedule (config.ReconcileScheduleID), or
// updates it when its timing differs from r's; it says which it did. Workers starting together
// converge: creating an existing Schedule falls through to the update, which skips an equal
// Schedule and is retried on a conflicting concurrent update.
func EnsureReconcileSchedule(ctx context.Context, sc client.ScheduleClient, r config.Reconcile) (string, error) {
	spec, note := reconcileSpec(r)
	_, err := sc.Create(ctx, client.ScheduleOptions{ID: config.ReconcileScheduleID, Spec: spec, Action: reconcileAction(),
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, Note: note})
	if err == nil {
		return "created", nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return "", fmt.Errorf("create the reconciliation schedule %s: %w", config.ReconcileScheduleID, err)
	}
	h := sc.GetHandle(ctx, config.ReconcileScheduleID)
	outcome := "unchanged"
	update := func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		if s.State != nil && s.State.Note == note {
			outcome = "unchanged"
			return nil, temporal.ErrSkipScheduleUpdate
		}
		s.Spec, s.Action = &spec, reconcileAction()
		if s.State == nil {
			s.State = &client.ScheduleState{}
		}
		s.State.Note, outcome = note, "updated"
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}
	tries := 0
	_, err = pace.Until(ctx, pace.Delays(200*time.Millisecond, 2*time.Second, 0.5), pace.Sleep, func(ctx context.Context) (struct{}, bool, error) {
		tries++
		err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: update})
		if err != nil && tries < 5 {
			return struct{}{}, false, nil // a concurrent update moved the conflict token: read again
		}
		return struct{}{}, true, err
	})
	if err != nil {
		return "", fmt.Errorf("update the reconciliation schedule %s: %w", config.ReconcileScheduleID, err)
	}
	return outcome, nil
}

// keepReconcileSchedule ensures the Schedule when r has a roster, and logs what it did.
func keepReconcileSchedule(ctx context.Context, c client.Client, r config.Reconcile, logger *slog.Logger) error {
	if !r.Enabled() {
		return nil
	}
	did, err := EnsureReconcileSchedule(ctx, c.ScheduleClient(), r)
	if err != nil {
		return err
	}
	logger.Info("reconciliation schedule "+did, "scheduleId", config.ReconcileScheduleID, "action", r.Settings.Action)
	return nil
}
