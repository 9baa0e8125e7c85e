package workflows

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// StaticSummary is the run's one-line summary for StartWorkflowOptions.StaticSummary. It
// holds IDs and enums only, never names or emails.
func StaticSummary(req Request) string {
	var b strings.Builder
	if req.DryRun {
		b.WriteString("Dry run: ")
	}
	fmt.Fprintf(&b, "%s Genesys user %s", req.Disposition, req.UserID)
	if !req.EffectiveAt.IsZero() {
		fmt.Fprintf(&b, ", effective %s", formatTime(req.EffectiveAt))
	}
	if req.Disposition == DispositionDelete && req.Retention != 0 {
		fmt.Fprintf(&b, ", retention %s", req.Retention)
	}
	return b.String()
}

// summary is the human summary of where the run is, for the UI's current details and status.
func (r *run) summary() string {
	var parts []string
	if r.req.DryRun {
		parts = append(parts, "dry run: nothing changed")
	}
	st := r.st
	switch st.Stage {
	case StageChecking:
		parts = append(parts, "checking permissions and the user")
	case StageScheduled:
		parts = append(parts, "access ends "+formatTime(st.AccessEndAt))
	case StageArchiving:
		parts = append(parts, "deactivating")
	}
	if !st.AccessEndedAt.IsZero() {
		if st.Deactivated {
			parts = append(parts, "deactivated")
		} else {
			parts = append(parts, "inactive")
		}
	}
	if st.Stage == StageExporting {
		parts = append(parts, "exporting conversations")
	}
	if st.Export != nil {
		parts = append(parts, fmt.Sprintf("export %s conversations verified", formatCount(st.Export.Conversations)))
	}
	switch st.Stage {
	case StageAwaitingApproval:
		n := st.Policy.ApprovalsRequired - len(r.approvers())
		noun := "approval"
		if n != 1 {
			noun = "approvals"
		}
		parts = append(parts, fmt.Sprintf("waiting for %d more %s until %s", n, noun, formatTime(st.ApprovalDeadline)))
	case StageRetention:
		if st.Hold != nil {
			parts = append(parts, "on legal hold; deletion waits for release")
		} else {
			parts = append(parts, "retained until "+formatTime(st.RetentionUntil))
		}
	case StageDeleting:
		parts = append(parts, "deleting")
	case StageVerifying:
		parts = append(parts, "verifying")
	}
	if st.Stage.Final() {
		parts = append(parts, "outcome "+string(st.Stage))
	}
	if st.Cancel != nil && !st.Stage.Final() {
		parts = append(parts, "cancelling")
	}
	return strings.Join(parts, "; ")
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
