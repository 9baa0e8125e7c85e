package workflows

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
)

// revokingChange is the workflow.GetVersion change ID of the revoking stage. A run that passed
// checking before it (its history has no marker) keeps the legacy archiving stage.
const (
	revokingChange                   = "revoking-stage"
	revokingVersion workflow.Version = 1
)

// revokes reports whether the run ends access in the revoking stage: it took an access snapshot
// in checking, which runs begun before the revoking stage never did.
func (o *offboarding) revokes() bool { return o.st.Access != nil }

// accessStage is the stage that ends access for this run.
func (o *offboarding) accessStage() Stage {
	if o.revokes() {
		return StageRevoking
	}
	return StageArchiving
}

// checkPermissions checks that the credentials hold what the run needs. On the revoking path it
// checks every required step's permissions too, and skips the optional steps whose permissions
// are missing; a missing required permission fails here, before any change.
func (o *offboarding) checkPermissions(ctx workflow.Context, revoking bool) ([]string, error) {
	perms := permissionsFor(o.req.Disposition)
	var optional []activities.AccessStep
	if revoking {
		var required []activities.AccessStep
		required, optional = o.st.Policy.partitionSteps()
		// A cancel or rehire puts back what the required steps take away, so the run needs both.
		perms = withStepPermissions(perms, required, activities.StepPermissions, activities.RestorePermissions)
	}
	var access activities.AccessReport
	if err := activity(ctx, checkOptions, "check permissions", acts.CheckAccess, activities.CheckAccessInput{Permissions: perms}).Get(ctx, &access); err != nil {
		return nil, err
	}
	if access.Note != "" {
		o.noteForAudit("permission check: %s", access.Note)
	}
	return perms, o.checkOptional(ctx, perms, optional)
}

// checkOptional checks the permissions only optional steps need, skipping each step that lacks one.
func (o *offboarding) checkOptional(ctx workflow.Context, held []string, steps []activities.AccessStep) error {
	var extra []string
	for _, p := range withStepPermissions(nil, steps, activities.StepPermissions) {
		if !slices.Contains(held, p) {
			extra = append(extra, p)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	var access activities.AccessReport
	err := activity(ctx, checkOptions, "check optional steps' permissions", acts.CheckAccess, activities.CheckAccessInput{Permissions: extra}).Get(ctx, &access)
	missing, lacking := missingPermissions(err, extra)
	if !lacking {
		return err
	}
	for _, s := range steps {
		var lacks []string
		for _, p := range activities.StepPermissions(s) {
			if slices.Contains(missing, p) {
				lacks = append(lacks, p)
			}
		}
		if len(lacks) > 0 {
			o.skip(s, "the OAuth client lacks "+strings.Join(lacks, ", "))
		}
	}
	return nil
}

// missingPermissions returns the permissions a CheckAccess failure names as missing, or all of
// asked when it names none; lacking is false for any other outcome.
func missingPermissions(err error, asked []string) (missing []string, lacking bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrMissingPermissions {
		return nil, false
	}
	if appErr.Details(&missing) != nil || len(missing) == 0 {
		missing = asked
	}
	return missing, true
}

// skip leaves an optional step out of the run, as a warning for the status and the audit record.
func (o *offboarding) skip(step activities.AccessStep, why string) {
	o.st.SkippedSteps = append(o.st.SkippedSteps, step)
	o.noteForAudit("warning: step %s skipped (optional by policy): %s", step, why)
}

func (o *offboarding) skipped(step activities.AccessStep) bool {
	return slices.Contains(o.st.SkippedSteps, step)
}

// partitionSteps splits the revoking steps, in order, into those the policy requires and those
// it lets the run skip when a permission is missing.
func (p Policy) partitionSteps() (required, optional []activities.AccessStep) {
	for _, s := range activities.RevokeSteps() {
		if p.optional(s) {
			optional = append(optional, s)
		} else {
			required = append(required, s)
		}
	}
	return required, optional
}

// withStepPermissions adds to perms, once each and in order, what each of needs names for steps.
func withStepPermissions(perms []string, steps []activities.AccessStep, needs ...func(activities.AccessStep) []string) []string {
	out := slices.Clone(perms)
	for _, s := range steps {
		for _, need := range needs {
			for _, p := range need(s) {
				if !slices.Contains(out, p) {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// snapshotAccess records everything the user holds before any change, for the bundle, the
// audit record and restore.
func (o *offboarding) snapshotAccess(ctx workflow.Context) error {
	in := activities.SnapshotAccessInput{UserID: o.req.UserID, Skip: o.st.SkippedSteps}
	var snap activities.AccessSnapshot
	if err := activity(ctx, snapshotOptions, "snapshot access", acts.SnapshotAccess, in).Get(ctx, &snap); err != nil {
		return err
	}
	o.st.Access = &snap
	for _, part := range slices.Sorted(maps.Keys(snap.Unread)) {
		o.noteForAudit("warning: access snapshot left %s unread: %s", part, snap.Unread[part])
	}
	return nil
}

// revoke ends every access of the user, step by step in order, each verified by reading it
// back. A step that fails fails the run and is never reported done.
func (o *offboarding) revoke(ctx workflow.Context) (Stage, string, error) {
	for _, step := range activities.RevokeSteps() {
		if o.skipped(step) || o.revoked(step) {
			continue
		}
		o.st.Revoking = step
		var res activities.StepResult
		err := activity(ctx, revokeOptions, "revoke "+string(step), acts.RevokeAccess, o.stepInput(step)).Get(ctx, &res)
		if err != nil && o.st.Policy.optional(step) && causeType(err) == string(genesys.KindPermissionDenied) {
			o.st.Revoking = ""
			o.skip(step, causeMessage(err))
			continue
		}
		if err != nil {
			o.noteForAudit("step %s failed and is not done: %s", step, causeMessage(err))
			return "", "", err
		}
		o.st.Revoking = ""
		o.st.Revoked = append(o.st.Revoked, res)
		o.st.Deactivated = o.st.Deactivated || (step == activities.StepState && res.Changed)
		o.recordEvent(ctx, stepDetail("revoked", res))
	}
	o.st.AccessEndedAt = now(ctx)
	return StageExporting, fmt.Sprintf("access ended: %s", o.revokedSummary()), nil
}

// stepInput is the input of RevokeAccess and RestoreAccess for step.
func (o *offboarding) stepInput(step activities.AccessStep) activities.AccessStepInput {
	return activities.AccessStepInput{
		UserID:          o.req.UserID,
		Step:            step,
		Snapshot:        *o.st.Access,
		Reason:          stateChangeReason(o.req.Reason),
		HandOverReports: o.st.Policy.HandOverReports,
	}
}

func (o *offboarding) revoked(step activities.AccessStep) bool {
	return slices.ContainsFunc(o.st.Revoked, func(r activities.StepResult) bool { return r.Step == step })
}

// revokedSummary counts the steps done, those a read-back verified and those that changed something.
func (o *offboarding) revokedSummary() string {
	changed, readBack := 0, 0
	for _, r := range o.st.Revoked {
		if r.Changed {
			changed++
		}
		if !r.NoReadBack {
			readBack++
		}
	}
	s := fmt.Sprintf("%d steps done, %d verified by read-back, %d changed", len(o.st.Revoked), readBack, changed)
	if n := len(o.st.SkippedSteps); n > 0 {
		s += fmt.Sprintf(", %d skipped", n)
	}
	return s
}

// revokingSummary is the summary while the revoking stage runs.
func (o *offboarding) revokingSummary() string {
	return fmt.Sprintf("revoking access: %d of %d steps done", len(o.st.Revoked), len(activities.RevokeSteps())-len(o.st.SkippedSteps))
}

// stepDetail is the history's line for a step done: how it was verified, what it changed and
// what it left as it is.
func stepDetail(verb string, r activities.StepResult) string {
	s := fmt.Sprintf("%s %s: verified", verb, r.Step)
	if r.NoReadBack {
		s = fmt.Sprintf("%s %s: done; Genesys offers no read-back, its answer is the evidence", verb, r.Step)
	}
	if !r.Changed {
		s += ", nothing to change"
	}
	if len(r.Warnings) > 0 {
		s += "; left as is: " + strings.Join(r.Warnings, "; ")
	}
	return s
}

// stateChangeReason maps a request's free-text reason to a Genesys state change reason: the
// reason itself when it names one (in any case), else "Unknown".
func stateChangeReason(reason string) string {
	r := strings.TrimSpace(reason)
	for _, known := range genesys.StateChangeReasons() {
		if strings.EqualFold(r, known) {
			return known
		}
	}
	return genesys.ReasonUnknown
}

// oauthClients are the OAuth clients the user created: reported, never revoked.
func (o *offboarding) oauthClients() []genesys.OAuthClientRef {
	if o.st.Access == nil {
		return nil
	}
	return o.st.Access.OAuthClients
}
