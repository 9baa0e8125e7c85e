package activities

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/offboard/offboard/genesys"
)

// RestoreAccess re-applies one step of the snapshot (RestoreSteps gives the order): it reads the
// part, changes only what differs from the snapshot, and reads it back until it shows the
// snapshot. What cannot be given back (a station now associated with someone else, a role or
// queue that no longer exists, revoked tokens) is named in Warnings and the rest is restored.
// Parts the snapshot could not read are left as they are, with a warning.
//
// Retry: default policy with backoff; ErrInvalidInput and Genesys permission errors are final.
// Heartbeats under keepAlive while it pages and reads back.
func (a *Activities) RestoreAccess(ctx context.Context, in AccessStepInput) (StepResult, error) {
	defer keepAlive(ctx)()
	run, err := stepFor(in, "restore", func(d stepDef) stepRunner { return d.restore })
	if err != nil {
		return StepResult{}, err
	}
	if unread := unreadParts(in.Snapshot, in.Step); len(unread) > 0 {
		return StepResult{Step: in.Step, VerifiedAt: a.now(), Warnings: unread,
			Verification: "nothing restored: the snapshot did not read this step's parts"}, nil
	}
	return run(a, ctx, in)
}

// unreadParts names the parts of step that the snapshot did not read, and why.
func unreadParts(s AccessSnapshot, step AccessStep) []string {
	var out []string
	for _, p := range snapshotParts {
		if why, ok := s.Unread[p.name]; ok && p.step == step {
			out = append(out, fmt.Sprintf("%s: %s; left as it is", p.name, why))
		}
	}
	return out
}

func (a *Activities) restoreTokens(_ context.Context, in AccessStepInput) (StepResult, error) {
	return StepResult{Step: StepTokens, VerifiedAt: a.now(),
		Warnings:     []string{fmt.Sprintf("the revoked tokens of user %s cannot be given back; the user signs in again", in.UserID)},
		Verification: "nothing to restore"}, nil
}

// routingIdle is the on-queue routing status: with OFF_QUEUE, the only one a client may set; the
// others (INTERACTING, COMMUNICATING, NOT_RESPONDING) follow from interactions.
const routingIdle = "IDLE"

// restoreRoutingStatus puts the user back on queue if the snapshot found them on queue. A status
// that only interactions set (INTERACTING) is restored as IDLE, with a warning saying so.
func (a *Activities) restoreRoutingStatus(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id, want := a.Genesys, in.UserID, in.Snapshot.RoutingStatus
	var warnings []string
	switch want {
	case "", genesys.RoutingOffQueue, routingIdle:
		want = cmp.Or(want, genesys.RoutingOffQueue)
	default:
		warnings = append(warnings, fmt.Sprintf("the snapshot found routing status %s, which only an interaction sets; restored on queue as %s", want, routingIdle))
		want = routingIdle
	}
	o, err := settle(ctx, a, goal[string]{
		what:   "user " + id + " " + want,
		read:   func(ctx context.Context) (string, error) { return g.RoutingStatus(ctx, id) },
		done:   func(s string) bool { return s == want },
		change: func(ctx context.Context, _ string) error { return g.SetRoutingStatus(ctx, id, want) },
	})
	if refused(err) {
		return a.notRestored(StepOffQueue, o, routingView, fmt.Sprintf("Genesys Cloud refused routing status %s: %v", want, err)), nil
	}
	if err != nil {
		return StepResult{}, err
	}
	r := result(a, StepOffQueue, o, routingView, "GET /api/v2/users/{id}/routingstatus reads "+want)
	r.Warnings = warnings
	return r, nil
}

// refused reports whether Genesys answered that the change cannot be made at all (400 or 404),
// which restore reports as a warning rather than a failure.
func refused(err error) bool {
	k := genesys.KindOf(err)
	return k == genesys.KindInvalid || k == genesys.KindNotFound
}

// notRestored is the result of a step Genesys refused to restore: nothing changed, with why.
func (a *Activities) notRestored(step AccessStep, o outcome[string], view func(string) any, why string) StepResult {
	r := result(a, step, o, view, "not restored")
	r.Warnings = []string{why}
	return r
}

func (a *Activities) restoreForwarding(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id, want := a.Genesys, in.UserID, in.Snapshot.Forwarding
	o, err := settle(ctx, a, goal[genesys.CallForwarding]{
		what:   "call forwarding of user " + id + " as the snapshot recorded it",
		read:   func(ctx context.Context) (genesys.CallForwarding, error) { return g.CallForwarding(ctx, id) },
		done:   func(f genesys.CallForwarding) bool { return sameForwarding(f, want) },
		change: func(ctx context.Context, _ genesys.CallForwarding) error { return g.SetCallForwarding(ctx, id, want) },
	})
	if err != nil {
		return StepResult{}, err
	}
	return result(a, StepForwarding, o, same, "GET /api/v2/users/{id}/callforwarding reads as the snapshot"), nil
}

// sameForwarding compares two call forwarding settings, an empty route list equal to none.
func sameForwarding(x, y genesys.CallForwarding) bool {
	if x.Enabled != y.Enabled || x.PhoneNumber != y.PhoneNumber || x.Voicemail != y.Voicemail || len(x.Calls) != len(y.Calls) {
		return false
	}
	for i := range x.Calls {
		if !slices.Equal(x.Calls[i].Targets, y.Calls[i].Targets) {
			return false
		}
	}
	return true
}

// grantKey identifies a grant: a role in a division.
func grantKey(g genesys.Grant) string { return g.RoleID + "@" + g.DivisionID }

// missingGrants are the grants of want that have lacks, except those in skip.
func missingGrants(want, have []genesys.Grant, skip map[string]string) []genesys.Grant {
	held := map[string]bool{}
	for _, g := range have {
		held[grantKey(g)] = true
	}
	var out []genesys.Grant
	for _, g := range want {
		if _, skipped := skip[grantKey(g)]; !held[grantKey(g)] && !skipped {
			out = append(out, g)
		}
	}
	return out
}

func (a *Activities) restoreGrants(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id, want := a.Genesys, in.UserID, in.Snapshot.Grants
	refusedGrants := map[string]string{} // grant key -> why Genesys refused it
	o, err := settle(ctx, a, goal[[]genesys.Grant]{
		what: "the grants of user " + id + " as the snapshot recorded them",
		read: func(ctx context.Context) ([]genesys.Grant, error) { return g.UserGrants(ctx, id) },
		done: func(have []genesys.Grant) bool { return len(missingGrants(want, have, refusedGrants)) == 0 },
		change: func(ctx context.Context, have []genesys.Grant) error {
			return addGrants(ctx, g, id, missingGrants(want, have, refusedGrants), refusedGrants)
		},
	})
	if err != nil {
		return StepResult{}, err
	}
	r := result(a, StepGrants, o, same, "GET /api/v2/authorization/subjects/{id} lists every grant of the snapshot")
	for _, gr := range want {
		if why, ok := refusedGrants[grantKey(gr)]; ok {
			r.Warnings = append(r.Warnings, fmt.Sprintf("grant of role %s in division %s not restored: %s", label(gr.RoleName, gr.RoleID), label(gr.DivisionName, gr.DivisionID), why))
		}
	}
	return r, nil
}

// addGrants adds the grants in one call; when Genesys refuses the call, it adds them one by one
// and records in refusedGrants each one Genesys refuses (a role or division deleted since).
func addGrants(ctx context.Context, g genesys.Client, userID string, grants []genesys.Grant, refusedGrants map[string]string) error {
	err := g.AddGrants(ctx, userID, grants)
	if !refused(err) || len(grants) == 1 {
		if refused(err) {
			refusedGrants[grantKey(grants[0])] = err.Error()
			return nil
		}
		return err
	}
	for _, gr := range grants {
		if err := addGrants(ctx, g, userID, []genesys.Grant{gr}, refusedGrants); err != nil {
			return err
		}
	}
	return nil
}

// label names something by its name and ID, or its ID alone.
func label(name, id string) string {
	if name == "" {
		return id
	}
	return fmt.Sprintf("%s (%s)", name, id)
}
