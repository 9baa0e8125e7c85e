package activities

import (
	"context"
	"fmt"
	"slices"

	"github.com/offboard/offboard/genesys"
)

// stepRunner runs one access step for a user.
type stepRunner func(a *Activities, ctx context.Context, in AccessStepInput) (StepResult, error)

// RevokeAccess runs one step of ending the user's access: it reads the part, changes only what
// differs from the goal, and reads it back until it shows the goal (a bounded number of reads
// within the attempt, then the retryable ErrNotYetConsistent). It succeeds only when the read-back
// shows the goal, except for StepTokens, which Genesys offers no way to read back (see
// revokeTokens). Running a step again changes nothing.
//
// Retry: default policy with backoff; ErrInvalidInput, ErrUnexpectedState and Genesys permission
// errors (naming the missing permission) are final. Heartbeats under keepAlive while it pages
// and reads back.
func (a *Activities) RevokeAccess(ctx context.Context, in AccessStepInput) (StepResult, error) {
	defer keepAlive(ctx)()
	run, err := stepFor(in, "revoke", func(d stepDef) stepRunner { return d.revoke })
	if err != nil {
		return StepResult{}, err
	}
	return run(a, ctx, in)
}

// stepFor checks the input and finds the step's runner.
func stepFor(in AccessStepInput, verb string, runner func(stepDef) stepRunner) (stepRunner, error) {
	if in.UserID == "" {
		return nil, failf(ErrInvalidInput, "%s access step %s: empty user ID", verb, in.Step)
	}
	if in.Snapshot.UserID != "" && in.Snapshot.UserID != in.UserID {
		return nil, failf(ErrInvalidInput, "%s access step %s of user %s: the snapshot is user %s's", verb, in.Step, in.UserID, in.Snapshot.UserID)
	}
	d, ok := stepOf(in.Step)
	if !ok {
		return nil, failf(ErrInvalidInput, "%s access: unknown step %q; the steps are %v", verb, in.Step, RevokeSteps())
	}
	return runner(d), nil
}

// routingView is what the audit records of a routing status.
func routingView(s string) any { return map[string]string{"routingStatus": s} }

func (a *Activities) revokeOffQueue(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id := a.Genesys, in.UserID
	o, err := settle(ctx, a, goal[string]{
		what:   "user " + id + " " + genesys.RoutingOffQueue,
		read:   func(ctx context.Context) (string, error) { return g.RoutingStatus(ctx, id) },
		done:   func(s string) bool { return s == genesys.RoutingOffQueue },
		change: func(ctx context.Context, _ string) error { return g.SetRoutingStatus(ctx, id, genesys.RoutingOffQueue) },
	})
	if err != nil {
		return StepResult{}, err
	}
	return result(a, StepOffQueue, o, routingView, "GET /api/v2/users/{id}/routingstatus reads OFF_QUEUE"), nil
}

// directQueues are the memberships that the user holds directly, not through a group.
func directQueues(ms []genesys.QueueMembership) []genesys.QueueMembership {
	return slices.DeleteFunc(slices.Clone(ms), func(m genesys.QueueMembership) bool { return m.ViaGroup })
}

func (a *Activities) revokeQueues(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id := a.Genesys, in.UserID
	o, err := settle(ctx, a, goal[[]genesys.QueueMembership]{
		what: "user " + id + " in no queue directly",
		read: func(ctx context.Context) ([]genesys.QueueMembership, error) { return g.UserQueues(ctx, id) },
		done: func(ms []genesys.QueueMembership) bool { return len(directQueues(ms)) == 0 },
		change: func(ctx context.Context, ms []genesys.QueueMembership) error {
			for _, m := range directQueues(ms) {
				if err := g.RemoveQueueMembers(ctx, m.QueueID, []string{id}); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		return StepResult{}, err
	}
	r := result(a, StepQueues, o, same, "GET /api/v2/users/{id}/queues lists no direct membership")
	for _, m := range o.after {
		r.Warnings = append(r.Warnings, fmt.Sprintf(
			"queue %s: the membership comes from a group and only the group can remove it; it is left as it is", label(m.QueueName, m.QueueID)))
	}
	return r, nil
}

func (a *Activities) revokeForwarding(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id := a.Genesys, in.UserID
	o, err := settle(ctx, a, goal[genesys.CallForwarding]{
		what: "call forwarding of user " + id + " off",
		read: func(ctx context.Context) (genesys.CallForwarding, error) { return g.CallForwarding(ctx, id) },
		done: func(f genesys.CallForwarding) bool { return !f.Enabled },
		change: func(ctx context.Context, f genesys.CallForwarding) error {
			f.Enabled = false // the targets stay, so that restore only turns it back on
			return g.SetCallForwarding(ctx, id, f)
		},
	})
	if err != nil {
		return StepResult{}, err
	}
	return result(a, StepForwarding, o, same, "GET /api/v2/users/{id}/callforwarding reads enabled: false"), nil
}

func (a *Activities) revokeStation(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id := a.Genesys, in.UserID
	o, err := settle(ctx, a, goal[genesys.Stations]{
		what: "no station associated with or default for user " + id,
		read: func(ctx context.Context) (genesys.Stations, error) { return g.UserStations(ctx, id) },
		done: func(s genesys.Stations) bool { return s.AssociatedID == "" && s.DefaultID == "" },
		change: func(ctx context.Context, s genesys.Stations) error {
			if s.AssociatedID != "" {
				if err := g.DisassociateStation(ctx, id); err != nil {
					return err
				}
			}
			if s.DefaultID != "" {
				return g.ClearDefaultStation(ctx, id)
			}
			return nil
		},
	})
	if err != nil {
		return StepResult{}, err
	}
	return result(a, StepStation, o, same, "GET /api/v2/users/{id}/station shows no associated and no default station"), nil
}

func (a *Activities) revokeGrants(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id := a.Genesys, in.UserID
	o, err := settle(ctx, a, goal[[]genesys.Grant]{
		what:   "no grant left to user " + id,
		read:   func(ctx context.Context) ([]genesys.Grant, error) { return g.UserGrants(ctx, id) },
		done:   func(gs []genesys.Grant) bool { return len(gs) == 0 },
		change: func(ctx context.Context, gs []genesys.Grant) error { return g.RemoveGrants(ctx, id, gs) },
	})
	if err != nil {
		return StepResult{}, err
	}
	return result(a, StepGrants, o, same, "GET /api/v2/authorization/subjects/{id} lists no grant"), nil
}

// stateRecord is what the audit records of a user's state; Reason is the reason given with the change.
type stateRecord struct {
	State  genesys.UserState `json:"state"`
	Reason string            `json:"reason,omitempty"`
}

// stateView records a user's state.
func stateView(u genesys.User) any { return stateRecord{State: u.State} }

// changeReason is the state change reason of the input, "Unknown" by default; an unknown one is
// refused rather than sent.
func changeReason(in AccessStepInput) (string, error) {
	if in.Reason == "" {
		return genesys.ReasonUnknown, nil
	}
	if !slices.Contains(genesys.StateChangeReasons(), in.Reason) {
		return "", failf(ErrInvalidInput, "state change reason %q is not one Genesys accepts: %v", in.Reason, genesys.StateChangeReasons())
	}
	return in.Reason, nil
}

func (a *Activities) revokeState(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id := a.Genesys, in.UserID
	reason, err := changeReason(in)
	if err != nil {
		return StepResult{}, err
	}
	o, err := settle(ctx, a, goal[genesys.User]{
		what: "user " + id + " inactive",
		read: func(ctx context.Context) (genesys.User, error) { return a.getUser(ctx, id) },
		done: func(u genesys.User) bool { return u.State == genesys.StateInactive },
		change: func(ctx context.Context, u genesys.User) error {
			if u.State == genesys.StateDeleted {
				return failf(ErrUnexpectedState,
					"user %s is already deleted (perhaps by SCIM); Offboard will not restore it just to deactivate it", id)
			}
			_, err := g.SetUserStateWithReason(ctx, id, genesys.StateInactive, reason)
			return err
		},
	})
	if err != nil {
		return StepResult{}, err
	}
	r := result(a, StepState, o, stateView, "GET /api/v2/users/{id} reads state inactive")
	if o.changed {
		r.After = rawJSON(stateRecord{State: o.after.State, Reason: reason})
	}
	return r, nil
}

// tokenEvidence is why the tokens step is taken as done: Genesys has no read-back for it.
const tokenEvidence = "Genesys Cloud offers no way to read a user's tokens back: DELETE /api/v2/tokens/{userId} " +
	"answered 2xx, which Genesys documents as every token of the user deleted; that answer is the evidence. " +
	"Changed is always true, since Genesys does not say whether any token was live"

func (a *Activities) revokeTokens(ctx context.Context, in AccessStepInput) (StepResult, error) {
	if err := a.Genesys.RevokeTokens(ctx, in.UserID); err != nil {
		return StepResult{}, asTemporalError(fmt.Errorf("revoke the tokens of user %s: %w", in.UserID, err))
	}
	return StepResult{
		Step: StepTokens, Changed: true,
		After:        rawJSON(map[string]bool{"tokensRevoked": true}),
		Verification: tokenEvidence, NoReadBack: true, VerifiedAt: a.now(),
	}, nil
}

// reportsRecord is what the audit records of a user's direct reports.
type reportsRecord struct {
	DirectReports []string `json:"directReports"`
	HandedTo      string   `json:"handedTo,omitempty"`
}

func (a *Activities) revokeReports(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id, manager := a.Genesys, in.UserID, in.Snapshot.ManagerID
	hand := in.HandOverReports && manager != "" && manager != id
	o, err := settle(ctx, a, goal[[]string]{
		what: "no direct report left to user " + id,
		read: func(ctx context.Context) ([]string, error) { return g.DirectReports(ctx, id) },
		done: func(rs []string) bool { return !hand || len(rs) == 0 },
		change: func(ctx context.Context, rs []string) error {
			for _, r := range rs {
				if err := g.SetManager(ctx, r, manager); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		return StepResult{}, err
	}
	view := func(rs []string) any { return reportsRecord{DirectReports: nonNil(rs)} }
	if !hand {
		r := result(a, StepReports, o, view, "GET /api/v2/users/{id}/directreports, recorded only")
		if len(o.after) > 0 {
			r.Warnings = append(r.Warnings, reportsLeft(in, len(o.after)))
		}
		return r, nil
	}
	r := result(a, StepReports, o, view, "GET /api/v2/users/{id}/directreports lists none")
	r.After = rawJSON(reportsRecord{DirectReports: nonNil(o.after), HandedTo: manager})
	return r, nil
}

// reportsLeft says why n direct reports still report to the leaver.
func reportsLeft(in AccessStepInput, n int) string {
	if in.HandOverReports {
		return fmt.Sprintf("%d direct report(s) still report to user %s: the user has no manager to hand them to", n, in.UserID)
	}
	return fmt.Sprintf("%d direct report(s) still report to user %s: the policy does not hand them over", n, in.UserID)
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
