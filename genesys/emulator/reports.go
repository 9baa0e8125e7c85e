package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Managers, direct reports, and state changes with a reason.

// stateChangeReasons are the reasons PUT /api/v2/users/{userId}/state accepts.
var stateChangeReasons = []string{"Voluntary", "Seasonal", "Leave", "Performance", "Conduct", "Unknown"}

// canManageLocked reports whether the user managerID may be u's manager: an existing user who
// is not deleted and is not u.
func (e *Emulator) canManageLocked(managerID string, u *userRec) bool {
	i, ok := e.userIdx[managerID]
	return ok && e.users[i] != u && e.users[i].state != "deleted"
}

// handleDirectReports serves GET /api/v2/users/{userId}/directreports: the users (not deleted)
// whose manager the user is, by name.
func (e *Emulator) handleDirectReports(q *request, u *userRec) {
	var reports []*userRec
	for _, r := range e.users {
		if r.manager == u.id && r.state != "deleted" {
			reports = append(reports, r)
		}
	}
	slices.SortStableFunc(reports, func(a, b *userRec) int { return strings.Compare(a.name, b.name) })
	out := make([]userJSON, 0, len(reports))
	for _, r := range reports {
		out = append(out, e.userJSONLocked(r, false))
	}
	q.json(http.StatusOK, out)
}

func stateJSON(u *userRec) map[string]any {
	j := map[string]any{"state": u.state, "version": u.version}
	if u.stateReason != "" {
		j["stateChangeReason"] = u.stateReason
	}
	if !u.stateChanged.IsZero() {
		j["stateChangeDate"] = ts(u.stateChanged)
	}
	return j
}

// handleUserState serves GET /api/v2/users/{userId}/state.
func (e *Emulator) handleUserState(q *request, u *userRec) { q.json(http.StatusOK, stateJSON(u)) }

// parseUserState reads a UserState body: active or inactive, with the version, and a reason
// from stateChangeReasons if any.
func parseUserState(q *request) (state string, version int, reason string, err error) {
	var body struct {
		State             string  `json:"state"`
		Version           *int    `json:"version"`
		StateChangeReason *string `json:"stateChangeReason"`
	}
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		return "", 0, "", errBadRequest("The body must be a UserState object: " + err.Error())
	}
	switch {
	case body.Version == nil:
		return "", 0, "", errBadRequest("The version field is required: read the user and send its current version.")
	case body.State != "active" && body.State != "inactive":
		return "", 0, "", errInvalid(fmt.Sprintf("The value %q is not valid for state; use active or inactive.", body.State))
	case body.StateChangeReason != nil && !slices.Contains(stateChangeReasons, *body.StateChangeReason):
		return "", 0, "", errInvalid(fmt.Sprintf("stateChangeReason %q is not valid", *body.StateChangeReason))
	}
	if body.StateChangeReason != nil {
		reason = *body.StateChangeReason
	}
	return body.State, *body.Version, reason, nil
}

// handlePutUserState serves PUT /api/v2/users/{userId}/state: a version-checked state change
// with a reason.
func (e *Emulator) handlePutUserState(q *request, u *userRec) {
	state, version, reason, err := parseUserState(q)
	if err != nil {
		q.reject(err)
		return
	}
	if version != u.version {
		q.staleVersion()
		return
	}
	u.state, u.stateReason = state, reason
	e.touchLocked(u)
	u.stateChanged = e.opts.Now().UTC().Truncate(time.Millisecond)
	q.json(http.StatusOK, stateJSON(u))
}
