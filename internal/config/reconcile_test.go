package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/workflows"
)

func Test_GivenNoReconcileSettings_ShouldBeDisabledDailyReportOnly(t *testing.T) {
	r, err := Source{Env: MapEnv{}}.Reconcile()
	require.NoError(t, err)
	assert.False(t, r.Enabled())
	assert.Equal(t, Reconcile{Settings: workflows.ReconcileSettings{Action: "report", Disposition: "archive"}, Every: 24 * time.Hour}, r)
}

func Test_GivenAnIntervalOrACron_ShouldScheduleByIt(t *testing.T) {
	r, err := Source{Env: MapEnv{EnvReconcileRosterURL: "s3://hr/leavers.csv?region=eu-west-1", EnvReconcileEvery: "0 6 * * 1-5",
		EnvReconcileAction: "offboard", EnvReconcileDisposition: "delete"}}.Reconcile()
	require.NoError(t, err)
	assert.Equal(t, Reconcile{Settings: workflows.ReconcileSettings{RosterURL: "s3://hr/leavers.csv?region=eu-west-1", Action: "offboard", Disposition: "delete"}, Cron: "0 6 * * 1-5"}, r)
	r, err = Source{Env: MapEnv{EnvReconcileEvery: "6h"}}.Reconcile()
	require.NoError(t, err)
	assert.Equal(t, 6*time.Hour, r.Every)
}

func Test_GivenBadReconcileSettings_ShouldNameEachSetting(t *testing.T) {
	_, err := Source{Env: MapEnv{EnvReconcileRosterURL: "ftp://hr/x.csv", EnvReconcileEvery: "daily-ish", EnvReconcileAction: "shred"}}.Reconcile()
	require.Error(t, err)
	for _, want := range []string{EnvReconcileRosterURL, EnvReconcileEvery + `="daily-ish"`, `reconciliation action "shred" is unknown`} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = Source{Env: MapEnv{EnvReconcileEvery: "10s"}}.Reconcile()
	assert.ErrorContains(t, err, "at most once a minute")
}
