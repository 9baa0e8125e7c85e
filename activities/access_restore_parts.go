package activities

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/offboard/offboard/genesys"
)

// restoreStateStep brings the user back to the state the snapshot recorded (active when it
// recorded none) through RestoreUser, and reads it back.
func (a *Activities) restoreStateStep(ctx context.Context, in AccessStepInput) (StepResult, error) {
	want := in.Snapshot.State
	if want != genesys.StateInactive {
		want = genesys.StateActive
	}
	o, err := settle(ctx, a, goal[genesys.User]{
		what: "user " + in.UserID + " " + string(want),
		read: func(ctx context.Context) (genesys.User, error) { return a.getUser(ctx, in.UserID) },
		done: func(u genesys.User) bool { return u.State == want },
		change: func(ctx context.Context, _ genesys.User) error {
			_, err := a.RestoreUser(ctx, RestoreInput{UserID: in.UserID, State: want})
			return err
		},
	})
	if err != nil {
		return StepResult{}, err
	}
	return result(a, StepState, o, stateView, "GET /api/v2/users/{id} reads state "+string(want)), nil
}

// restoreStation associates the snapshot's station again when no one else holds it (else a
// warning names who does) and sets the default station back.
func (a *Activities) restoreStation(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id, want := a.Genesys, in.UserID, in.Snapshot.Stations
	assoc, warnings, err := a.freeStation(ctx, id, want)
	if err != nil {
		return StepResult{}, err
	}
	o, err := settle(ctx, a, goal[genesys.Stations]{
		what: "the stations of user " + id + " as the snapshot recorded them",
		read: func(ctx context.Context) (genesys.Stations, error) { return g.UserStations(ctx, id) },
		done: func(s genesys.Stations) bool {
			return (assoc == "" || s.AssociatedID == assoc) && (want.DefaultID == "" || s.DefaultID == want.DefaultID)
		},
		change: func(ctx context.Context, s genesys.Stations) error {
			if assoc != "" && s.AssociatedID != assoc {
				if err := g.AssociateStation(ctx, id, assoc); err != nil {
					return err
				}
			}
			if want.DefaultID != "" && s.DefaultID != want.DefaultID {
				return g.SetDefaultStation(ctx, id, want.DefaultID)
			}
			return nil
		},
	})
	if err != nil {
		return StepResult{}, err
	}
	r := result(a, StepStation, o, same, "GET /api/v2/users/{id}/station shows the snapshot's stations")
	r.Warnings = warnings
	return r, nil
}

// freeStation returns the snapshot's associated station if no other user holds it now, else ""
// and a warning naming who does.
func (a *Activities) freeStation(ctx context.Context, userID string, want genesys.Stations) (string, []string, error) {
	if want.AssociatedID == "" {
		return "", nil, nil
	}
	holder, err := a.Genesys.StationHolder(ctx, want.AssociatedID)
	switch {
	case genesys.IsNotFound(err):
		return "", []string{fmt.Sprintf("station %s no longer exists; not associated again", label(want.AssociatedName, want.AssociatedID))}, nil
	case err != nil:
		return "", nil, asTemporalError(fmt.Errorf("read station %s: %w", want.AssociatedID, err))
	case holder != "" && holder != userID:
		return "", []string{fmt.Sprintf("station %s is now associated with user %s; left with them",
			label(want.AssociatedName, want.AssociatedID), holder)}, nil
	}
	return want.AssociatedID, nil, nil
}

// queuesGoal is what restoring the queues aims at: the snapshot's direct memberships, and the
// joined flag of every membership of the snapshot.
type queuesGoal struct {
	want []genesys.QueueMembership
	// gone holds the queues Genesys refused to add the user to again, with why.
	gone map[string]string
}

// missing are the direct memberships of the snapshot that have lacks.
func (q queuesGoal) missing(have []genesys.QueueMembership) []genesys.QueueMembership {
	var out []genesys.QueueMembership
	for _, m := range directQueues(q.want) {
		_, gone := q.gone[m.QueueID]
		if !gone && !slices.ContainsFunc(have, func(h genesys.QueueMembership) bool { return h.QueueID == m.QueueID }) {
			out = append(out, m)
		}
	}
	return out
}

// joins are the joined flags to set so that have matches the snapshot, for the queues the user
// is (or is about to be) a member of.
func (q queuesGoal) joins(have []genesys.QueueMembership) map[string]bool {
	out := map[string]bool{}
	for _, m := range q.want {
		if _, gone := q.gone[m.QueueID]; gone {
			continue
		}
		i := slices.IndexFunc(have, func(h genesys.QueueMembership) bool { return h.QueueID == m.QueueID })
		if (i < 0 && !m.ViaGroup) || (i >= 0 && have[i].Joined != m.Joined) {
			out[m.QueueID] = m.Joined
		}
	}
	return out
}

// restoreQueues adds the user back to the snapshot's direct queues and sets every joined flag as
// it was; skills and languages, which no step removes, are checked against the snapshot.
func (a *Activities) restoreQueues(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id := a.Genesys, in.UserID
	q := queuesGoal{want: in.Snapshot.Queues, gone: map[string]string{}}
	o, err := settle(ctx, a, goal[[]genesys.QueueMembership]{
		what: "the queues of user " + id + " as the snapshot recorded them",
		read: func(ctx context.Context) ([]genesys.QueueMembership, error) { return g.UserQueues(ctx, id) },
		done: func(have []genesys.QueueMembership) bool { return len(q.missing(have)) == 0 && len(q.joins(have)) == 0 },
		change: func(ctx context.Context, have []genesys.QueueMembership) error {
			for _, m := range q.missing(have) {
				if err := g.AddQueueMembers(ctx, m.QueueID, []string{id}); refused(err) {
					q.gone[m.QueueID] = err.Error()
				} else if err != nil {
					return err
				}
			}
			if joins := q.joins(have); len(joins) > 0 {
				return g.SetQueuesJoined(ctx, id, joins)
			}
			return nil
		},
	})
	if err != nil {
		return StepResult{}, err
	}
	r := result(a, StepQueues, o, same, "GET /api/v2/users/{id}/queues lists the snapshot's memberships with their joined flags")
	for _, qid := range slices.Sorted(maps.Keys(q.gone)) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("queue %s not restored: %s", qid, q.gone[qid]))
	}
	w, err := a.proficiencyDrift(ctx, in)
	r.Warnings = append(r.Warnings, w...)
	return r, err
}

// proficiencyDrift names the skills and languages of the snapshot that the user no longer has
// with the same proficiency. No step removes them, so a difference is someone else's change.
func (a *Activities) proficiencyDrift(ctx context.Context, in AccessStepInput) ([]string, error) {
	var out []string
	for _, p := range []struct {
		kind string
		want []genesys.Proficiency
		read func(context.Context, string) ([]genesys.Proficiency, error)
	}{{"skill", in.Snapshot.Skills, a.Genesys.UserSkills}, {"language", in.Snapshot.Languages, a.Genesys.UserLanguages}} {
		have, err := p.read(ctx, in.UserID)
		if err != nil {
			return nil, asTemporalError(fmt.Errorf("read the %ss of user %s: %w", p.kind, in.UserID, err))
		}
		for _, w := range p.want {
			if !slices.ContainsFunc(have, func(h genesys.Proficiency) bool { return h.ID == w.ID && h.Proficiency == w.Proficiency }) {
				out = append(out, fmt.Sprintf("%s %s (proficiency %g) is no longer the user's as the snapshot recorded it; Offboard does not change %ss",
					p.kind, label(w.Name, w.ID), w.Proficiency, p.kind))
			}
		}
	}
	return out, nil
}

// restoreReports makes the snapshot's direct reports report to the user again when the revoke
// handed them to the user's manager; a report that now reports to someone else is left with a
// warning, since someone moved it on purpose.
func (a *Activities) restoreReports(ctx context.Context, in AccessStepInput) (StepResult, error) {
	g, id := a.Genesys, in.UserID
	back, warnings, err := a.reportsToMoveBack(ctx, in)
	if err != nil {
		return StepResult{}, err
	}
	o, err := settle(ctx, a, goal[[]string]{
		what: "the direct reports of user " + id + " back",
		read: func(ctx context.Context) ([]string, error) { return g.DirectReports(ctx, id) },
		done: func(rs []string) bool {
			return !slices.ContainsFunc(back, func(r string) bool { return !slices.Contains(rs, r) })
		},
		change: func(ctx context.Context, rs []string) error {
			for _, r := range back {
				if !slices.Contains(rs, r) {
					if err := g.SetManager(ctx, r, id); err != nil {
						return err
					}
				}
			}
			return nil
		},
	})
	if err != nil {
		return StepResult{}, err
	}
	r := result(a, StepReports, o, func(rs []string) any { return reportsRecord{DirectReports: nonNil(rs)} },
		"GET /api/v2/users/{id}/directreports lists every report handed over")
	r.Warnings = warnings
	return r, nil
}

// reportsToMoveBack reads the manager of each of the snapshot's direct reports: those that report
// to the user's manager (where the revoke put them) move back; those that report to someone
// else stay, with a warning.
func (a *Activities) reportsToMoveBack(ctx context.Context, in AccessStepInput) ([]string, []string, error) {
	var back, warnings []string
	for _, r := range in.Snapshot.DirectReports {
		u, err := a.Genesys.GetUser(ctx, r)
		if genesys.IsNotFound(err) {
			warnings = append(warnings, fmt.Sprintf("direct report %s no longer exists", r))
			continue
		}
		if err != nil {
			return nil, nil, asTemporalError(fmt.Errorf("read direct report %s: %w", r, err))
		}
		switch {
		case u.ManagerID == in.UserID:
		case in.HandOverReports && in.Snapshot.ManagerID != "" && u.ManagerID == in.Snapshot.ManagerID:
			back = append(back, r)
		default:
			warnings = append(warnings, fmt.Sprintf("direct report %s now reports to %q; left there", r, u.ManagerID))
		}
	}
	return back, warnings, nil
}
