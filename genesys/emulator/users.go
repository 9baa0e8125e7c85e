package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type userJSON struct {
	ID                 string           `json:"id"`
	Name               string           `json:"name"`
	Division           namedEntity      `json:"division"`
	Chat               map[string]any   `json:"chat"`
	Department         string           `json:"department,omitempty"`
	Email              string           `json:"email"`
	PrimaryContactInfo []map[string]any `json:"primaryContactInfo"`
	Addresses          []any            `json:"addresses"`
	State              string           `json:"state"`
	Title              string           `json:"title,omitempty"`
	Username           string           `json:"username"`
	Version            int              `json:"version"`
	Authorization      *authJSON        `json:"authorization,omitempty"`
	AcdAutoAnswer      bool             `json:"acdAutoAnswer"`
	DateModified       string           `json:"dateModified,omitempty"`
	SelfURI            string           `json:"selfUri"`
}

type authJSON struct {
	Roles []namedEntity `json:"roles"`
}

// userJSONLocked renders u; withRoles adds authorization.roles (expand=authorization).
func (e *Emulator) userJSONLocked(u *userRec, withRoles bool) userJSON {
	divs := divisionIDs(e.opts.Seed)
	j := userJSON{
		ID:         u.id,
		Name:       u.name,
		Division:   namedEntity{ID: divs[u.division], Name: divisionNames[u.division], SelfURI: "/api/v2/authorization/divisions/" + divs[u.division]},
		Chat:       map[string]any{"jabberId": strings.ReplaceAll(u.id, "-", "") + "@offboard.orgspan.com"},
		Department: u.department, Email: u.email,
		PrimaryContactInfo: []map[string]any{{"address": u.email, "mediaType": "EMAIL", "type": "PRIMARY"}},
		Addresses:          []any{},
		State:              u.state, Title: u.title, Username: u.email, Version: u.version,
		DateModified: ts(u.modified),
		SelfURI:      "/api/v2/users/" + u.id,
	}
	if u.email == "" {
		j.PrimaryContactInfo = []map[string]any{}
	}
	if withRoles {
		j.Authorization = &authJSON{Roles: []namedEntity{}}
		for _, rid := range u.roleIDs {
			if r := e.roles[rid]; r != nil {
				j.Authorization.Roles = append(j.Authorization.Roles, namedEntity{ID: r.id, Name: r.name})
			}
		}
	}
	return j
}

func expandsAuthorization(q url.Values) bool {
	for _, v := range q["expand"] {
		for _, x := range strings.Split(v, ",") {
			if strings.TrimSpace(x) == "authorization" {
				return true
			}
		}
	}
	return false
}

// handleGetUser serves GET /api/v2/users/{userId}.
func (e *Emulator) handleGetUser(q *request) {
	id := q.r.PathValue("userId")
	if id == "me" {
		q.badRequest("This request requires a user context. Client credentials cannot be used for requests to this resource.")
		return
	}
	qs := q.r.URL.Query()
	state := qs.Get("state")
	switch state {
	case "", "active", "deleted":
	default:
		q.invalid(fmt.Sprintf("state %q is not valid for this request; use active (returns active and inactive users) or deleted", state))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.userIdx[id]
	if !ok {
		q.notFound("User " + id)
		return
	}
	u := e.users[i]
	if (state == "deleted") != (u.state == "deleted") {
		q.notFound("User " + id)
		return
	}
	q.json(http.StatusOK, e.userJSONLocked(u, expandsAuthorization(qs)))
}

// handleListUsers serves GET /api/v2/users.
func (e *Emulator) handleListUsers(q *request) {
	qs := q.r.URL.Query()
	pageSize, err1 := intParam(qs, "pageSize", 25)
	pageNumber, err2 := intParam(qs, "pageNumber", 1)
	if err := firstErr(err1, err2); err != nil {
		q.badRequest(err.Error())
		return
	}
	if pageSize > 500 {
		q.invalid("pageSize must be at most 500")
		return
	}
	state := qs.Get("state")
	if state == "" {
		state = "active"
	}
	switch state {
	case "active", "inactive", "deleted", "any":
	default:
		q.invalid(fmt.Sprintf("state %q is not valid; use active, inactive, deleted or any", state))
		return
	}
	var ids []string
	for _, v := range qs["id"] {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				ids = append(ids, x)
			}
		}
	}
	expand := expandsAuthorization(qs)

	e.mu.Lock()
	defer e.mu.Unlock()
	var matched []*userRec
	add := func(u *userRec) {
		if state == "any" || u.state == state {
			matched = append(matched, u)
		}
	}
	if ids != nil {
		for _, id := range ids {
			if i, ok := e.userIdx[id]; ok {
				add(e.users[i])
			}
		}
	} else {
		for _, u := range e.users {
			add(u)
		}
		slices.SortStableFunc(matched, func(a, b *userRec) int { return strings.Compare(a.name, b.name) })
	}
	total := len(matched)
	pageCount := (total + pageSize - 1) / pageSize
	entities := []userJSON{}
	if from := (pageNumber - 1) * pageSize; from < total {
		for _, u := range matched[from:min(from+pageSize, total)] {
			entities = append(entities, e.userJSONLocked(u, expand))
		}
	}
	uri := func(n int) string {
		v := url.Values{}
		v.Set("pageSize", strconv.Itoa(pageSize))
		v.Set("pageNumber", strconv.Itoa(n))
		v.Set("state", state)
		if ids != nil {
			v.Set("id", strings.Join(ids, ","))
		}
		return "/api/v2/users?" + v.Encode()
	}
	resp := map[string]any{
		"entities": entities, "pageSize": pageSize, "pageNumber": pageNumber,
		"total": total, "pageCount": pageCount,
		"firstUri": uri(1), "selfUri": uri(pageNumber), "lastUri": uri(max(pageCount, 1)),
	}
	if pageNumber < pageCount {
		resp["nextUri"] = uri(pageNumber + 1)
	}
	if pageNumber > 1 {
		resp["previousUri"] = uri(pageNumber - 1)
	}
	q.json(http.StatusOK, resp)
}

// handlePatchUser serves PATCH /api/v2/users/{userId}.
func (e *Emulator) handlePatchUser(q *request) {
	id := q.r.PathValue("userId")
	var body map[string]json.RawMessage
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		q.badRequest("The request body is not a JSON object: " + err.Error())
		return
	}
	rawVersion, ok := body["version"]
	var version int
	if !ok || json.Unmarshal(rawVersion, &version) != nil {
		q.badRequest("The version field is required: read the user and send its current version.")
		return
	}
	var state string
	rawState, hasState := body["state"]
	if hasState {
		if err := json.Unmarshal(rawState, &state); err != nil {
			q.invalid("state must be a string: active or inactive")
			return
		}
		for k := range body {
			if k != "state" && k != "version" && k != "id" {
				q.badRequest(fmt.Sprintf("When state is changed it must be the only field in the request; %q was also sent.", k))
				return
			}
		}
		switch state {
		case "active", "inactive":
		case "deleted":
			q.invalid("state deleted cannot be set with PATCH; use DELETE /api/v2/users/{userId}")
			return
		default:
			q.invalid(fmt.Sprintf("The value %q is not valid for state; use active or inactive.", state))
			return
		}
	}
	var fields struct {
		Name       *string `json:"name"`
		Email      *string `json:"email"`
		Title      *string `json:"title"`
		Department *string `json:"department"`
	}
	if err := json.Unmarshal(mustJSON(body), &fields); err != nil {
		q.badRequest("The request body has a field of the wrong type: " + err.Error())
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.userIdx[id]
	if !ok {
		q.notFound("User " + id)
		return
	}
	u := e.users[i]
	if u.state == "deleted" && !(hasState && state == "active") {
		q.notFound("User " + id)
		return
	}
	if version != u.version {
		q.failWith(apiError{Status: http.StatusConflict, Code: "general.conflict",
			Message: "Resource conflict - Unexpected version was provided"})
		return
	}
	if hasState {
		u.state = state
	}
	if fields.Name != nil {
		u.name = *fields.Name
	}
	if fields.Email != nil {
		u.email = *fields.Email
	}
	if fields.Title != nil {
		u.title = *fields.Title
	}
	if fields.Department != nil {
		u.department = *fields.Department
	}
	u.version++
	u.modified = e.opts.Now().UTC().Truncate(time.Millisecond)
	q.json(http.StatusOK, e.userJSONLocked(u, false))
}

// handleDeleteUser serves DELETE /api/v2/users/{userId}: a soft delete.
func (e *Emulator) handleDeleteUser(q *request) {
	id := q.r.PathValue("userId")
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.userIdx[id]
	if !ok || e.users[i].state == "deleted" {
		q.notFound("User " + id)
		return
	}
	u := e.users[i]
	u.state = "deleted"
	u.version++
	u.modified = e.opts.Now().UTC().Truncate(time.Millisecond)
	q.json(http.StatusOK, map[string]any{})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func intParam(qs url.Values, name string, def int) (int, error) {
	s := qs.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s must be a non-negative integer, got %q", name, s)
	}
	if n == 0 { // the SDK always sends integers, 0 meaning "unset"
		return def, nil
	}
	return n, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
