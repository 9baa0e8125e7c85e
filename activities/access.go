package activities

import (
	"context"
	"fmt"
	"slices"

	"github.com/offboard/offboard/genesys"
)

// The access steps are split by concern: access_types.go (the steps, their permissions and the
// activities' types), access.go (the snapshot), access_settle.go (read, change, read back),
// access_revoke.go (ending each part) and access_restore.go (giving each part back).

// snapshotPart is one part of a user's access that SnapshotAccess reads, and the step it belongs
// to: a skipped step's parts are not read.
type snapshotPart struct {
	name string
	step AccessStep
	read func(ctx context.Context, g genesys.Client, s *AccessSnapshot) error
}

// snapshotParts lists what SnapshotAccess reads beside the user, in order.
var snapshotParts = []snapshotPart{
	{"grants", StepGrants, func(ctx context.Context, g genesys.Client, s *AccessSnapshot) (err error) {
		s.Grants, err = g.UserGrants(ctx, s.UserID)
		return err
	}},
	{"queues", StepQueues, func(ctx context.Context, g genesys.Client, s *AccessSnapshot) (err error) {
		s.Queues, err = g.UserQueues(ctx, s.UserID)
		return err
	}},
	{"skills", StepQueues, func(ctx context.Context, g genesys.Client, s *AccessSnapshot) (err error) {
		s.Skills, err = g.UserSkills(ctx, s.UserID)
		return err
	}},
	{"languages", StepQueues, func(ctx context.Context, g genesys.Client, s *AccessSnapshot) (err error) {
		s.Languages, err = g.UserLanguages(ctx, s.UserID)
		return err
	}},
	{"routingStatus", StepOffQueue, func(ctx context.Context, g genesys.Client, s *AccessSnapshot) (err error) {
		s.RoutingStatus, err = g.RoutingStatus(ctx, s.UserID)
		return err
	}},
	{"stations", StepStation, func(ctx context.Context, g genesys.Client, s *AccessSnapshot) (err error) {
		s.Stations, err = g.UserStations(ctx, s.UserID)
		return err
	}},
	{"forwarding", StepForwarding, func(ctx context.Context, g genesys.Client, s *AccessSnapshot) (err error) {
		s.Forwarding, err = g.CallForwarding(ctx, s.UserID)
		return err
	}},
	{"directReports", StepReports, func(ctx context.Context, g genesys.Client, s *AccessSnapshot) (err error) {
		s.DirectReports, err = g.DirectReports(ctx, s.UserID)
		return err
	}},
	{"oauthClients", StepReports, func(ctx context.Context, g genesys.Client, s *AccessSnapshot) (err error) {
		s.OAuthClients, err = g.OAuthClientsCreatedBy(ctx, s.UserID)
		return err
	}},
}

// SnapshotAccess reads everything the user holds before any change: grants, queue memberships
// (direct and through groups), skills, languages, routing status, stations, call forwarding,
// manager and direct reports, and the OAuth clients the user created. The parts of the steps in
// Skip are not read and are named in Unread. Any other part that cannot be read fails the
// snapshot, so that no change starts without a complete record of what to restore.
//
// Retry: default policy; ErrUserNotFound, ErrInvalidInput and Genesys permission errors are final.
func (a *Activities) SnapshotAccess(ctx context.Context, in SnapshotAccessInput) (AccessSnapshot, error) {
	if in.UserID == "" {
		return AccessSnapshot{}, failf(ErrInvalidInput, "snapshot access: empty user ID")
	}
	u, err := a.getUser(ctx, in.UserID)
	if err != nil {
		return AccessSnapshot{}, err
	}
	s := AccessSnapshot{UserID: in.UserID, State: u.State, ManagerID: u.ManagerID}
	for _, p := range snapshotParts {
		if slices.Contains(in.Skip, p.step) {
			if s.Unread == nil {
				s.Unread = map[string]string{}
			}
			s.Unread[p.name] = fmt.Sprintf("not read: step %s is skipped (an optional step whose permission is missing)", p.step)
			continue
		}
		if err := p.read(ctx, a.Genesys, &s); err != nil {
			return AccessSnapshot{}, asTemporalError(fmt.Errorf("snapshot %s of user %s: %w", p.name, in.UserID, err))
		}
	}
	s.TakenAt = a.now()
	return s, nil
}
