package workflows

import (
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
)

// Bounds of the ignored-message summary, which a run carries across continue-as-new: whatever
// arrives, it stays a few kilobytes.
const (
	maxIgnoredKinds  = 20
	maxIgnoredLast   = 5
	maxIgnoredDetail = 240
	// unverified is the sender of a message whose credential proved no one.
	unverified = "unverified"
)

// refusal is why a message is not counted: Reason is a short code for summaries, Detail says
// what is wrong and how to fix it, Sender is who a valid credential proved (else unverified).
type refusal struct {
	Reason, Detail, Sender string
}

func (r *refusal) Error() string { return r.Detail }

// Reason codes of refusals the workflow itself makes; credential.Reason* are the others.
const (
	reasonMalformed    = "malformed"
	reasonOversized    = "oversized"
	reasonNoCredential = "no-credential"
	reasonWrongRun     = "wrong-run"
	reasonWrongAction  = "wrong-action"
	reasonWrongRole    = "wrong-role"
	reasonReused       = "reused"
	reasonRefused      = "refused"
)

// ignore records a signal the run did not act on, in the bounded summary.
func (o *offboarding) ignore(ctx workflow.Context, name string, r *refusal) {
	ig := o.st.Ignored
	if ig == nil {
		ig = &activities.IgnoredMessages{}
		o.st.Ignored = ig
	}
	ig.Total++
	counted := false
	for i := range ig.Counts {
		c := &ig.Counts[i]
		if c.Message == name && c.Reason == r.Reason && c.Sender == r.Sender {
			c.Count++
			counted = true
			break
		}
	}
	switch {
	case counted:
	case len(ig.Counts) < maxIgnoredKinds:
		ig.Counts = append(ig.Counts, activities.IgnoredCount{Message: name, Reason: r.Reason, Sender: r.Sender, Count: 1})
	default:
		ig.Other++
	}
	ig.Last = append(ig.Last, activities.IgnoredMessage{
		Message: name, Reason: r.Reason, Sender: r.Sender, Detail: truncate(r.Detail, maxIgnoredDetail), At: now(ctx),
	})
	if len(ig.Last) > maxIgnoredLast {
		ig.Last = slices.Clone(ig.Last[len(ig.Last)-maxIgnoredLast:])
	}
	// The first few are logged one by one; after that, one line per thousand.
	if ig.Total <= 10 || ig.Total%1000 == 0 {
		o.logger.Warn("ignored signal", "signal", name, "reason", r.Reason, "ignoredSoFar", ig.Total)
	}
	o.refreshDetails(ctx)
}
