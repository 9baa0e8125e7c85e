package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/starter/hrapi"
)

// reconcileCmd triggers and shows the reconciliation Schedule, which the workers create and
// keep from OFFBOARD_RECONCILE_* (docs/operations.md, "Reconciliation").
func (c *cli) reconcileCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "reconcile", Short: "Run the reconciliation of HR's roster with Genesys now, or show its Schedule"}
	cmd.AddCommand(
		c.serviceCmd("run", "Trigger a reconciliation now (after the one running, if any)", cobra.NoArgs,
			func(cmd *cobra.Command, _ []string, svc *hrapi.Service) (any, func(io.Writer), error) {
				h := svc.Client.ScheduleClient().GetHandle(cmd.Context(), config.ReconcileScheduleID)
				err := h.Trigger(cmd.Context(), client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE})
				if err != nil {
					return nil, nil, fmt.Errorf("trigger the schedule %s (a worker with OFFBOARD_RECONCILE_ROSTER_URL creates it): %w", config.ReconcileScheduleID, err)
				}
				res := map[string]string{"schedule": config.ReconcileScheduleID, "triggered": "now"}
				return res, func(w io.Writer) {
					fmt.Fprintf(w, "Triggered %s; its report goes to the export store under reconciliations/.\n", config.ReconcileScheduleID)
				}, nil
			}),
		c.serviceCmd("status", "Show the reconciliation Schedule: its timing, next runs and recent runs", cobra.NoArgs,
			func(cmd *cobra.Command, _ []string, svc *hrapi.Service) (any, func(io.Writer), error) {
				d, err := svc.Client.ScheduleClient().GetHandle(cmd.Context(), config.ReconcileScheduleID).Describe(cmd.Context())
				if err != nil {
					return nil, nil, fmt.Errorf("describe the schedule %s: %w", config.ReconcileScheduleID, err)
				}
				st := scheduleStatus(d)
				return st, st.text, nil
			}))
	return cmd
}

// reconcileStatus is what reconcile status shows.
type reconcileStatus struct {
	Schedule string      `json:"schedule"`
	Note     string      `json:"note"`
	Paused   bool        `json:"paused"`
	Next     []time.Time `json:"next"`
	Recent   []string    `json:"recent"`
}

func scheduleStatus(d *client.ScheduleDescription) reconcileStatus {
	st := reconcileStatus{Schedule: config.ReconcileScheduleID, Next: d.Info.NextActionTimes, Recent: []string{}}
	if s := d.Schedule.State; s != nil {
		st.Note, st.Paused = s.Note, s.Paused
	}
	for _, a := range d.Info.RecentActions {
		if a.StartWorkflowResult != nil {
			st.Recent = append(st.Recent, a.StartWorkflowResult.WorkflowID)
		}
	}
	return st
}

func (st reconcileStatus) text(w io.Writer) {
	fmt.Fprintf(w, "%s: %s (paused: %t)\n", st.Schedule, st.Note, st.Paused)
	for _, t := range st.Next {
		fmt.Fprintf(w, "  next    %s\n", t.UTC().Format(time.RFC3339))
	}
	for _, id := range st.Recent {
		fmt.Fprintf(w, "  recent  %s\n", id)
	}
}
