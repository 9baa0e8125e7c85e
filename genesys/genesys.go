// Package genesys is the small, typed slice of the Genesys Cloud Platform API that Offboard uses.
//
// Client is what the activities depend on. The production implementation (New) sits on the
// official Go SDK v157 with its own HTTP client, so that 429s, 5xx responses and error bodies
// reach the caller classified instead of swallowed (see docs/genesys.md).
package genesys

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// UserState is a Genesys user's state. There is no "archived" state: archiving a user in
// Offboard means setting it to StateInactive.
type UserState string

// The states a Genesys user can be in.
const (
	StateActive   UserState = "active"
	StateInactive UserState = "inactive"
	StateDeleted  UserState = "deleted"
)

// Permissions that Offboard's operations need, as Genesys names them (domain:entity:action).
const (
	PermUserEdit           = "directory:user:edit"
	PermUserDelete         = "directory:user:delete"
	PermConversationDetail = "analytics:conversationDetail:view"
)

// User is the part of a Genesys user that an offboarding records and acts on.
type User struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	DivisionID   string    `json:"divisionId,omitempty"`
	DivisionName string    `json:"divisionName,omitempty"`
	State        UserState `json:"state"`
	Version      int       `json:"version"`
	// Roles are the role IDs and names granted to the user (expand=authorization).
	Roles []Role `json:"roles,omitempty"`
	// ManagerID is the user's manager, if any.
	ManagerID string `json:"managerId,omitempty"`
}

// Role is a role granted to a user or an OAuth client.
type Role struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Grants is the set of permissions the client credentials hold, from their OAuth client's roles.
type Grants struct {
	ClientID string `json:"clientId"`
	// Permissions are domain:entity:action triples, any part of which may be "*".
	Permissions []string `json:"permissions"`
}

// Has reports whether the grants include perm (domain:entity:action), honouring "*" wildcards.
func (g Grants) Has(perm string) bool {
	want := strings.SplitN(perm, ":", 3)
	if len(want) != 3 {
		return false
	}
	for _, p := range g.Permissions {
		have := strings.SplitN(p, ":", 3)
		if len(have) != 3 {
			continue
		}
		ok := true
		for i := range 3 {
			if have[i] != "*" && !strings.EqualFold(have[i], want[i]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Missing returns the permissions in required that the grants lack, in the order given.
func (g Grants) Missing(required ...string) []string {
	var missing []string
	for _, p := range required {
		if !g.Has(p) {
			missing = append(missing, p)
		}
	}
	return missing
}

// Interval is a half-open time range [Start, End), always expressed in UTC on the wire.
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// JobState is the state of an analytics conversation-details job.
type JobState string

// The states an analytics job moves through.
const (
	JobQueued    JobState = "QUEUED"
	JobPending   JobState = "PENDING"
	JobFulfilled JobState = "FULFILLED"
	JobFailed    JobState = "FAILED"
	JobCancelled JobState = "CANCELLED"
	JobExpired   JobState = "EXPIRED"
)

// JobStatus is what polling an analytics job returns.
type JobStatus struct {
	State          JobState  `json:"state"`
	ErrorMessage   string    `json:"errorMessage,omitempty"` // why the job FAILED
	SubmissionDate time.Time `json:"submissionDate"`
	ExpirationDate time.Time `json:"expirationDate"`
}

// Conversation is one conversation as Genesys returned it. Raw holds the exact JSON object, which
// is what the export bundle stores; ID, Start and End are parsed from it for bookkeeping.
type Conversation struct {
	ID    string
	Start time.Time
	End   time.Time // zero while the conversation is still ongoing
	Raw   json.RawMessage
}

// ResultsPage is what one cursor page of an analytics job's results says besides its
// conversations, which ConversationJobResults hands over one at a time.
type ResultsPage struct {
	// Conversations is the number of conversations on the page.
	Conversations int
	// Cursor is empty on the last page.
	Cursor               string
	DataAvailabilityDate time.Time
}

// EachConversation receives the conversations of a results page in order as they arrive; i is
// the conversation's index on the page. c.Raw is valid only until the call returns (its buffer
// is reused for the next conversation), so a receiver that keeps it copies it. When a page is
// read again after a fault, i starts again from 0, so a receiver that keeps conversations
// treats a repeated index as a replacement. An error stops the page and is returned as is.
type EachConversation func(i int, c Conversation) error

// QueryPage is one page of the synchronous conversation-details query.
type QueryPage struct {
	Conversations []Conversation
	TotalHits     int
}

// Client is the Genesys Cloud API surface that Offboard needs. Every method returns a *Error
// (use errors.As or KindOf) for API failures, so callers can decide whether to retry.
type Client interface {
	// Grants returns the permissions the client credentials hold:
	// tokens/me, then the OAuth client, then each of its roles.
	Grants(ctx context.Context) (Grants, error)

	// GetUser returns the user in any state, including deleted. An unknown ID is KindNotFound.
	GetUser(ctx context.Context, userID string) (User, error)
	// SetUserState moves the user to state, reading the current version first and re-reading
	// and retrying on a version conflict. Setting the state the user already has is a no-op.
	SetUserState(ctx context.Context, userID string, state UserState) (User, error)
	// DeleteUser soft-deletes the user. Deleting a user that is already deleted succeeds.
	DeleteUser(ctx context.Context, userID string) error
	// FindUsers lists the active and inactive users whose field equals value (emails compare
	// case-insensitively), each confirmed by reading it back, since the search index lags.
	FindUsers(ctx context.Context, field SearchField, value string) (Matches, error)
	// ListUsers reads one page (1-based) of the users in state, at most MaxUsersPageSize a page.
	ListUsers(ctx context.Context, state UserState, pageSize, pageNumber int) (UsersPage, error)

	// CreateConversationJob starts an async conversation-details job for the conversations
	// whose segments have userID and whose lifetime overlaps the interval; it returns the job ID.
	CreateConversationJob(ctx context.Context, userID string, interval Interval) (string, error)
	// ConversationJob polls a job.
	ConversationJob(ctx context.Context, jobID string) (JobStatus, error)
	// ConversationJobResults reads one page of a fulfilled job's results (cursor "" is the
	// first page) and streams its conversations to each as they are decoded, so that a page is
	// never held in memory whole.
	ConversationJobResults(ctx context.Context, jobID, cursor string, pageSize int, each EachConversation) (ResultsPage, error)
	// DeleteConversationJob discards a job. Deleting an unknown job succeeds.
	DeleteConversationJob(ctx context.Context, jobID string) error
	// DataAvailability is the time up to which the jobs store holds complete data.
	DataAvailability(ctx context.Context) (time.Time, error)

	// QueryConversations reads one page (1-based) of the synchronous conversation-details query
	// for userID over the interval, oldest first.
	QueryConversations(ctx context.Context, userID string, interval Interval, pageSize, pageNumber int) (QueryPage, error)

	// Access a user holds, and ending and restoring it. Writes are idempotent as far as Genesys
	// allows; none verifies its effect: read it back (station changes apply eventually).

	// UserGrants lists the user's roles in divisions.
	UserGrants(ctx context.Context, userID string) ([]Grant, error)
	// RemoveGrants removes grants from the user (bulkremove).
	RemoveGrants(ctx context.Context, userID string, grants []Grant) error
	// AddGrants grants the user roles in divisions (bulkadd, subject type PC_USER).
	AddGrants(ctx context.Context, userID string, grants []Grant) error
	// UserQueues lists every queue membership of the user, joined and unjoined, marking those
	// held through a group.
	UserQueues(ctx context.Context, userID string) ([]QueueMembership, error)
	// RemoveQueueMembers removes users from a queue (batches of at most 100).
	RemoveQueueMembers(ctx context.Context, queueID string, userIDs []string) error
	// AddQueueMembers adds users to a queue (batches of at most 100).
	AddQueueMembers(ctx context.Context, queueID string, userIDs []string) error
	// SetQueuesJoined joins or unjoins the user's queues, by queue ID.
	SetQueuesJoined(ctx context.Context, userID string, joined map[string]bool) error
	// UserSkills lists the user's routing skills.
	UserSkills(ctx context.Context, userID string) ([]Proficiency, error)
	// UserLanguages lists the user's routing languages.
	UserLanguages(ctx context.Context, userID string) ([]Proficiency, error)
	// RoutingStatus is the user's routing status (e.g. RoutingOffQueue).
	RoutingStatus(ctx context.Context, userID string) (string, error)
	// SetRoutingStatus sets the user's routing status.
	SetRoutingStatus(ctx context.Context, userID, status string) error
	// UserStations is the user's associated and default station.
	UserStations(ctx context.Context, userID string) (Stations, error)
	// DisassociateStation ends the user's station association; none is success.
	DisassociateStation(ctx context.Context, userID string) error
	// ClearDefaultStation removes the user's default station; none is success.
	ClearDefaultStation(ctx context.Context, userID string) error
	// AssociateStation associates the station with the user.
	AssociateStation(ctx context.Context, userID, stationID string) error
	// SetDefaultStation makes the station the user's default.
	SetDefaultStation(ctx context.Context, userID, stationID string) error
	// StationHolder is the ID of the user the station is associated with now, "" if none
	// (GET /api/v2/stations/{id}); an unknown station is KindNotFound.
	StationHolder(ctx context.Context, stationID string) (string, error)
	// CallForwarding is the user's call forwarding setting.
	CallForwarding(ctx context.Context, userID string) (CallForwarding, error)
	// SetCallForwarding replaces the user's whole call forwarding setting.
	SetCallForwarding(ctx context.Context, userID string, f CallForwarding) error
	// DirectReports lists the IDs of the users the user manages.
	DirectReports(ctx context.Context, userID string) ([]string, error)
	// SetManager sets the user's manager ("" removes it), version-aware like SetUserState.
	SetManager(ctx context.Context, userID, managerID string) error
	// SetUserStateWithReason is SetUserState with a state change reason (StateChangeReasons).
	SetUserStateWithReason(ctx context.Context, userID string, state UserState, reason string) (User, error)
	// RevokeTokens revokes every token issued to the user.
	RevokeTokens(ctx context.Context, userID string) error
	// OAuthClientsCreatedBy lists the OAuth clients the user created.
	OAuthClientsCreatedBy(ctx context.Context, userID string) ([]OAuthClientRef, error)
}
