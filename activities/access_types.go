package activities

import (
	"encoding/json"
	"time"

	"github.com/offboard/offboard/genesys"
)

// AccessSnapshot is everything the user held before any change, for the bundle (access.json), the
// audit record and restore.
type AccessSnapshot struct {
	UserID string `json:"userId"`
	// State is the user's state when the snapshot was taken: what StepState restores.
	State         genesys.UserState         `json:"state,omitempty"`
	Grants        []genesys.Grant           `json:"grants"`
	Queues        []genesys.QueueMembership `json:"queues"`
	Skills        []genesys.Proficiency     `json:"skills"`
	Languages     []genesys.Proficiency     `json:"languages"`
	RoutingStatus string                    `json:"routingStatus"`
	Stations      genesys.Stations          `json:"stations"`
	Forwarding    genesys.CallForwarding    `json:"forwarding"`
	ManagerID     string                    `json:"managerId,omitempty"`
	DirectReports []string                  `json:"directReports,omitempty"`
	OAuthClients  []genesys.OAuthClientRef  `json:"oauthClients,omitempty"`
	// Unread names the parts that could not be read, with why (an optional step without permission).
	Unread  map[string]string `json:"unread,omitempty"`
	TakenAt time.Time         `json:"takenAt"`
}

// AccessStep is one step of ending (or restoring) access, in the order they run.
type AccessStep string

// The steps of ending access, in the order RevokeSteps runs them.
const (
	StepOffQueue   AccessStep = "off-queue"  // routing status OFF_QUEUE
	StepQueues     AccessStep = "queues"     // leave every direct queue membership
	StepForwarding AccessStep = "forwarding" // call forwarding off
	StepStation    AccessStep = "station"    // station disassociated, default station cleared
	StepGrants     AccessStep = "grants"     // every grant removed
	StepState      AccessStep = "state"      // state inactive (with the reason)
	StepTokens     AccessStep = "tokens"     // the user's tokens revoked
	StepReports    AccessStep = "reports"    // direct reports handed to the leaver's manager
)

// AccessStepInput asks RevokeAccess or RestoreAccess to run one step for a user.
type AccessStepInput struct {
	UserID   string         `json:"userId"`
	Step     AccessStep     `json:"step"`
	Snapshot AccessSnapshot `json:"snapshot"`
	// Reason is the state change reason (StepState), default "Unknown".
	Reason string `json:"reason,omitempty"`
	// HandOverReports: StepReports moves the reports to Snapshot.ManagerID (policy); false records them only.
	HandOverReports bool `json:"handOverReports,omitempty"`
}

// StepResult is what a step found before, what it read back after, and whether it changed anything.
type StepResult struct {
	Step    AccessStep      `json:"step"`
	Changed bool            `json:"changed"`
	Before  json.RawMessage `json:"before,omitempty"`
	After   json.RawMessage `json:"after,omitempty"`
	// Warnings name what was left as it is and why (a group membership; a station now someone else's).
	Warnings []string `json:"warnings,omitempty"`
	// Verification says how After was established: the read-back made, or why none exists.
	Verification string `json:"verification,omitempty"`
	// NoReadBack marks a step that Genesys offers no way to read back (tokens): After is what the
	// change's answer says, not what a read showed.
	NoReadBack bool      `json:"noReadBack,omitempty"`
	VerifiedAt time.Time `json:"verifiedAt"`
}

// SnapshotAccessInput names the user whose access to read. Parts of the steps in Skip (optional
// steps whose permission is missing) are not read; the snapshot names them in Unread.
type SnapshotAccessInput struct {
	UserID string       `json:"userId"`
	Skip   []AccessStep `json:"skip,omitempty"`
}
