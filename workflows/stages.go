package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Stage is where an offboarding is; the final stages are its outcome.
type Stage string

// Stages in order, then outcomes. stageTable says what each one does.
const (
	StageChecking  Stage = "checking"
	StageScheduled Stage = "scheduled"
	StageRevoking  Stage = "revoking"
	// StageArchiving is the legacy stage that only set the user inactive. Runs started before
	// the revoking stage (workflow version "revoking-stage" absent) still take it.
	StageArchiving        Stage = "archiving"
	StageExporting        Stage = "exporting"
	StageAwaitingApproval Stage = "awaiting-approval"
	StageRetention        Stage = "retention"
	StageDeleting         Stage = "deleting"
	StageVerifying        Stage = "verifying"

	OutcomeArchived  Stage = "archived"
	OutcomeDeleted   Stage = "deleted"
	OutcomeCancelled Stage = "cancelled"
	OutcomeRejected  Stage = "rejected"
	OutcomeFailed    Stage = "failed"
	// OutcomeDryRun ends every dry run, whatever a real run would end in (State.WouldEnd), so
	// that a filter on a real outcome never matches a run that changed nothing.
	OutcomeDryRun Stage = "dry-run"
)

// stageDef declares one stage. The workflow's stage loop, the summary, the validators of
// decisions and retention changes, Stage.Final and Stages all read it from stageTable.
type stageDef struct {
	stage Stage
	// outcome marks a final stage: the run has ended with it.
	outcome bool
	// step runs the stage. It returns the next stage, or its own stage when it only waited and
	// wants to be called again, or an outcome. Outcomes have none.
	step func(o *offboarding, ctx workflow.Context) (Stage, string, error)
	// doing is the summary's wording while the run is at the stage; outcomes need none, the
	// summary names the stage.
	doing func(o *offboarding) string
	// decides marks the stage at which approvals and rejections are accepted.
	decides bool
	// shortens marks the stages at which an approver may shorten retention.
	shortens bool
	// at is how a message places a run at the stage: "while awaiting-approval", "in retention".
	at string
}

// stageTable lists the stages in order, then the outcomes. It is a function rather than a
// variable because the steps it names read it back (through the summary), which Go's package
// initialisation does not allow.
func stageTable() []stageDef {
	return []stageDef{
		{stage: StageChecking, step: (*offboarding).check, doing: says("checking permissions and the user")},
		{stage: StageScheduled, step: (*offboarding).schedule, doing: func(o *offboarding) string { return "access ends " + formatTime(o.st.AccessEndAt) }},
		{stage: StageRevoking, step: (*offboarding).revoke, doing: (*offboarding).revokingSummary},
		{stage: StageArchiving, step: (*offboarding).archive, doing: says("deactivating")},
		{stage: StageExporting, step: (*offboarding).export, doing: (*offboarding).exportingNow},
		{stage: StageAwaitingApproval, step: (*offboarding).awaitApproval, doing: (*offboarding).approvalSummary, decides: true, shortens: true, at: "while"},
		{stage: StageRetention, step: (*offboarding).retain, doing: (*offboarding).retentionSummary, shortens: true, at: "in"},
		{stage: StageDeleting, step: (*offboarding).delete, doing: says("deleting")},
		{stage: StageVerifying, step: (*offboarding).verify, doing: says("verifying")},
		outcome(OutcomeArchived),
		outcome(OutcomeDeleted),
		outcome(OutcomeCancelled),
		outcome(OutcomeRejected),
		outcome(OutcomeFailed),
		{stage: OutcomeDryRun, outcome: true, doing: func(o *offboarding) string { return "a real run would end " + string(o.st.WouldEnd) }},
	}
}

func says(s string) func(*offboarding) string { return func(*offboarding) string { return s } }

func outcome(s Stage) stageDef {
	return stageDef{stage: s, outcome: true}
}

// definition returns the declaration of s.
func (s Stage) definition() (stageDef, bool) {
	for _, d := range stageTable() {
		if d.stage == s {
			return d, true
		}
	}
	return stageDef{}, false
}

// Stages lists every stage in order, then every outcome.
func Stages() []Stage {
	table := stageTable()
	out := make([]Stage, len(table))
	for i, d := range table {
		out[i] = d.stage
	}
	return out
}

// Final reports whether s is an outcome.
func (s Stage) Final() bool {
	d, ok := s.definition()
	return ok && d.outcome
}

// stagesWhere names, in order, the stages that keep selects: "while awaiting-approval or in retention".
func stagesWhere(keep func(stageDef) bool) string {
	var out []string
	for _, d := range stageTable() {
		if keep(d) {
			out = append(out, d.at+" "+string(d.stage))
		}
	}
	return strings.Join(out, " or ")
}

// decisionsOpen fails unless the run is at a stage that accepts approvals and rejections.
func (o *offboarding) decisionsOpen() error {
	if d, _ := o.st.Stage.definition(); d.decides {
		return nil
	}
	return fmt.Errorf("no decision is taken at stage %q: approvals are accepted only %s", o.st.Stage,
		stagesWhere(func(d stageDef) bool { return d.decides }))
}

// shorteningOpen fails unless the run is at a stage where retention may be shortened.
func (o *offboarding) shorteningOpen() error {
	if d, _ := o.st.Stage.definition(); d.shortens {
		return nil
	}
	return fmt.Errorf("retention can be shortened only %s, not at %s",
		stagesWhere(func(d stageDef) bool { return d.shortens }), o.st.Stage)
}

// step runs the current stage.
func (o *offboarding) step(ctx workflow.Context) (Stage, string, error) {
	d, ok := o.st.Stage.definition()
	if !ok || d.outcome {
		return OutcomeFailed, "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("unknown stage %q", o.st.Stage), ErrOffboardingFailed, nil)
	}
	return d.step(o, ctx)
}
