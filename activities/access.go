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

// partOf is the snapshot part name of step, read by read (a genesys.Client method) into field.
func partOf[T any](name string, step AccessStep, read func(genesys.Client, context.Context, string) (T, error), field func(*AccessSnapshot) *T) snapshotPart {
	return snapshotPart{name: name, step: step, read: func(ctx context.Context, g genesys.Client, s *AccessSnapshot) error {
		v, err := read(g, ctx, s.UserID)
		if err == nil {
			*field(s) = v
		}
		return err
	}}
}

// snapshotParts lists what SnapshotAccess reads beside the user, in order.
var snapshotParts = []snapshotPart{
	partOf("grants", StepGrants, genesys.Client.UserGrants, func(s *AccessSnapshot) *[]genesys.Grant { return &s.Grants }),
	partOf("queues", StepQueues, genesys.Client.UserQueues, func(s *AccessSnapshot) *[]genesys.QueueMembership { return &s.Queues }),
	partOf("skills", StepQueues, genesys.Client.UserSkills, func(s *AccessSnapshot) *[]genesys.Proficiency { return &s.Skills }),
	partOf("languages", StepQueues, genesys.Client.UserLanguages, func(s *AccessSnapshot) *[]genesys.Proficiency { return &s.Languages }),
	partOf("routingStatus", StepOffQueue, genesys.Client.RoutingStatus, func(s *AccessSnapshot) *string { return &s.RoutingStatus }),
	partOf("stations", StepStation, genesys.Client.UserStations, func(s *AccessSnapshot) *genesys.Stations { return &s.Stations }),
	partOf("forwarding", StepForwarding, genesys.Client.CallForwarding, func(s *AccessSnapshot) *genesys.CallForwarding { return &s.Forwarding }),
	partOf("directReports", StepReports, genesys.Client.DirectReports, func(s *AccessSnapshot) *[]string { return &s.DirectReports }),
	partOf("oauthClients", StepReports, genesys.Client.OAuthClientsCreatedBy, func(s *AccessSnapshot) *[]genesys.OAuthClientRef { return &s.OAuthClients }),
}

// SnapshotAccess reads everything the user holds before any change: grants, queue memberships
// (direct and through groups), skills, languages, routing status, stations, call forwarding,
// manager and direct reports, and the OAuth clients the user created. The parts of the steps in
// Skip are not read and are named in Unread. Any other part that cannot be read fails the
// snapshot, so that no change starts without a complete record of what to restore.
//
// Retry: default policy; ErrUserNotFound, ErrInvalidInput and Genesys permission errors are final.
// Heartbeats under keepAlive while it reads.
func (a *Activities) SnapshotAccess(ctx context.Context, in SnapshotAccessInput) (AccessSnapshot, error) {
	defer keepAlive(ctx)()
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
