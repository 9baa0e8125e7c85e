package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/devstack/stack"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// The worker keeps the reconciliation Schedule (its roster set in TestMain); `starter reconcile
// run` triggers it, and the report in the export store names each kind of row.
func Test_GivenARosterOfLeavers_ShouldReportTerminatedActiveOffboardedUnknownAndRehire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	active1, active2, offboarded, rehired := users.take(t), users.take(t), users.take(t), users.take(t)
	startOffboarding(t, hrapi.OffboardingRequest{UserID: offboarded.ID, Disposition: "archive", Reason: "left", HREventID: "e2e-reconcile-done"})
	startOffboarding(t, hrapi.OffboardingRequest{UserID: rehired.ID, Disposition: "archive", Reason: "leaving",
		EffectiveAt: time.Now().Add(time.Hour).UTC().Format(time.RFC3339), HREventID: "e2e-reconcile-rehire"})
	t.Cleanup(func() { _, _ = as(stack.TokenHR).Cancel(ctx, rehired.ID, "rehired") })
	waitStage(t, offboarded.ID, workflows.OutcomeArchived)
	waitStage(t, rehired.ID, workflows.StageScheduled)

	r1, _ := stk.Emulator.User(active1.ID)
	r2, _ := stk.Emulator.User(active2.ID)
	r4, _ := stk.Emulator.User(rehired.ID)
	roster := strings.Join([]string{
		"email,employeeId,userId,status,terminationDate,disposition",
		strings.ToUpper(r1.Email) + ",,,terminated,2026-01-31,", // line 2
		"," + r2.EmployeeID + ",,terminated,,delete",            // line 3
		",," + offboarded.ID + ",terminated,,",                  // line 4
		"nobody@example.com,,,terminated,,",                     // line 5
		r4.Email + ",,,active,,",                                // line 6
	}, "\n") + "\n"
	require.NoError(t, os.MkdirAll(filepath.Dir(rosterPath), 0o700))
	require.NoError(t, os.WriteFile(rosterPath, []byte(roster), 0o600))

	d, err := stk.Client.ScheduleClient().GetHandle(ctx, config.ReconcileScheduleID).Describe(ctx)
	require.NoError(t, err, "the worker creates the schedule at start")
	assert.Contains(t, d.Schedule.State.Note, "every 24h0m0s")

	cmd := exec.Command(filepath.Join(bins, "starter"), "reconcile", "run")
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+stk.Temporal.Address, "TEMPORAL_NAMESPACE="+stk.Temporal.Namespace,
		config.EnvPayloadKeysFile+"="+stk.PayloadKeysPath)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	rep := waitReport(t)
	byLine := map[int]activities.ReportFinding{}
	for _, f := range rep.Findings {
		byLine[f.Line] = f
	}
	want := map[int]activities.Finding{
		2: {Line: 2, Kind: activities.FindingTerminatedActive, UserID: active1.ID},
		3: {Line: 3, Kind: activities.FindingTerminatedActive, UserID: active2.ID, Disposition: "delete"},
		4: {Line: 4, Kind: activities.FindingAlreadyOffboarded, UserID: offboarded.ID, WorkflowID: workflows.WorkflowID(offboarded.ID)},
		5: {Line: 5, Kind: activities.FindingUnknown},
		6: {Line: 6, Kind: activities.FindingRehire, UserID: rehired.ID, WorkflowID: workflows.WorkflowID(rehired.ID)},
	}
	require.Len(t, byLine, len(want), "findings: %+v", rep.Findings)
	for line, f := range want {
		assert.Equal(t, f, byLine[line].Finding, "line %d", line)
	}
	assert.Equal(t, strings.ToUpper(r1.Email), byLine[2].Row.Email, "the report holds the row as HR gave it")
	assert.Equal(t, 5, rep.Counts[activities.CountRows])
	assert.Equal(t, 2, rep.Counts[activities.FindingTerminatedActive])
	assert.Equal(t, "active", userState(t, active1.ID), "report only: nobody was offboarded")

	var done []activities.Notification
	require.Eventually(t, func() bool { done = hooks.For(rep.Run); return len(done) > 0 }, runWait, 200*time.Millisecond)
	n := done[0]
	assert.Equal(t, workflows.EventReconciliationCompleted, n.Event)
	assert.Equal(t, rep.Counts, n.Counts)
	assert.Equal(t, stk.ExportURL+"/"+activities.ReconciliationKey(rep.Run), n.ReportURL)
	body, _ := json.Marshal(n)
	for _, personal := range []string{r1.Email, strings.ToUpper(r1.Email), r2.EmployeeID, r4.Email, "nobody@example.com"} {
		assert.NotContains(t, string(body), personal, "the notification carries no personal data")
	}
}

// waitReport waits for the triggered run's report in the export store.
func waitReport(t *testing.T) activities.ReconciliationReport {
	t.Helper()
	var rep activities.ReconciliationReport
	require.Eventually(t, func() bool {
		found, _ := filepath.Glob(filepath.Join(stk.ExportDir, "reconciliations", "*", "report.json"))
		if len(found) != 1 {
			return false
		}
		raw, err := os.ReadFile(found[0])
		return err == nil && json.Unmarshal(raw, &rep) == nil
	}, runWait, 200*time.Millisecond, "no reconciliation report appeared")
	require.True(t, strings.HasPrefix(rep.Run, workflows.ReconciliationIDPrefix), rep.Run)
	return rep
}
