package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
)

// dryRun reports what a real run would do and ends in OutcomeDryRun, with the outcome that run
// would end in as WouldEnd. It calls only the reading activities, so it changes nothing.
func (o *offboarding) dryRun(ctx workflow.Context, snap activities.UserSnapshot, perms []string) (Stage, string, error) {
	end := later(now(ctx), o.st.AccessEndAt)
	o.st.Window = genesys.Interval{Start: o.exportFrom(), End: end}
	var count int
	in := activities.CountInput{UserID: o.req.UserID, Window: o.st.Window}
	if err := activity(ctx, countOptions, "count conversations (dry run)", acts.CountInteractions, in).Get(ctx, &count); err != nil {
		return "", "", err
	}
	p := o.st.Policy
	w := []string{fmt.Sprintf("permissions %s are held", strings.Join(perms, ", "))}
	w = append(w, o.accessPlan(snap, end)...)
	w = append(w, fmt.Sprintf("export %s conversations started from %s to %s into bundle %s", formatCount(count), formatTime(o.st.Window.Start), formatTime(end), o.st.Bundle))
	if o.needsApproval() {
		w = append(w, fmt.Sprintf("wait up to %s for %d approval(s); without them the user stays inactive", Duration(p.ApprovalTimeout), p.ApprovalsRequired))
	}
	target, state := OutcomeArchived, genesys.StateInactive
	if o.req.Disposition == DispositionDelete {
		target, state = OutcomeDeleted, genesys.StateDeleted
		w = append(w, fmt.Sprintf("keep the user inactive until %s, then delete them", formatTime(o.st.RetentionUntil)))
	}
	w = append(w, fmt.Sprintf("verify that the user is %s and still linked to %s conversations", state, formatCount(count)))
	o.wouldHappen = w
	o.st.WouldEnd = target
	return OutcomeDryRun, "planned only, nothing changed: a real run would end " + string(target), nil
}

// accessPlan lists the steps that would end the user's access at, each with what the snapshot
// shows before it.
func (o *offboarding) accessPlan(snap activities.UserSnapshot, at time.Time) []string {
	if !o.revokes() {
		return []string{fmt.Sprintf("set user %s from %s to inactive at %s", o.req.UserID, snap.User.State, formatTime(at))}
	}
	lines := []string{fmt.Sprintf("at %s, end every access of user %s in these steps, each verified by reading it back:", formatTime(at), o.req.UserID)}
	for _, step := range activities.RevokeSteps() {
		plan, ok := stepPlans[step]
		switch {
		case o.skipped(step):
			lines = append(lines, fmt.Sprintf("%s: skipped, a permission is missing (optional by policy)", step))
		case ok:
			lines = append(lines, fmt.Sprintf("%s: %s", step, plan(o, *o.st.Access)))
		default:
			lines = append(lines, fmt.Sprintf("%s: revoke", step))
		}
	}
	if clients := o.oauthClients(); len(clients) > 0 {
		names := make([]string, len(clients))
		for i, c := range clients {
			names[i] = nameOr(c.Name, c.ID)
		}
		lines = append(lines, fmt.Sprintf("report the %d OAuth client(s) the user created (%s); they are left working", len(clients), strings.Join(names, ", ")))
	}
	return lines
}

// stepPlans say what each step would do, given the access snapshot: the dry run's "before".
var stepPlans = map[activities.AccessStep]func(o *offboarding, a activities.AccessSnapshot) string{
	activities.StepOffQueue: func(_ *offboarding, a activities.AccessSnapshot) string {
		if a.RoutingStatus == genesys.RoutingOffQueue {
			return "routing status is " + genesys.RoutingOffQueue + " already: nothing to change"
		}
		return fmt.Sprintf("set routing status from %s to %s", nameOr(a.RoutingStatus, "unknown"), genesys.RoutingOffQueue)
	},
	activities.StepQueues: planQueues,
	activities.StepForwarding: func(_ *offboarding, a activities.AccessSnapshot) string {
		if !a.Forwarding.Enabled {
			return "call forwarding is off: nothing to change"
		}
		return "turn call forwarding off (it is on)"
	},
	activities.StepStation: func(_ *offboarding, a activities.AccessSnapshot) string {
		s := a.Stations
		if s.AssociatedID == "" && s.DefaultID == "" {
			return "no station associated or default: nothing to change"
		}
		return fmt.Sprintf("disassociate station %s and clear default station %s", nameOr(s.AssociatedName, nameOr(s.AssociatedID, "(none)")), nameOr(s.DefaultName, nameOr(s.DefaultID, "(none)")))
	},
	activities.StepGrants: func(_ *offboarding, a activities.AccessSnapshot) string {
		if len(a.Grants) == 0 {
			return "no grants: nothing to change"
		}
		grants := make([]string, len(a.Grants))
		for i, g := range a.Grants {
			grants[i] = nameOr(g.RoleName, g.RoleID) + " in " + nameOr(g.DivisionName, g.DivisionID)
		}
		return fmt.Sprintf("remove %d grant(s): %s", len(grants), strings.Join(grants, ", "))
	},
	activities.StepState: func(o *offboarding, _ activities.AccessSnapshot) string {
		return fmt.Sprintf("set the user from %s to inactive, reason %s", o.snapshotState(), stateChangeReason(o.req.Reason))
	},
	activities.StepTokens: func(*offboarding, activities.AccessSnapshot) string {
		return "revoke every token of the user, so that no session keeps working"
	},
	activities.StepReports: planReports,
}

func planQueues(_ *offboarding, a activities.AccessSnapshot) string {
	var direct []string
	viaGroup := 0
	for _, q := range a.Queues {
		if q.ViaGroup {
			viaGroup++
			continue
		}
		direct = append(direct, nameOr(q.QueueName, q.QueueID))
	}
	s := "no direct queue membership: nothing to change"
	if len(direct) > 0 {
		s = fmt.Sprintf("leave %d queue(s): %s", len(direct), strings.Join(direct, ", "))
	}
	if viaGroup > 0 {
		s += fmt.Sprintf("; %d membership(s) through a group stay: only the group can remove them", viaGroup)
	}
	return s
}

func planReports(o *offboarding, a activities.AccessSnapshot) string {
	n := len(a.DirectReports)
	switch {
	case n == 0:
		return "no direct reports: nothing to hand over"
	case !o.st.Policy.HandOverReports:
		return fmt.Sprintf("record %d direct report(s); the policy does not hand them over", n)
	case a.ManagerID == "":
		return fmt.Sprintf("record %d direct report(s); the user has no manager to hand them to", n)
	}
	return fmt.Sprintf("hand %d direct report(s) over to the user's manager %s", n, a.ManagerID)
}

// nameOr is name, or fallback when name is empty.
func nameOr(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}
