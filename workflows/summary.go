package workflows

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/credential"
)

// StaticSummary is the run's one-line summary for StartWorkflowOptions.StaticSummary. It
// holds IDs and enums only, never names or emails.
func StaticSummary(req Request) string {
	var b strings.Builder
	if req.DryRun {
		b.WriteString("Dry run, planned only: ")
	}
	fmt.Fprintf(&b, "%s Genesys user %s", req.Disposition, req.UserID)
	if !req.EffectiveAt.IsZero() {
		fmt.Fprintf(&b, ", effective %s", formatTime(req.EffectiveAt))
	}
	if req.Disposition == DispositionDelete && req.Retention != nil {
		fmt.Fprintf(&b, ", retention %s", *req.Retention)
	}
	return b.String()
}

// StaticDetails is the run's fixed details for StartWorkflowOptions.StaticDetails, in the
// Temporal UI's Markdown: how to decide on it and who may, as policy p (the starter's copy of
// the worker's policy, which governs) says.
func StaticDetails(req Request, p Policy) string {
	lines := []string{fmt.Sprintf("**Offboarding** of Genesys user `%s` (%s), requested by `%s`.", req.UserID, req.Disposition, req.RequestedBy)}
	switch {
	case req.DryRun:
		lines = append(lines, "**Dry run**: planned only, nothing changes and no decision is taken.")
	case req.Disposition == DispositionDelete || p.ApproveArchive:
		lines = append(lines, approvalDetails(p)...)
	default:
		lines = append(lines, "**No approval**: the run ends archived once the export is verified.")
	}
	lines = append(lines, fmt.Sprintf("**Controls**: `%s`, `%s`, `%s` and `%s` take the same input, with a credential for that action (role `%s`; shortening retention needs `%s`).",
		UpdateCancel, UpdateHold, UpdateRelease, UpdateExtendRetention, credential.RoleHR, credential.RoleApprover))
	return strings.Join(lines, "\n\n")
}

// approvalDetails say how to approve or reject, where a credential comes from and who may.
func approvalDetails(p Policy) []string {
	who := fmt.Sprintf("any holder of role `%s`", credential.RoleApprover)
	if len(p.Approvers) > 0 {
		who = fmt.Sprintf("role `%s` and the allow-list: %s", credential.RoleApprover, strings.Join(p.Approvers, ", "))
	}
	requester := "never the requester"
	if p.RequesterMayApprove {
		requester = "the requester too"
	}
	return []string{
		fmt.Sprintf("**To approve**: send the update `%s` (or the signal of that name) with input `{\"credential\": \"...\"}`; `%s` likewise.", UpdateApprove, UpdateReject),
		fmt.Sprintf("**Credential**: `POST /v1/offboardings/{userId}/credentials` on the HR API with `{\"action\": \"%s\"}`, with your own API token; it is bound to this run and expires.", UpdateApprove),
		fmt.Sprintf("**Who may**: %d distinct approver(s): %s; %s. Without them within %s the user stays inactive.", p.ApprovalsRequired, who, requester, Duration(p.ApprovalTimeout)),
	}
}

// summary is the human summary of where the run is, for the UI's current details and status:
// the stage, then what the run has done and is doing there.
func (o *offboarding) summary() string {
	var parts []string
	if o.req.DryRun {
		parts = append(parts, "planned only, nothing changed")
	}
	st := o.st
	switch {
	case st.RestoredTo != "":
		parts = append(parts, o.restoredSummary())
	case st.AccessEndedAt.IsZero():
	case o.revokes():
		parts = append(parts, "access ended "+formatTime(st.AccessEndedAt))
	case st.Deactivated:
		parts = append(parts, "deactivated")
	default:
		parts = append(parts, "inactive")
	}
	if st.Export != nil {
		parts = append(parts, fmt.Sprintf("export %s conversations verified", formatCount(st.Export.Conversations)))
	}
	if d, ok := st.Stage.definition(); ok && d.doing != nil {
		parts = append(parts, d.doing(o))
	}
	if st.Cancel != nil && !st.Stage.Final() {
		parts = append(parts, "cancelling")
	}
	if st.Policy.UnsignedDecisions {
		parts = append(parts, "UNSIGNED DECISIONS ALLOWED (development only)")
	}
	if ig := st.Ignored; ig != nil {
		last := ig.Last[len(ig.Last)-1]
		parts = append(parts, fmt.Sprintf("%s signals ignored, last %s (%s)", formatCount(ig.Total), last.Message, last.Reason))
	}
	if len(parts) == 0 {
		return string(st.Stage)
	}
	return string(st.Stage) + ": " + strings.Join(parts, "; ")
}

// restoredSummary says the state a cancel restored the user to, and whether anything was not restored.
func (o *offboarding) restoredSummary() string {
	s := "restored to " + string(o.st.RestoredTo)
	if n := len(o.st.NotRestored); n > 0 {
		s += fmt.Sprintf(" (%d not restored)", n)
	}
	return s
}

// approvalSummary says how many approvals the run still waits for, and until when.
func (o *offboarding) approvalSummary() string {
	n := o.st.Policy.ApprovalsRequired - len(o.approvers())
	noun := "approval"
	if n != 1 {
		noun = "approvals"
	}
	return fmt.Sprintf("waiting for %d more %s until %s", n, noun, formatTime(o.st.ApprovalDeadline))
}

// retentionSummary says until when the user is retained, or that a legal hold stops the clock.
func (o *offboarding) retentionSummary() string {
	if o.st.Hold != nil {
		return "on legal hold; deletion waits for release"
	}
	return "retained until " + formatTime(o.st.RetentionUntil)
}

// formatTime shows t to the minute in UTC, or to the second when it has seconds.
func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Second() != 0 || t.Nanosecond() != 0 {
		return t.Format("2006-01-02 15:04:05 UTC")
	}
	return t.Format("2006-01-02 15:04 UTC")
}

// formatCount writes n with thousands separators: 1234 → "1,234".
func formatCount(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func (o *offboarding) report() Report {
	return Report{
		WorkflowID:    WorkflowID(o.req.UserID),
		UserID:        o.req.UserID,
		DryRun:        o.req.DryRun,
		WouldHappen:   o.wouldHappen,
		WouldEnd:      o.st.WouldEnd,
		Export:        o.st.Export,
		Verification:  o.st.Verification,
		Audit:         o.audit,
		AccessEndedAt: o.st.AccessEndedAt,
		SkippedSteps:  o.st.SkippedSteps,
		Access:        o.st.Revoked,
		Restored:      o.st.Restored,
		NotRestored:   o.st.NotRestored,
		OAuthClients:  o.oauthClients(),
	}
}

// status is the answer to the status query.
func (o *offboarding) status() Status {
	s := Status{
		Report:            o.report(),
		Disposition:       o.req.Disposition,
		Stage:             o.st.Stage,
		RequestedBy:       o.req.RequestedBy,
		RequestedAt:       o.st.RequestedAt,
		EffectiveAt:       o.req.EffectiveAt,
		Decisions:         o.st.Decisions,
		ApprovalDeadline:  o.st.ApprovalDeadline,
		OnHold:            o.st.Hold != nil,
		Deactivated:       o.st.Deactivated,
		Notes:             o.st.Notes,
		Ignored:           o.st.Ignored,
		History:           o.st.History,
		UnsignedDecisions: o.st.Policy.UnsignedDecisions,
		Summary:           o.summary(),
	}
	if o.st.Stage.Final() {
		s.Outcome = o.st.Stage
	}
	if o.needsApproval() {
		s.ApprovalsRequired = o.st.Policy.ApprovalsRequired
	}
	if o.st.Hold == nil && !o.req.DryRun {
		s.RetentionUntil = o.st.RetentionUntil
	}
	if o.st.Stage == StageExporting {
		s.Exporting = o.exporting
	}
	return s
}

// result is what the run returns when it ends.
func (o *offboarding) result() Result {
	res := Result{Report: o.report(), Outcome: o.st.Stage, Summary: o.summary()}
	if !o.req.DryRun && o.st.Stage == OutcomeDeleted {
		res.RetentionUntil = o.st.RetentionUntil
	}
	return res
}
