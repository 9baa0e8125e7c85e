package workflows

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
)

// restore gives a cancelled user back what this run took, on the path the run took. Its
// report names every failure.
func (o *offboarding) restore(ctx workflow.Context) (string, error) {
	if o.revokes() {
		return o.restoreAccess(ctx)
	}
	return o.restoreState(ctx)
}

// restoreState is the legacy restore: a user this run deactivated goes back to the snapshot's state.
func (o *offboarding) restoreState(ctx workflow.Context) (string, error) {
	if !o.st.Deactivated || o.st.Snapshot == nil {
		return "nothing was changed", nil
	}
	state := o.st.Snapshot.User.State
	var change activities.StateChange
	in := activities.RestoreInput{UserID: o.req.UserID, State: state}
	if err := activity(ctx, changeOptions, "restore user to "+string(state), acts.RestoreUser, in).Get(ctx, &change); err != nil {
		return "restore to " + string(state) + " failed: " + causeMessage(err), err
	}
	o.st.Deactivated = false
	o.st.RestoredTo = state
	return "restored to " + string(state), nil
}

// restoreAccess re-applies the access snapshot for every step this run began, in reverse order,
// each verified by reading it back. A step that cannot be restored does not stop the others;
// the first failure fails the run once all were tried.
func (o *offboarding) restoreAccess(ctx workflow.Context) (string, error) {
	steps := o.stepsToRestore()
	if len(steps) == 0 {
		return "nothing was changed", nil
	}
	var first error
	for _, step := range steps {
		var res activities.StepResult
		if err := activity(ctx, restoreAccessOptions, "restore "+string(step), acts.RestoreAccess, o.stepInput(step)).Get(ctx, &res); err != nil {
			o.notRestored(step, causeMessage(err))
			if first == nil {
				first = err
			}
			continue
		}
		o.st.Restored = append(o.st.Restored, res)
		for _, w := range res.Warnings {
			o.notRestored(step, w)
		}
		o.recordEvent(ctx, stepDetail("restored", res))
	}
	if !slices.ContainsFunc(o.st.NotRestored, func(s string) bool { return strings.HasPrefix(s, string(activities.StepState)+":") }) {
		o.st.Deactivated = false
		o.st.RestoredTo = o.snapshotState()
	}
	return o.restoreReport(), first
}

// stepsToRestore are the steps restore re-applies that this run revoked or was revoking.
func (o *offboarding) stepsToRestore() []activities.AccessStep {
	var out []activities.AccessStep
	for _, s := range activities.RestoreSteps() {
		if o.revoked(s) || o.st.Revoking == s {
			out = append(out, s)
		}
	}
	return out
}

func (o *offboarding) notRestored(step activities.AccessStep, why string) {
	o.st.NotRestored = append(o.st.NotRestored, fmt.Sprintf("%s: %s", step, why))
}

// snapshotState is the user's state before the run.
func (o *offboarding) snapshotState() genesys.UserState {
	switch {
	case o.st.Access != nil && o.st.Access.State != "":
		return o.st.Access.State
	case o.st.Snapshot != nil:
		return o.st.Snapshot.User.State
	}
	return genesys.StateActive
}

// restoreReport says what restore gave back and what it could not.
func (o *offboarding) restoreReport() string {
	names := make([]string, len(o.st.Restored))
	for i, r := range o.st.Restored {
		names[i] = string(r.Step)
	}
	s := "restored " + strings.Join(names, ", ")
	if o.st.RestoredTo != "" {
		s = fmt.Sprintf("restored to %s (%s)", o.st.RestoredTo, strings.Join(names, ", "))
	}
	if len(o.st.NotRestored) > 0 {
		s += "; not restored: " + strings.Join(o.st.NotRestored, "; ")
	}
	return s
}
