package emulator

import (
	"maps"
	"net/http"
	"slices"
)

// AccessRecord is everything a user holds besides their state, as the inspection surface shows
// it: what ending access removes and restoring puts back.
type AccessRecord struct {
	UserID        string              `json:"userId"`
	Grants        []GrantRecord       `json:"grants"`
	Queues        []QueueRecord       `json:"queues"`
	Skills        []ProficiencyRecord `json:"skills"`
	Languages     []ProficiencyRecord `json:"languages"`
	RoutingStatus string              `json:"routingStatus"`
	// StationID is the associated station, StationType its type; DefaultStationID the default.
	StationID        string           `json:"stationId,omitempty"`
	StationType      string           `json:"stationType,omitempty"`
	DefaultStationID string           `json:"defaultStationId,omitempty"`
	Forwarding       ForwardingRecord `json:"forwarding"`
	ManagerID        string           `json:"managerId,omitempty"`
	DirectReports    []string         `json:"directReports"`
	// Tokens is the number of valid tokens issued to the user (IssueUserToken).
	Tokens            int    `json:"tokens"`
	StateChangeReason string `json:"stateChangeReason,omitempty"`
	// OAuthClients are the IDs of the OAuth clients the user created.
	OAuthClients []string `json:"oauthClients"`
}

// GrantRecord is a role granted in a division.
type GrantRecord struct {
	RoleID     string `json:"roleId"`
	RoleName   string `json:"roleName"`
	DivisionID string `json:"divisionId"`
}

// QueueRecord is a queue membership; MemberBy is "user" or "group".
type QueueRecord struct {
	QueueID  string `json:"queueId"`
	Name     string `json:"name"`
	Joined   bool   `json:"joined"`
	MemberBy string `json:"memberBy"`
}

// ProficiencyRecord is a routing skill or language.
type ProficiencyRecord struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Proficiency float64 `json:"proficiency"`
}

// ForwardingRecord is a user's call forwarding; each call route is a list of "TYPE:value" targets.
type ForwardingRecord struct {
	Enabled     bool       `json:"enabled"`
	PhoneNumber string     `json:"phoneNumber,omitempty"`
	Voicemail   string     `json:"voicemail,omitempty"`
	Calls       [][]string `json:"calls"`
}

// StationRecord is a station and who uses it.
type StationRecord struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Type             string `json:"type"`
	AssociatedUserID string `json:"associatedUserId,omitempty"`
}

func proficiencyRecords(ps []proficiencyRec) []ProficiencyRecord {
	out := []ProficiencyRecord{}
	for _, p := range ps {
		out = append(out, ProficiencyRecord{ID: p.id, Name: p.name, Proficiency: p.proficiency})
	}
	return out
}

// Access returns what the user holds now, in any state, as the emulator's model has it (not
// delayed by a StationLag fault).
func (e *Emulator) Access(userID string) (AccessRecord, bool) {
	return lookUp(e, userID, func(_ int, u *userRec) AccessRecord { return e.accessLocked(u) })
}

func (e *Emulator) accessLocked(u *userRec) AccessRecord {
	a := AccessRecord{UserID: u.id, Grants: []GrantRecord{}, Queues: []QueueRecord{}, Skills: proficiencyRecords(u.skills),
		Languages: proficiencyRecords(u.languages), RoutingStatus: u.routingStatus, StationID: u.station,
		DefaultStationID: u.defaultStation, ManagerID: u.manager, DirectReports: []string{},
		Tokens: e.userTokensLocked(u.id), StateChangeReason: u.stateReason, OAuthClients: []string{},
		Forwarding: ForwardingRecord{Enabled: u.forwarding.enabled, PhoneNumber: u.forwarding.phoneNumber,
			Voicemail: u.forwarding.voicemail, Calls: [][]string{}}}
	for _, g := range u.grants {
		a.Grants = append(a.Grants, GrantRecord{RoleID: g.roleID, RoleName: e.roles[g.roleID].name, DivisionID: g.divisionID})
	}
	for _, uq := range e.userQueuesLocked(u.id, nil) {
		a.Queues = append(a.Queues, QueueRecord{QueueID: uq.q.id, Name: uq.q.name, Joined: uq.m.joined, MemberBy: uq.m.memberBy})
	}
	if s := e.stationLocked(u.station); s != nil {
		a.StationType = s.kind
	}
	for _, r := range u.forwarding.calls {
		route := []string{}
		for _, t := range r {
			route = append(route, t.kind+":"+t.value)
		}
		a.Forwarding.Calls = append(a.Forwarding.Calls, route)
	}
	for _, r := range e.users {
		if r.manager == u.id && r.state != "deleted" {
			a.DirectReports = append(a.DirectReports, r.id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(e.clients)) {
		if e.clients[id].createdBy == u.id {
			a.OAuthClients = append(a.OAuthClients, id)
		}
	}
	return a
}

// Stations lists every station, in seed order: the seeded users' and three spare ones.
func (e *Emulator) Stations() []StationRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]StationRecord, 0, len(e.stations))
	for _, s := range e.stations {
		out = append(out, StationRecord{ID: s.id, Name: s.name, Type: s.kind, AssociatedUserID: s.associatedUser})
	}
	return out
}

// inspectIssueToken serves POST /emulator/v1/users/{userId}/tokens: a token for the user, as
// POST /oauth/token answers, or 404 for an unknown user and 409 for one who cannot log in.
func (e *Emulator) inspectIssueToken(q *request) {
	id := q.r.PathValue("userId")
	if _, ok := e.User(id); !ok {
		q.notFound("User " + id)
		return
	}
	tok, err := e.IssueUserToken(id)
	if err != nil {
		q.fail(http.StatusConflict, "user.not.active", err.Error())
		return
	}
	e.mu.Lock()
	ttl := e.tokenTTLLocked()
	e.mu.Unlock()
	q.json(http.StatusCreated, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": int(ttl.Seconds())})
}

// accessRoutes registers the endpoints of a user's access, with the permissions the API names
// (x-inin-requires-permissions); where it names none, a valid token is enough.
func (e *Emulator) accessRoutes() {
	const subj = "/api/v2/authorization/subjects/{subjectId}"
	e.route("GET "+subj, e.forUser("subjectId", e.handleSubject), PermGrantView)
	e.route("POST "+subj+"/bulkremove", e.forUser("subjectId", e.handleBulkGrants(false)), PermGrantDelete)
	e.route("POST "+subj+"/bulkadd", e.forUser("subjectId", e.handleBulkGrants(true)), PermGrantAdd)

	e.route("GET /api/v2/users/me", e.handleUsersMe)
	e.route("DELETE /api/v2/tokens/{userId}", e.handleRevokeTokens, PermTokenDelete)
	e.route("GET /api/v2/oauth/clients", e.handleListClients, PermOAuthClientView)

	const user = "/api/v2/users/{userId}"
	one := func(h userHandler) handler { return e.forUser("userId", h) }
	e.route("GET "+user+"/queues", one(e.handleUserQueues), PermQueueView)
	e.routeAny("PATCH "+user+"/queues", one(e.handlePatchUserQueues), PermQueueJoin, PermQueueMemberManage)
	e.routeAny("GET /api/v2/routing/queues/{queueId}/members", e.handleQueueMembers,
		PermQueueView, PermQueueEdit, "routing:queue:readonly", PermQueueMemberManage)
	e.routeAny("POST /api/v2/routing/queues/{queueId}/members", e.handlePostQueueMembers, PermQueueEdit, PermQueueMemberManage)
	e.route("GET "+user+"/routingskills", one(e.handleProficiencies(true)))
	e.route("GET "+user+"/routinglanguages", one(e.handleProficiencies(false)))
	e.route("GET "+user+"/routingstatus", one(e.handleRoutingStatus))
	e.route("PUT "+user+"/routingstatus", one(e.handlePutRoutingStatus))

	e.route("GET "+user+"/station", one(e.handleUserStations), PermStationAssociationView)
	e.route("DELETE "+user+"/station/associatedstation", one(e.handleStationChange(e.disassociate)), PermStationDisassociate)
	e.routeAny("DELETE "+user+"/station/defaultstation", one(e.handleStationChange(e.clearDefault)), PermPluginAll, PermPhoneAssign)
	e.route("PUT "+user+"/station/associatedstation/{stationId}", one(e.handleStationChange(e.associate)))
	e.routeAny("PUT "+user+"/station/defaultstation/{stationId}", one(e.handleStationChange(e.setDefault)), PermPluginAll, PermPhoneAssign)
	e.route("GET /api/v2/stations/{stationId}", e.handleStation)
	e.route("GET "+user+"/callforwarding", one(e.handleForwarding))
	e.route("PUT "+user+"/callforwarding", one(e.handlePutForwarding), PermCallForwardingEdit)

	e.route("GET "+user+"/directreports", one(e.handleDirectReports), PermUserView)
	e.route("GET "+user+"/state", one(e.handleUserState), PermUserStateView)
	e.route("PUT "+user+"/state", one(e.handlePutUserState), PermUserEdit)
}
