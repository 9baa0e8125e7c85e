package genesys

// Grant is a role granted to a subject in a division.
type Grant struct {
	RoleID       string `json:"roleId"`
	RoleName     string `json:"roleName,omitempty"`
	DivisionID   string `json:"divisionId"`
	DivisionName string `json:"divisionName,omitempty"`
}

// QueueMembership is a user's membership of a routing queue.
type QueueMembership struct {
	QueueID   string `json:"queueId"`
	QueueName string `json:"queueName,omitempty"`
	Joined    bool   `json:"joined"`
	// ViaGroup marks a membership held through a group: only the group can remove it.
	ViaGroup bool `json:"viaGroup,omitempty"`
}

// Proficiency is a routing skill or language of a user.
type Proficiency struct {
	ID          string  `json:"id"`
	Name        string  `json:"name,omitempty"`
	Proficiency float64 `json:"proficiency"`
	State       string  `json:"state,omitempty"`
}

// Stations are the stations associated with a user and set as their default.
type Stations struct {
	AssociatedID   string `json:"associatedId,omitempty"`
	AssociatedName string `json:"associatedName,omitempty"`
	DefaultID      string `json:"defaultId,omitempty"`
	DefaultName    string `json:"defaultName,omitempty"`
	// AssociatedType is the station type (e.g. "inin_webrtc_softphone" for a WebRTC phone).
	AssociatedType string `json:"associatedType,omitempty"`
}

// CallForwarding is a user's call forwarding, enough to turn it off and put it back as it was.
type CallForwarding struct {
	Enabled     bool              `json:"enabled"`
	PhoneNumber string            `json:"phoneNumber,omitempty"`
	Calls       []ForwardingRoute `json:"calls,omitempty"`
	Voicemail   string            `json:"voicemail,omitempty"`
}

// ForwardingRoute is one step of call forwarding: the targets rung together.
type ForwardingRoute struct {
	Targets []ForwardingTarget `json:"targets"`
}

// ForwardingTarget is where a forwarded call rings: Type "PHONENUMBER" or "STATION", and its value.
type ForwardingTarget struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// OAuthClientRef names an OAuth client.
type OAuthClientRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// RoutingOffQueue is the routing status of a user who takes no ACD interactions.
const RoutingOffQueue = "OFF_QUEUE"

// State change reasons that PUT /api/v2/users/{id}/state accepts (stateChangeReason).
const (
	ReasonVoluntary   = "Voluntary"
	ReasonSeasonal    = "Seasonal"
	ReasonLeave       = "Leave"
	ReasonPerformance = "Performance"
	ReasonConduct     = "Conduct"
	ReasonUnknown     = "Unknown"
)

// StateChangeReasons lists the reasons Genesys accepts for a state change, in its order.
func StateChangeReasons() []string {
	return []string{ReasonVoluntary, ReasonSeasonal, ReasonLeave, ReasonPerformance, ReasonConduct, ReasonUnknown}
}

// Permissions that ending and restoring a user's access need.
const (
	PermGrantView              = "authorization:grant:view"
	PermGrantDelete            = "authorization:grant:delete"
	PermGrantAdd               = "authorization:grant:add"
	PermQueueView              = "routing:queue:view"
	PermQueueMemberManage      = "routing:queueMember:manage"
	PermCallForwardingEdit     = "conversation:callForwarding:edit"
	PermStationDisassociate    = "telephony:station:disassociate"
	PermStationAssociationView = "telephony:otherStationAssociation:view"
	PermPhoneAssign            = "telephony:phone:assign"
	PermTokenDelete            = "oauth:token:delete"
	PermOAuthClientView        = "oauth:client:view"
)
