package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// UserRecord is a user's current state as the inspection surface shows it, in any state.
type UserRecord struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	EmployeeID   string `json:"employeeId"`
	State        string `json:"state"`
	Version      int    `json:"version"`
	DivisionID   string `json:"divisionId"`
	DivisionName string `json:"divisionName"`
	// RoleIDs are the user's roles (GET /api/v2/authorization/roles/{id} describes each).
	RoleIDs []string `json:"roleIds"`
	// Conversations is the number of conversations the user took part in, all time.
	Conversations int `json:"conversations"`
}

// UserSummary is one seeded user and its conversation count, so a demo can pick a user.
type UserSummary struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	State         string `json:"state"`
	Conversations int    `json:"conversations"`
}

func (e *Emulator) convCounts() []int {
	e.dataMu.RLock()
	defer e.dataMu.RUnlock()
	out := make([]int, len(e.data.byUser))
	for i, l := range e.data.byUser {
		out[i] = len(l)
	}
	return out
}

// SeedUsers lists the users with their current state and conversation counts, in seed order.
func (e *Emulator) SeedUsers() []UserSummary {
	counts := e.convCounts()
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]UserSummary, len(e.users))
	for i, u := range e.users {
		out[i] = UserSummary{ID: u.id, Name: u.name, State: u.state, Conversations: counts[i]}
	}
	return out
}

// User returns the user in any state, including deleted.
func (e *Emulator) User(id string) (UserRecord, bool) {
	counts := e.convCounts()
	return lookUp(e, id, func(i int, u *userRec) UserRecord {
		divs := divisionIDs(e.opts.Seed)
		return UserRecord{ID: u.id, Name: u.name, Email: u.email, EmployeeID: u.employeeID, State: u.state, Version: u.version,
			DivisionID: divs[u.division], DivisionName: divisionNames[u.division],
			RoleIDs: u.roleIDs(), Conversations: counts[i]}
	})
}

// lookUp renders the user id names, in any state, with render under the lock; i is the user's
// seed index.
func lookUp[T any](e *Emulator, id string, render func(i int, u *userRec) T) (T, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.userIdx[id]
	if !ok {
		var zero T
		return zero, false
	}
	return render(i, e.users[i]), true
}

// inspect answers an /emulator/v1/ request; errors use the Genesys body shape too.
func (e *Emulator) inspect(fn func(q *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fn(newRequest(w, r))
	}
}

// inspectUser answers what lookup finds for the user in the path, or 404.
func inspectUser[T any](lookup func(userID string) (T, bool)) func(q *request) {
	return func(q *request) {
		v, ok := lookup(q.r.PathValue("userId"))
		if !ok {
			q.notFound("User " + q.r.PathValue("userId"))
			return
		}
		q.json(http.StatusOK, v)
	}
}

func (e *Emulator) inspectCount(q *request) {
	id := q.r.PathValue("userId")
	if _, ok := e.User(id); !ok {
		q.notFound("User " + id)
		return
	}
	var start, end time.Time
	for name, dst := range map[string]*time.Time{"start": &start, "end": &end} {
		if s := q.r.URL.Query().Get(name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				q.invalid(fmt.Sprintf("%s %q is not an RFC 3339 time such as 2024-01-02T03:04:05Z", name, s))
				return
			}
			*dst = t
		}
	}
	resp := map[string]any{"userId": id, "count": e.ConversationCount(id, start, end)}
	if !start.IsZero() {
		resp["start"] = ts(start)
	}
	if !end.IsZero() {
		resp["end"] = ts(end)
	}
	q.json(http.StatusOK, resp)
}

func (e *Emulator) putFaults(q *request) {
	var f Faults
	dec := json.NewDecoder(q.r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		q.badRequest("The body is not a Faults JSON object (durations as \"250ms\" or nanoseconds): " + err.Error())
		return
	}
	e.SetFaults(f)
	q.json(http.StatusOK, e.Faults())
}

// routes registers the Genesys endpoints with their permissions, and the inspection surface.
func (e *Emulator) routes() {
	e.mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		e.serveGenesys(w, r, false, need{}, e.handleToken)
	})
	e.route("GET /api/v2/tokens/me", e.handleTokensMe)
	e.route("GET /api/v2/oauth/clients/{clientId}", e.handleOAuthClient, PermOAuthClientView)
	e.route("GET /api/v2/authorization/roles/{roleId}", e.handleRole, PermRoleView)

	e.accessRoutes()

	e.route("GET /api/v2/users", e.handleListUsers, PermUserView)
	e.route("POST /api/v2/users/search", e.handleSearchUsers, PermUserView)
	e.route("GET /api/v2/users/{userId}", e.handleGetUser, PermUserView)
	e.route("PATCH /api/v2/users/{userId}", e.handlePatchUser, PermUserEdit)
	e.route("DELETE /api/v2/users/{userId}", e.handleDeleteUser, PermUserDelete)

	const an = "/api/v2/analytics/conversations/details"
	e.route("POST "+an+"/query", e.handleQuery, PermConversationDetail)
	e.route("POST "+an+"/jobs", e.handleCreateJob, PermConversationDetail)
	e.route("GET "+an+"/jobs/availability", e.handleAvailability, PermConversationDetail)
	e.route("GET "+an+"/jobs/{jobId}", e.handleJobStatus, PermConversationDetail)
	e.route("DELETE "+an+"/jobs/{jobId}", e.handleDeleteJob, PermConversationDetail)
	e.route("GET "+an+"/jobs/{jobId}/results", e.handleJobResults, PermConversationDetail)

	e.route("/api/v2/", func(q *request) {
		q.fail(http.StatusNotFound, "not.found", "The emulator does not implement "+q.r.Method+" "+q.r.URL.Path)
	})

	e.mux.HandleFunc("GET /emulator/v1/users", e.inspect(func(q *request) { q.json(http.StatusOK, e.SeedUsers()) }))
	e.mux.HandleFunc("GET /emulator/v1/users/{userId}", e.inspect(inspectUser(e.User)))
	e.mux.HandleFunc("GET /emulator/v1/users/{userId}/conversations/count", e.inspect(e.inspectCount))
	e.mux.HandleFunc("GET /emulator/v1/users/{userId}/access", e.inspect(inspectUser(e.Access)))
	e.mux.HandleFunc("POST /emulator/v1/users/{userId}/tokens", e.inspect(e.inspectIssueToken))
	e.mux.HandleFunc("GET /emulator/v1/stations", e.inspect(func(q *request) { q.json(http.StatusOK, e.Stations()) }))
	e.mux.HandleFunc("GET /emulator/v1/calls", e.inspect(func(q *request) { q.json(http.StatusOK, e.Calls()) }))
	e.mux.HandleFunc("GET /emulator/v1/faults", e.inspect(func(q *request) { q.json(http.StatusOK, e.Faults()) }))
	e.mux.HandleFunc("PUT /emulator/v1/faults", e.inspect(e.putFaults))
	e.mux.HandleFunc("POST /emulator/v1/reset", e.inspect(func(q *request) {
		e.Reset()
		q.noContent()
	}))
}
