package activities_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenStationChangesThatApplyEventually_ShouldReadBackUntilTheyShow(t *testing.T) {
	for name, f := range map[string]emulator.Faults{
		"lagging reads":     {StationLag: 2},
		"version conflicts": {StationConflicts: 2},
		"both at once":      {StationLag: 1, StationConflicts: 1},
	} {
		t.Run(name, func(t *testing.T) {
			h := accessHarness(t)
			s := h.rich(t, holdsEverything)
			h.emu.SetFaults(f)
			in := activities.AccessStepInput{UserID: s.UserID, Step: activities.StepStation, Snapshot: s}
			r, err := h.step(t, h.a.RevokeAccess, in)
			require.NoError(t, err)
			assert.True(t, r.Changed)
			assert.JSONEq(t, `{}`, string(r.After))
			rec, ok := h.emu.Access(s.UserID)
			require.True(t, ok)
			assert.Empty(t, rec.StationID)
			assert.Empty(t, rec.DefaultStationID)

			h.emu.SetFaults(f)
			r, err = h.step(t, h.a.RestoreAccess, in)
			require.NoError(t, err)
			assert.True(t, r.Changed)
			st, err := h.a.Genesys.UserStations(context.Background(), s.UserID)
			require.NoError(t, err)
			assert.Equal(t, s.Stations, st)
		})
	}
}

func Test_GivenAReadBackThatNeverShowsTheGoal_ShouldFailRetryablyAndNeverReportSuccess(t *testing.T) {
	h := accessHarness(t)
	s := h.rich(t, holdsEverything)
	h.emu.SetFaults(emulator.Faults{StationLag: 50})
	in := activities.AccessStepInput{UserID: s.UserID, Step: activities.StepStation, Snapshot: s}
	r, err := h.step(t, h.a.RevokeAccess, in)
	ae := appError(t, err, activities.ErrNotYetConsistent, true)
	assert.Contains(t, ae.Error(), "after 4 reads")
	assert.Empty(t, r.Step, "no result is reported for a step that did not read back")

	rec, ok := h.emu.Access(s.UserID)
	require.True(t, ok)
	assert.Empty(t, rec.StationID, "the change was made; only its read-back is missing")

	h = accessHarness(t)
	h.emu.SetFaults(emulator.Faults{StationConflicts: 50})
	_, err = h.step(t, h.a.RevokeAccess, in)
	ae = appError(t, err, activities.ErrNotYetConsistent, true)
	assert.Contains(t, ae.Error(), "version conflict")
	rec, ok = h.emu.Access(s.UserID)
	require.True(t, ok)
	assert.Equal(t, s.Stations.AssociatedID, rec.StationID)
}
