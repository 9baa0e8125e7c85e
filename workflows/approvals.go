package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
)

func (o *offboarding) needsApproval() bool {
	return o.req.Disposition == DispositionDelete || o.st.Policy.ApproveArchive
}

// awaitApproval waits for the approvals, a rejection or the deadline, reminding and
// escalating once on the way.
func (o *offboarding) awaitApproval(ctx workflow.Context) (Stage, string, error) {
	p := o.st.Policy
	t := now(ctx)
	if o.st.ApprovalDeadline.IsZero() {
		o.st.ApprovalDeadline = t.Add(p.ApprovalTimeout)
		o.st.EscalateAt = t.Add(time.Duration(float64(p.ApprovalTimeout) * p.EscalationFraction))
		o.refreshDetails(ctx)
		o.askApprovers(ctx, activities.EventApprovalRequested, p.Approvers,
			fmt.Sprintf("%s offboarding of user %s needs %d approval(s) by %s", o.req.Disposition, o.req.UserID, p.ApprovalsRequired, formatTime(o.st.ApprovalDeadline)))
	}
	if d := o.rejection(); d != nil {
		o.st.Target = OutcomeRejected
		return StageVerifying, fmt.Sprintf("rejected by %s; the user stays inactive", d.Approver), nil
	}
	if approvers := o.approvers(); len(approvers) >= p.ApprovalsRequired {
		detail := "approved by " + strings.Join(approvers, ", ")
		if o.req.Disposition == DispositionDelete {
			return StageRetention, detail, nil
		}
		o.st.Target = OutcomeArchived
		return StageVerifying, detail, nil
	}
	if !t.Before(o.st.ApprovalDeadline) {
		o.st.Target = OutcomeArchived
		return StageVerifying, "approval timed out; nothing is deleted and the user stays inactive", nil
	}
	if !o.st.Escalated && !t.Before(o.st.EscalateAt) {
		o.st.Escalated = true
		o.recordEvent(ctx, "approval reminder and escalation sent")
		msg := fmt.Sprintf("%s offboarding of user %s still needs %d approval(s) by %s",
			o.req.Disposition, o.req.UserID, p.ApprovalsRequired-len(o.approvers()), formatTime(o.st.ApprovalDeadline))
		o.askApprovers(ctx, activities.EventApprovalReminder, o.undecided(), msg)
		if len(p.EscalateTo) > 0 {
			o.notify(ctx, "approval.escalated", p.EscalateTo, msg)
		}
		return StageAwaitingApproval, "", nil
	}
	wake, what := o.st.ApprovalDeadline, "approval deadline "
	if !o.st.Escalated {
		wake, what = o.st.EscalateAt, "reminder at "
	}
	return StageAwaitingApproval, "", o.wait(ctx, wake.Sub(t), what+formatTime(wake))
}

// rejection returns the first rejecting decision, if any.
func (o *offboarding) rejection() *activities.Decision {
	for i := range o.st.Decisions {
		if !o.st.Decisions[i].Approve {
			return &o.st.Decisions[i]
		}
	}
	return nil
}

// approvers lists those who approved, in order.
func (o *offboarding) approvers() []string {
	var out []string
	for _, d := range o.st.Decisions {
		if d.Approve {
			out = append(out, d.Approver)
		}
	}
	return out
}

// undecided lists allow-listed approvers who have not decided yet.
func (o *offboarding) undecided() []string {
	var out []string
	for _, a := range o.st.Policy.Approvers {
		if !slices.ContainsFunc(o.st.Decisions, func(d activities.Decision) bool { return strings.EqualFold(d.Approver, a) }) {
			out = append(out, a)
		}
	}
	return out
}

// askApprovers notifies approvers of event, with approval links for those who may decide: the
// activity makes the links, so that no credential enters the history.
func (o *offboarding) askApprovers(ctx workflow.Context, event string, approvers []string, msg string) {
	n := o.notification(ctx, event, approvers, msg)
	for _, a := range approvers {
		if o.checkApprover(a) == nil {
			n.LinksFor = append(n.LinksFor, a)
		}
	}
	o.send(ctx, n)
}
