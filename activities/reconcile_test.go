package activities_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys/emulator"
)

// fakeVisibility answers ListWorkflow with one execution a page, so that paging is exercised.
type fakeVisibility struct {
	activities.TemporalClient
	runs    map[string]enums.WorkflowExecutionStatus // workflow ID -> status
	queries []string
}

func (f *fakeVisibility) ListWorkflow(_ context.Context, r *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.queries = append(f.queries, r.Query)
	var ids []string
	for id := range f.runs {
		ids = append(ids, id)
	}
	// Deterministic pages: sorted IDs, one per page, the token the next index.
	slices.Sort(ids)
	i := 0
	if len(r.NextPageToken) > 0 {
		_, _ = fmt.Sscan(string(r.NextPageToken), &i)
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	if i < len(ids) {
		resp.Executions = []*workflowpb.WorkflowExecutionInfo{{Execution: &common.WorkflowExecution{WorkflowId: ids[i]}, Status: f.runs[ids[i]]}}
	}
	if i+1 < len(ids) {
		resp.NextPageToken = []byte(fmt.Sprint(i + 1))
	}
	return resp, nil
}

// activeUsers returns n seeded active users other than the ambiguous rehire.
func (h *harness) activeUsers(t *testing.T, n int) []emulator.UserRecord {
	t.Helper()
	var out []emulator.UserRecord
	for i, u := range h.emu.SeedUsers() {
		if u.State == "active" && i != emulator.AmbiguousRehireIndex && i != emulator.AmbiguousEarlierIndex && len(out) < n {
			rec, _ := h.emu.User(u.ID)
			out = append(out, rec)
		}
	}
	require.Len(t, out, n)
	return out
}

func writeRoster(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return "file://" + p
}

func reconcileInput(roster string) activities.ReconcileInput {
	return activities.ReconcileInput{RosterURL: roster, Run: "reconciliation-test-1", Day: clock,
		Dispositions: []string{"archive", "delete"}, Offboardings: "WorkflowType = 'Offboarding'", WorkflowIDPrefix: "offboarding-"}
}

func Test_GivenARosterOfEachKind_ShouldReportTerminatedActiveOffboardedUnknownAndRehireOnce(t *testing.T) {
	h := dev(t)
	u := h.activeUsers(t, 6)
	inactive, _ := h.emu.User(h.userIn(t, "inactive", 0).ID)
	vis := &fakeVisibility{runs: map[string]enums.WorkflowExecutionStatus{
		"offboarding-" + u[2].ID: enums.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		"offboarding-" + u[3].ID: enums.WORKFLOW_EXECUTION_STATUS_RUNNING,
		"offboarding-" + u[4].ID: enums.WORKFLOW_EXECUTION_STATUS_RUNNING,
	}}
	h.a.Temporal = vis
	roster := writeRoster(t, "leavers.csv", strings.Join([]string{
		"email,employeeId,userId,status,terminationDate,disposition",
		strings.ToUpper(u[0].Email) + ",,,terminated,2026-01-31,", // 2: terminated, active
		"," + u[1].EmployeeID + ",,terminated,,delete",            // 3: terminated, active
		",,," + u[2].ID + ",terminated,2026-02-01,",               // 4: already offboarded (wrong column count: fixed below)
		"nobody@example.com,,,terminated,,",                       // 5: unknown
		u[3].Email + ",,,active,,",                                // 6: rehire in flight
		",," + u[4].ID + ",terminated,,",                          // 7: in flight
		u[5].Email + ",,,terminated,2099-01-01,",                  // 8: not yet due
		inactive.Email + ",,,terminated,,",                        // 9: consistent
	}, "\n"))
	// Line 4 above has one field too many on purpose: the roster is refused whole, naming it.
	_, err := h.env.ExecuteActivity(h.a.Reconcile, reconcileInput(roster))
	appError(t, err, activities.ErrInvalidInput, false)
	assert.ErrorContains(t, err, "line 4")
	assert.NotContains(t, err.Error(), u[2].ID)
	ok, _ := h.a.Store.Exists(context.Background(), activities.ReconciliationKey("reconciliation-test-1"))
	assert.False(t, ok, "a refused roster writes no report")

	roster = writeRoster(t, "leavers.csv", strings.Replace(mustRead(t, roster), ",,,"+u[2].ID, ",,"+u[2].ID, 1))
	var rec activities.Reconciliation
	require.NoError(t, run(t, h, &rec, h.a.Reconcile, reconcileInput(roster)))
	want := []activities.Finding{
		{Line: 2, Kind: activities.FindingTerminatedActive, UserID: u[0].ID},
		{Line: 3, Kind: activities.FindingTerminatedActive, UserID: u[1].ID, Disposition: "delete"},
		{Line: 4, Kind: activities.FindingAlreadyOffboarded, UserID: u[2].ID, WorkflowID: "offboarding-" + u[2].ID},
		{Line: 5, Kind: activities.FindingUnknown},
		{Line: 6, Kind: activities.FindingRehire, UserID: u[3].ID, WorkflowID: "offboarding-" + u[3].ID},
		{Line: 7, Kind: activities.FindingInFlight, UserID: u[4].ID, WorkflowID: "offboarding-" + u[4].ID},
	}
	assert.Equal(t, want, rec.Findings)
	assert.Equal(t, map[string]int{"rows": 8, "genesys-users": len(h.emu.SeedUsers()), "terminated-active": 2, "already-offboarded": 1,
		"unknown": 1, "rehire-in-flight": 1, "in-flight": 1, "not-yet-due": 1, "consistent": 1}, rec.Counts)
	assert.Len(t, vis.queries, 3, "one visibility page per run")
	assert.True(t, strings.HasSuffix(rec.ReportURL, "/reconciliations/reconciliation-test-1/report.json"))

	raw, err := h.a.Store.ReadAll(context.Background(), activities.ReconciliationKey("reconciliation-test-1"))
	require.NoError(t, err)
	var rep activities.ReconciliationReport
	require.NoError(t, json.Unmarshal(raw, &rep))
	require.Len(t, rep.Findings, 6)
	assert.Equal(t, strings.ToUpper(u[0].Email), rep.Findings[0].Row.Email, "the row as HR gave it")
	assert.Equal(t, rec.Counts, rep.Counts)

	// A retry after the report was written returns it, even though Genesys has changed since.
	calls := len(h.emu.Calls())
	_, err = h.env.ExecuteActivity(h.a.DeactivateUser, activities.UserRef{UserID: u[0].ID})
	require.NoError(t, err)
	var again activities.Reconciliation
	require.NoError(t, run(t, h, &again, h.a.Reconcile, reconcileInput(roster)))
	assert.Equal(t, rec, again)
	assert.Greater(t, len(h.emu.Calls()), calls)
}

func mustRead(t *testing.T, fileURL string) string {
	t.Helper()
	b, err := os.ReadFile(strings.TrimPrefix(fileURL, "file://"))
	require.NoError(t, err)
	return string(b)
}

func Test_GivenMoreUsersThanAPage_ShouldPageTheDirectoryAtTheLargestPageAndFindTheLastUser(t *testing.T) {
	h := newHarnessOf(t, emulator.DevClientID, emulator.DevClientSecret, emulator.Options{RequestsPerMinute: -1, Users: 1100, Conversations: 100})
	h.a.Temporal = &fakeVisibility{}
	emu := h.emu

	// The last user in the listing's order (by name) is on its third page.
	seed := emu.SeedUsers()
	last := seed[0]
	for _, u := range seed {
		if u.State == "active" && u.Name > last.Name {
			last = u
		}
	}
	rec, _ := emu.User(last.ID)
	roster := writeRoster(t, "leavers.json", `[{"email":"`+rec.Email+`","status":"terminated"}]`)
	var got activities.Reconciliation
	require.NoError(t, run(t, h, &got, h.a.Reconcile, reconcileInput(roster)))
	assert.Equal(t, []activities.Finding{{Line: 1, Kind: activities.FindingTerminatedActive, UserID: last.ID}}, got.Findings)
	assert.Equal(t, 1100, got.Counts[activities.CountUsers])

	var pages []string
	for _, c := range emu.Calls() {
		if c.Method == "GET" && c.Path == "/api/v2/users" {
			pages = append(pages, c.Query)
		}
	}
	require.Len(t, pages, 3, "1100 users are three pages of 500")
	for i, q := range pages {
		assert.Contains(t, q, "pageSize=500")
		assert.Contains(t, q, fmt.Sprintf("pageNumber=%d", i+1))
		assert.Contains(t, q, "state=any")
	}
}
