package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
)

// check verifies the credentials' permissions and snapshots the user and, for runs that take
// the revoking stage, everything they hold; a dry run ends here.
func (o *offboarding) check(ctx workflow.Context) (Stage, string, error) {
	revoking := workflow.GetVersion(ctx, revokingChange, workflow.DefaultVersion, revokingVersion) >= revokingVersion
	perms, err := o.checkPermissions(ctx, revoking)
	if err != nil {
		return "", "", err
	}
	var snap activities.UserSnapshot
	in := activities.SnapshotInput{UserID: o.req.UserID}
	if err := activity(ctx, checkOptions, "snapshot user", acts.SnapshotUser, in).Get(ctx, &snap); err != nil {
		return "", "", err
	}
	o.st.Snapshot = &snap
	if snap.User.State == genesys.StateDeleted {
		return "", "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("user %s is already deleted: there is nothing to offboard", o.req.UserID),
			activities.ErrUnexpectedState, nil)
	}
	if revoking {
		if err := o.snapshotAccess(ctx); err != nil {
			return "", "", err
		}
	}
	if o.req.DryRun {
		return o.dryRun(ctx, snap, perms)
	}
	detail := fmt.Sprintf("permissions held (%s); user is %s", strings.Join(perms, ", "), snap.User.State)
	if o.st.AccessEndAt.After(now(ctx)) {
		return StageScheduled, detail + "; access ends " + formatTime(o.st.AccessEndAt), nil
	}
	return o.accessStage(), detail, nil
}

// schedule waits until access is due to end.
func (o *offboarding) schedule(ctx workflow.Context) (Stage, string, error) {
	t := now(ctx)
	if !t.Before(o.st.AccessEndAt) {
		return o.accessStage(), "effective time reached", nil
	}
	seen := o.version
	wake := timer(o.st.AccessEndAt.Sub(t), "access ends "+formatTime(o.st.AccessEndAt))
	if _, err := workflow.AwaitWithOptions(ctx, wake, func() bool { return o.version != seen }); err != nil {
		return "", "", err
	}
	return StageScheduled, "", nil
}

// archive sets the user inactive: access ends here.
func (o *offboarding) archive(ctx workflow.Context) (Stage, string, error) {
	var change activities.StateChange
	if err := activity(ctx, changeOptions, "deactivate user", acts.DeactivateUser, activities.UserRef{UserID: o.req.UserID}).Get(ctx, &change); err != nil {
		return "", "", err
	}
	o.st.Deactivated = o.st.Deactivated || change.Changed
	o.st.AccessEndedAt = now(ctx)
	detail := "deactivated"
	if !change.Changed {
		detail = "already inactive; left as is"
	}
	return StageExporting, detail, nil
}

func (o *offboarding) exportFrom() time.Time {
	if !o.req.ExportFrom.IsZero() {
		return o.req.ExportFrom.UTC()
	}
	return o.st.RequestedAt.Add(-o.st.Policy.ExportLookback)
}

// export writes the user's conversations to the bundle. A cancel request cancels the export.
func (o *offboarding) export(ctx workflow.Context) (Stage, string, error) {
	o.st.Window = genesys.Interval{Start: o.exportFrom(), End: o.st.AccessEndedAt}
	in := activities.ExportInput{
		UserID:     o.req.UserID,
		Bundle:     o.st.Bundle,
		Window:     o.st.Window,
		WindowSize: o.st.Policy.ExportWindow,
		Access:     o.st.Access,
	}
	if o.st.Snapshot != nil {
		in.User = o.st.Snapshot.User
	}
	ectx, cancelExport := workflow.WithCancel(ctx)
	defer cancelExport()
	done := false
	workflow.Go(ctx, func(gctx workflow.Context) {
		if workflow.Await(gctx, func() bool { return done || o.st.Cancel != nil }) == nil && !done {
			cancelExport()
		}
	})
	var sum activities.ExportSummary
	err := activity(ectx, exportOptions, "export conversations to bundle "+o.st.Bundle, acts.ExportInteractions, in).Get(ctx, &sum)
	done = true
	if err != nil {
		if o.st.Cancel != nil && temporal.IsCanceledError(err) {
			return OutcomeCancelled, o.cancelDetail(), nil
		}
		return "", "", err
	}
	o.st.Export = &sum
	detail := fmt.Sprintf("exported %s conversations in %d parts", formatCount(sum.Conversations), sum.Parts)
	if o.needsApproval() {
		return StageAwaitingApproval, detail, nil
	}
	o.st.Target = OutcomeArchived
	return StageVerifying, detail, nil
}

// disconnected returns a context that a Temporal cancellation does not reach, for steps that
// must complete once begun.
func disconnected(ctx workflow.Context) workflow.Context {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	return dctx
}

// delete soft-deletes the user. Once begun it is never abandoned, even on cancellation.
func (o *offboarding) delete(ctx workflow.Context) (Stage, string, error) {
	dctx := disconnected(ctx)
	var change activities.StateChange
	if err := activity(dctx, changeOptions, "delete user", acts.DeleteUser, activities.UserRef{UserID: o.req.UserID}).Get(dctx, &change); err != nil {
		return "", "", err
	}
	o.st.Target = OutcomeDeleted
	if !change.Changed {
		return StageVerifying, "already deleted; left as is", nil
	}
	return StageVerifying, "deleted", nil
}

// verify re-reads the user and re-counts their conversations against the manifest.
func (o *offboarding) verify(ctx workflow.Context) (Stage, string, error) {
	vctx := ctx
	if o.irreversible() {
		vctx = disconnected(ctx)
	}
	expected := genesys.StateInactive
	if o.st.Target == OutcomeDeleted {
		expected = genesys.StateDeleted
	}
	in := activities.VerifyInput{UserID: o.req.UserID, ExpectedState: expected, Window: o.st.Window}
	if o.st.Export != nil {
		in.ManifestCount = o.st.Export.Conversations
	}
	var v activities.Verification
	if err := activity(vctx, countOptions, "verify user is "+string(expected), acts.VerifyOutcome, in).Get(vctx, &v); err != nil {
		return "", "", err
	}
	o.st.Verification = &v
	if !v.Linked || v.State != expected {
		return "", "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("verification failed: user %s is %s with %d conversations, expected %s with %d as in the manifest",
				o.req.UserID, v.State, v.Count, expected, in.ManifestCount),
			ErrNotLinked, nil)
	}
	target := o.st.Target
	if target == "" {
		target = OutcomeArchived
	}
	return target, fmt.Sprintf("verified: user is %s and %s conversations are still linked", v.State, formatCount(v.Count)), nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
