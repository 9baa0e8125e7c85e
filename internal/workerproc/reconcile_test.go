package workerproc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/workflows"
)

// schedules is one Schedule server side: Create fails once it exists, and Update applies
// DoUpdate to it, failing the first conflicts updates as a concurrent writer would.
type schedules struct {
	client.ScheduleClient
	schedule  *client.Schedule
	creates   int
	updates   int
	conflicts int
}

func (s *schedules) Create(_ context.Context, o client.ScheduleOptions) (client.ScheduleHandle, error) {
	s.creates++
	if s.schedule != nil {
		return nil, temporal.ErrScheduleAlreadyRunning
	}
	s.schedule = &client.Schedule{Spec: &o.Spec, Action: o.Action, State: &client.ScheduleState{Note: o.Note}}
	return nil, nil
}

func (s *schedules) GetHandle(context.Context, string) client.ScheduleHandle {
	return &scheduleHandle{s: s}
}

type scheduleHandle struct {
	client.ScheduleHandle
	s *schedules
}

func (h *scheduleHandle) Update(_ context.Context, o client.ScheduleUpdateOptions) error {
	if h.s.conflicts > 0 {
		h.s.conflicts--
		return errors.New("conflict token mismatch")
	}
	u, err := o.DoUpdate(client.ScheduleUpdateInput{Description: client.ScheduleDescription{Schedule: *h.s.schedule}})
	if errors.Is(err, temporal.ErrSkipScheduleUpdate) {
		return nil
	}
	if err != nil {
		return err
	}
	h.s.updates++
	h.s.schedule = u.Schedule
	return nil
}

func Test_GivenWorkersStartingWithTheSameOrNewTiming_ShouldCreateTheScheduleOnceAndUpdateOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	s := &schedules{}
	daily := config.Reconcile{Settings: workflows.ReconcileSettings{RosterURL: "file:///hr/leavers.csv"}, Every: 24 * time.Hour}

	did, err := EnsureReconcileSchedule(ctx, s, daily)
	require.NoError(t, err)
	assert.Equal(t, "created", did)
	act := s.schedule.Action.(*client.ScheduleWorkflowAction)
	assert.Equal(t, workflows.ReconciliationWorkflowType, act.Workflow)
	assert.Equal(t, workflows.ReconciliationIDPrefix+"scheduled", act.ID)
	assert.Equal(t, workflows.TaskQueue, act.TaskQueue)

	did, err = EnsureReconcileSchedule(ctx, s, daily)
	require.NoError(t, err)
	assert.Equal(t, "unchanged", did, "a second worker with the same settings changes nothing")
	assert.Zero(t, s.updates)

	weekdays := daily
	weekdays.Every, weekdays.Cron = 0, "0 6 * * 1-5"
	s.conflicts = 2
	did, err = EnsureReconcileSchedule(ctx, s, weekdays)
	require.NoError(t, err)
	assert.Equal(t, "updated", did, "a changed timing is applied, past concurrent updates")
	assert.Equal(t, []string{"0 6 * * 1-5"}, s.schedule.Spec.CronExpressions)
	assert.Empty(t, s.schedule.Spec.Intervals)
	assert.Contains(t, s.schedule.State.Note, "cron 0 6 * * 1-5")
	assert.Equal(t, 1, s.updates)
	assert.Equal(t, 3, s.creates)
}
