package workflows

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
)

// What a reconciliation does with the people HR has terminated but Genesys still has active.
const (
	// ReconcileReport only reports them (the default).
	ReconcileReport = "report"
	// ReconcileOffboard also starts a batch that offboards them.
	ReconcileOffboard = "offboard"
)

// EventReconciliationCompleted is the notification a reconciliation sends with its counts and
// report URL.
const EventReconciliationCompleted = "reconciliation.completed"

// ReconcileSettings is the worker's reconciliation policy, recorded by each run when it starts.
type ReconcileSettings struct {
	// RosterURL is HR's roster of leavers (CSV or JSON) in a blob store; empty disables it.
	RosterURL string `json:"rosterUrl,omitempty"`
	// Action is ReconcileReport or ReconcileOffboard.
	Action string `json:"action,omitempty"`
	// Disposition is that of the offboardings a ReconcileOffboard batch starts for a row that
	// names none.
	Disposition Disposition `json:"disposition,omitempty"`
}

// Validate says what is wrong with the settings.
func (s ReconcileSettings) Validate() error {
	if s.Action != ReconcileReport && s.Action != ReconcileOffboard {
		return fmt.Errorf("reconciliation action %q is unknown: use %s or %s", s.Action, ReconcileReport, ReconcileOffboard)
	}
	if s.Disposition != DispositionArchive && s.Disposition != DispositionDelete {
		return fmt.Errorf("reconciliation disposition %q is unknown: use %s or %s", s.Disposition, DispositionArchive, DispositionDelete)
	}
	return nil
}

// ReconciliationInput starts a reconciliation; the Schedule's runs send an empty one, since the
// policy is the worker's.
type ReconciliationInput struct{}

// ReconciliationResult is what a reconciliation found and did.
type ReconciliationResult struct {
	Counts    map[string]int `json:"counts"`
	ReportURL string         `json:"reportUrl"`
	// BatchWorkflowID is the batch started under ReconcileOffboard, if any.
	BatchWorkflowID string `json:"batchWorkflowId,omitempty"`
}

// reconcileOptions: Reconcile pages every Genesys user and the offboardings in visibility,
// heartbeating each page.
var reconcileOptions = heartbeating(30*time.Minute, 6*time.Hour, 2*time.Minute)

// Reconciliation compares HR's roster with Genesys (activities.Reconcile), and under
// ReconcileOffboard starts a batch (BatchWorkflowType) as an abandoned child for the people HR
// has terminated but Genesys still has active; then it notifies. A bad roster fails the run
// with the reasons, having started nothing.
func (w *Workflows) Reconciliation(ctx workflow.Context, _ ReconciliationInput) (ReconciliationResult, error) {
	var cfg ReconcileSettings
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return w.Reconcile }).Get(&cfg); err != nil {
		return ReconciliationResult{}, fmt.Errorf("record the reconciliation settings: %w", err)
	}
	if err := cfg.Validate(); err != nil || cfg.RosterURL == "" {
		return ReconciliationResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the worker's reconciliation settings are incomplete (%v): set OFFBOARD_RECONCILE_ROSTER_URL and check OFFBOARD_RECONCILE_ACTION", err),
			activities.ErrInvalidInput, nil)
	}
	run := workflow.GetInfo(ctx).WorkflowExecution.ID
	in := activities.ReconcileInput{RosterURL: cfg.RosterURL, Run: run, Day: now(ctx),
		Dispositions: []string{string(DispositionArchive), string(DispositionDelete)},
		Offboardings: offboardingsQuery(), WorkflowIDPrefix: idPrefix}
	var rec activities.Reconciliation
	if err := activity(ctx, reconcileOptions, "compare HR's roster with Genesys's users", acts.Reconcile, in).Get(ctx, &rec); err != nil {
		return ReconciliationResult{}, err
	}
	out := ReconciliationResult{Counts: rec.Counts, ReportURL: rec.ReportURL}
	if cfg.Action == ReconcileOffboard {
		id, err := startReconciliationBatch(ctx, cfg, run, rec.Findings)
		if err != nil {
			return out, err
		}
		out.BatchWorkflowID = id
	}
	n := activities.Notification{Event: EventReconciliationCompleted, WorkflowID: run, At: now(ctx),
		Message: reconciliationMessage(out), Counts: out.Counts, ReportURL: out.ReportURL}
	if err := activity(ctx, notifyOptions, "notify: reconciliation completed", acts.Notify, n).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("reconciliation notification not delivered", "error", err)
	}
	return out, nil
}

// offboardingsQuery selects the offboardings a reconciliation counts: running, or ended
// archived or deleted.
func offboardingsQuery() string {
	return fmt.Sprintf("WorkflowType = '%s' AND (ExecutionStatus = 'Running' OR (ExecutionStatus = 'Completed' AND %s IN ('%s', '%s')))",
		WorkflowType, SAStage, OutcomeArchived, OutcomeDeleted)
}

// reconciliationMessage is the notification's line: counts by kind, no personal data.
func reconciliationMessage(r ReconciliationResult) string {
	parts := make([]string, 0, len(r.Counts))
	for _, k := range slices.Sorted(maps.Keys(r.Counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Counts[k]))
	}
	msg := "reconciliation: " + strings.Join(parts, ", ")
	if r.BatchWorkflowID != "" {
		msg += "; started batch " + r.BatchWorkflowID
	}
	return msg
}

// startReconciliationBatch stores the items for the terminated-but-active people and starts
// their batch, returning its workflow ID ("" when there is nobody to offboard). The batch is
// abandoned: it outlives this run, and trusts it by its ReconciliationIDPrefix.
func startReconciliationBatch(ctx workflow.Context, cfg ReconcileSettings, run string, findings []activities.Finding) (string, error) {
	items := reconciliationItems(cfg, run, findings)
	if len(items) == 0 {
		return "", nil
	}
	var ref BatchInput
	// The run's ID holds the schedule's time, colons included: the batch's ID may not.
	ref.BatchID, ref.RequestedBy, ref.RequestedAt = BatchIDFrom(run), ReconciliationRequester, now(ctx)
	write := activities.ReconciliationBatchInput{BatchID: ref.BatchID, Items: items}
	if err := activity(ctx, auditOptions, "store the batch's items", acts.WriteReconciliationBatch, write).Get(ctx, &ref.Items); err != nil {
		return "", err
	}
	id := BatchWorkflowID(ref.BatchID)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        id,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary:     fmt.Sprintf("batch of %d from reconciliation %s", len(items), run),
	})
	child := workflow.ExecuteChildWorkflow(cctx, BatchWorkflowType, ref)
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return "", fmt.Errorf("start batch %s: %w", id, err)
	}
	return id, nil
}

// reconciliationItems are the batch items for the terminated-but-active findings, each with
// its row's disposition or the worker's.
func reconciliationItems(cfg ReconcileSettings, run string, findings []activities.Finding) []json.RawMessage {
	var items []json.RawMessage
	for _, f := range findings {
		if f.Kind != activities.FindingTerminatedActive {
			continue
		}
		d := Disposition(f.Disposition)
		if d == "" {
			d = cfg.Disposition
		}
		b, err := json.Marshal(BatchItem{Line: f.Line, Request: Request{UserID: f.UserID, Disposition: d,
			RequestedBy: ReconciliationRequester, Reason: "reconciliation " + run + ": HR terminated, Genesys active"}})
		if err != nil {
			panic(fmt.Sprintf("a BatchItem always marshals: %v", err))
		}
		items = append(items, b)
	}
	return items
}
