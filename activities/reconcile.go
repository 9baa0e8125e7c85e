package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
)

// Finding kinds of a reconciliation.
const (
	// FindingTerminatedActive: HR has terminated the person, Genesys still has them active, and
	// no offboarding of them is in flight or has ended in archived or deleted.
	FindingTerminatedActive = "terminated-active"
	// FindingAlreadyOffboarded: HR has terminated the person and an offboarding of them ended
	// archived or deleted.
	FindingAlreadyOffboarded = "already-offboarded"
	// FindingInFlight: HR has terminated the person and an offboarding of them is running.
	FindingInFlight = "in-flight"
	// FindingRehire: HR reports the person active while an offboarding of them is running.
	FindingRehire = "rehire-in-flight"
	// FindingUnknown: no Genesys user matches the row.
	FindingUnknown = "unknown"
	// FindingAmbiguous: several Genesys users match the row's email or employee ID.
	FindingAmbiguous = "ambiguous"
)

// Counts of a reconciliation besides its findings' kinds.
const (
	CountRows       = "rows"
	CountConsistent = "consistent" // Genesys agrees with HR and nothing is in flight
	CountNotYetDue  = "not-yet-due"
	CountUsers      = "genesys-users"
)

// TemporalClient is what activities need of the worker's Temporal client: reading visibility
// (Reconcile) and signalling a run (an export's progress reports).
type TemporalClient interface {
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// ReconcileInput is one reconciliation: the roster to read, where its report goes, and how to
// find the offboardings in visibility.
type ReconcileInput struct {
	RosterURL string `json:"rosterUrl"`
	// Run names the report: reconciliations/<Run>/report.json.
	Run string `json:"run"`
	// Day is the run's date: a termination dated after it is not yet due.
	Day time.Time `json:"day"`
	// Dispositions are those a roster row may name.
	Dispositions []string `json:"dispositions"`
	// Offboardings is the visibility query of the offboardings that count (running, or ended
	// archived or deleted); WorkflowIDPrefix precedes the user ID in their workflow IDs.
	Offboardings     string `json:"offboardings"`
	WorkflowIDPrefix string `json:"workflowIdPrefix"`
}

// Finding is one roster row that needs a look, without the row's personal data.
type Finding struct {
	Line        int    `json:"line"`
	Kind        string `json:"kind"`
	UserID      string `json:"userId,omitempty"`
	WorkflowID  string `json:"workflowId,omitempty"`
	Disposition string `json:"disposition,omitempty"`
}

// ReportFinding is a Finding in the report, with the roster row as HR gave it.
type ReportFinding struct {
	Finding
	Row RosterRow `json:"row"`
}

// ReconciliationReport is what reconciliations/<run>/report.json holds.
type ReconciliationReport struct {
	Run       string          `json:"run"`
	Roster    string          `json:"roster"`
	Day       string          `json:"day"`
	Counts    map[string]int  `json:"counts"`
	Findings  []ReportFinding `json:"findings"`
	CreatedAt time.Time       `json:"createdAt"`
}

// Reconciliation is what Reconcile returns: the counts, the report's URL, and the findings
// without personal data.
type Reconciliation struct {
	Counts    map[string]int `json:"counts"`
	ReportURL string         `json:"reportUrl"`
	Findings  []Finding      `json:"findings"`
}

// ReconciliationKey is where the report of run is stored.
func ReconciliationKey(run string) string { return "reconciliations/" + run + "/report.json" }

// Reconcile compares HR's roster with Genesys's users and the offboardings in visibility,
// writes the report once, and returns its findings. A retry after the report was written
// returns the stored report's findings. A bad roster is ErrInvalidInput and writes nothing.
// Needs directory:user:view.
//
// Retry: default policy; ErrInvalidInput is final.
func (a *Activities) Reconcile(ctx context.Context, in ReconcileInput) (Reconciliation, error) {
	key := ReconciliationKey(in.Run)
	if in.Run == "" || strings.ContainsAny(in.Run, "/\\") {
		return Reconciliation{}, failf(ErrInvalidInput, "reconcile: run %q must be a non-empty name without slashes", in.Run)
	}
	if raw, err := a.Store.ReadAll(ctx, key); err == nil {
		return storedReconciliation(a.Store, key, raw)
	} else if !bundle.IsNotFound(err) {
		return Reconciliation{}, err
	}
	rep, err := a.compare(ctx, in)
	if err != nil {
		return Reconciliation{}, err
	}
	body, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return Reconciliation{}, failf(ErrInvalidInput, "encode the report: %v", err)
	}
	err = a.Store.WriteOnce(ctx, key, body, "application/json")
	if errors.Is(err, bundle.ErrObjectExists) {
		// An earlier attempt wrote its report meanwhile: that one stands.
		raw, rerr := a.Store.ReadAll(ctx, key)
		if rerr != nil {
			return Reconciliation{}, rerr
		}
		return storedReconciliation(a.Store, key, raw)
	}
	if err != nil {
		return Reconciliation{}, err
	}
	activity.GetLogger(ctx).Info("reconciliation reported", "run", in.Run, "counts", rep.Counts)
	return summarise(a.Store, key, rep), nil
}

func storedReconciliation(s *bundle.Store, key string, raw []byte) (Reconciliation, error) {
	var rep ReconciliationReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		return Reconciliation{}, failf(ErrInvalidInput, "the stored report %s is not a reconciliation report: %v", key, err)
	}
	return summarise(s, key, rep), nil
}

func summarise(s *bundle.Store, key string, rep ReconciliationReport) Reconciliation {
	out := Reconciliation{Counts: rep.Counts, ReportURL: s.URL(key), Findings: make([]Finding, 0, len(rep.Findings))}
	for _, f := range rep.Findings {
		out.Findings = append(out.Findings, f.Finding)
	}
	return out
}

// compare reads the roster, Genesys's users and the offboardings, and classifies each row.
func (a *Activities) compare(ctx context.Context, in ReconcileInput) (ReconciliationReport, error) {
	body, err := bundle.ReadURL(ctx, in.RosterURL, MaxRosterBytes)
	if bundle.IsNotFound(err) {
		return ReconciliationReport{}, failf(ErrInvalidInput, "the roster %s does not exist: check the roster URL", stripURLQuery(in.RosterURL))
	}
	if err != nil {
		return ReconciliationReport{}, err
	}
	rows, err := ParseRoster(in.RosterURL, body, in.Dispositions)
	if err != nil {
		return ReconciliationReport{}, failure(ErrInvalidInput, nil, err.Error())
	}
	dir, err := a.readDirectory(ctx)
	if err != nil {
		return ReconciliationReport{}, asTemporalError(err)
	}
	runs, err := a.readOffboardings(ctx, in)
	if err != nil {
		return ReconciliationReport{}, err
	}
	day := in.Day.UTC().Truncate(24 * time.Hour)
	rep := ReconciliationReport{Run: in.Run, Roster: stripURLQuery(in.RosterURL), Day: day.Format(time.DateOnly),
		Counts: map[string]int{CountRows: len(rows), CountUsers: dir.users}, Findings: []ReportFinding{}, CreatedAt: a.now()}
	for _, r := range rows {
		f, counted := classify(r, dir, runs, day)
		rep.Counts[counted]++
		if f.Kind != "" {
			rep.Findings = append(rep.Findings, ReportFinding{Finding: f, Row: r})
		}
	}
	return rep, nil
}

// directory indexes Genesys's users by ID, email (case-insensitively) and employee ID.
type directory struct {
	byID, byEmail, byEmployeeID map[string][]genesys.DirectoryUser
	users                       int
}

// emailKey buckets emails; a match within a bucket is confirmed with genesys.FieldEmail.Same.
func emailKey(s string) string { return strings.ToLower(strings.ToUpper(strings.TrimSpace(s))) }

// readDirectory pages every Genesys user (state any, so that an inactive or deleted user is
// told apart from an unknown one), heartbeating each page.
func (a *Activities) readDirectory(ctx context.Context) (directory, error) {
	d := directory{byID: map[string][]genesys.DirectoryUser{}, byEmail: map[string][]genesys.DirectoryUser{}, byEmployeeID: map[string][]genesys.DirectoryUser{}}
	for page := 1; ; page++ {
		p, err := a.Genesys.ListUsers(ctx, genesys.StateAny, genesys.MaxUsersPageSize, page)
		if err != nil {
			return directory{}, err
		}
		for _, u := range p.Users {
			d.users++
			d.byID[u.ID] = append(d.byID[u.ID], u)
			if u.Email != "" {
				d.byEmail[emailKey(u.Email)] = append(d.byEmail[emailKey(u.Email)], u)
			}
			if u.EmployeeID != "" {
				d.byEmployeeID[u.EmployeeID] = append(d.byEmployeeID[u.EmployeeID], u)
			}
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, page)
		}
		if !p.More || len(p.Users) == 0 {
			return d, nil
		}
	}
}

// match lists the Genesys users that the row names.
func (d directory) match(r RosterRow) []genesys.DirectoryUser {
	switch r.identifiedBy() {
	case "userId":
		return d.byID[r.UserID]
	case IdentifyByEmployeeID:
		return d.byEmployeeID[r.EmployeeID]
	}
	var out []genesys.DirectoryUser
	for _, u := range d.byEmail[emailKey(r.Email)] {
		if genesys.FieldEmail.Same(u.Email, r.Email) {
			out = append(out, u)
		}
	}
	return out
}

// offboardingRun is what visibility says of one user's offboardings.
type offboardingRun struct {
	workflowID string
	running    bool
}

// readOffboardings lists the offboardings in.Offboardings selects, by user ID; a running one
// outweighs one that has ended.
func (a *Activities) readOffboardings(ctx context.Context, in ReconcileInput) (map[string]offboardingRun, error) {
	if a.Temporal == nil {
		return nil, failf(ErrInvalidInput, "reconcile: the worker has no Temporal client to read visibility with")
	}
	runs := map[string]offboardingRun{}
	var token []byte
	for {
		resp, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: activity.GetInfo(ctx).Namespace, Query: in.Offboardings, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list offboardings in visibility: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			id := e.GetExecution().GetWorkflowId()
			userID, ok := strings.CutPrefix(id, in.WorkflowIDPrefix)
			if !ok || runs[userID].running {
				continue
			}
			runs[userID] = offboardingRun{workflowID: id, running: e.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING}
		}
		activity.RecordHeartbeat(ctx, len(runs))
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return runs, nil
		}
	}
}

// classify says what a row is: a finding, or only a count (the second result names the count).
func classify(r RosterRow, dir directory, runs map[string]offboardingRun, day time.Time) (Finding, string) {
	f := Finding{Line: r.Line, Disposition: r.Disposition}
	users := dir.match(r)
	switch {
	case len(users) > 1:
		f.Kind = FindingAmbiguous
		return f, f.Kind
	case len(users) == 1:
		f.UserID = users[0].ID
	case r.UserID != "" && runs[r.UserID].workflowID != "":
		f.UserID = r.UserID // gone from the listing, known to visibility
	default:
		f.Kind = FindingUnknown
		return f, f.Kind
	}
	run, active := runs[f.UserID], len(users) == 1 && users[0].State == genesys.StateActive
	f.WorkflowID = run.workflowID
	switch {
	case r.Status == RosterActive && run.running:
		f.Kind = FindingRehire
	case r.Status == RosterActive:
		return Finding{}, CountConsistent
	case !r.terminatedBy(day):
		return Finding{}, CountNotYetDue
	case run.running:
		f.Kind = FindingInFlight
	case run.workflowID != "":
		f.Kind = FindingAlreadyOffboarded
	case active:
		f.Kind = FindingTerminatedActive
	default:
		return Finding{}, CountConsistent
	}
	return f, f.Kind
}

// ReconciliationBatchInput is the items of the batch a reconciliation starts.
type ReconciliationBatchInput struct {
	BatchID string            `json:"batchId"`
	Items   []json.RawMessage `json:"items"`
}

// WriteReconciliationBatch stores the items of a reconciliation's batch
// (bundle.Store.WriteBatchItems), once: a retry with the same items succeeds.
//
// Retry: default policy.
func (a *Activities) WriteReconciliationBatch(ctx context.Context, in ReconciliationBatchInput) (bundle.BatchItems, error) {
	ref, err := a.Store.WriteBatchItems(ctx, in.BatchID, in.Items)
	if errors.Is(err, bundle.ErrObjectExists) {
		return bundle.BatchItems{}, failf(ErrInvalidInput, "batch %s already has other items stored", in.BatchID)
	}
	return ref, err
}
