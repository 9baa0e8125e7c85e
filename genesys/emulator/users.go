package emulator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type userJSON struct {
	ID                 string            `json:"id"`
	Name               string            `json:"name"`
	Division           namedEntity       `json:"division"`
	Chat               map[string]any    `json:"chat"`
	Department         string            `json:"department,omitempty"`
	Email              string            `json:"email"`
	PrimaryContactInfo []map[string]any  `json:"primaryContactInfo"`
	Addresses          []any             `json:"addresses"`
	State              string            `json:"state"`
	Title              string            `json:"title,omitempty"`
	Username           string            `json:"username"`
	Manager            *userRef          `json:"manager,omitempty"`
	Version            int               `json:"version"`
	Authorization      *authJSON         `json:"authorization,omitempty"`
	EmployerInfo       *employerInfoJSON `json:"employerInfo,omitempty"`
	AcdAutoAnswer      bool              `json:"acdAutoAnswer"`
	DateModified       string            `json:"dateModified,omitempty"`
	SelfURI            string            `json:"selfUri"`
}

// userRef is a user named inside another entity (a manager): the API's User schema requires
// the version.
type userRef struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	SelfURI string `json:"selfUri"`
}

// employerInfoJSON is a user's employerInfo (expand=employerInfo).
type employerInfoJSON struct {
	EmployeeID string `json:"employeeId,omitempty"`
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
	if i, ok := e.userIdx[u.manager]; ok {
		j.Manager = &userRef{ID: u.manager, Version: e.users[i].version, SelfURI: "/api/v2/users/" + u.manager}
	}
	if withRoles {
		j.Authorization = &authJSON{Roles: []namedEntity{}}
		for _, rid := range u.roleIDs() {
			if r := e.roles[rid]; r != nil {
				j.Authorization.Roles = append(j.Authorization.Roles, namedEntity{ID: r.id, Name: r.name})
			}
		}
	}
	return j
}

// withEmployerInfo adds u's employerInfo to j when asked (expand=employerInfo).
func withEmployerInfo(j userJSON, u *userRec, asked bool) userJSON {
	if asked {
		j.EmployerInfo = &employerInfoJSON{EmployeeID: u.employeeID}
	}
	return j
}

func expandsAuthorization(q url.Values) bool { return expands(q, "authorization") }

// expands reports whether the query's expand parameter names field.
func expands(q url.Values, field string) bool {
	for _, v := range q["expand"] {
		for _, x := range strings.Split(v, ",") {
			if strings.TrimSpace(x) == field {
				return true
			}
		}
	}
	return false
}

// userLocked returns the user id names if there is one that visible, told whether the user is
// deleted, finds; otherwise it answers 404 and returns nil.
func (e *Emulator) userLocked(q *request, id string, visible func(deleted bool) bool) *userRec {
	i, ok := e.userIdx[id]
	if !ok || !visible(e.users[i].state == "deleted") {
		q.notFound("User " + id)
		return nil
	}
	return e.users[i]
}

// touchLocked records a change of u: a new version, modified now.
func (e *Emulator) touchLocked(u *userRec) {
	u.version++
	u.modified = e.opts.Now().UTC().Truncate(time.Millisecond)
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
	if u := e.userLocked(q, id, func(deleted bool) bool { return deleted == (state == "deleted") }); u != nil {
		j := e.userJSONLocked(u, expandsAuthorization(qs))
		q.json(http.StatusOK, withEmployerInfo(j, u, expands(qs, "employerInfo")))
	}
}

// userListing is a validated GET /api/v2/users: a page of the users in state ("any" for all),
// of ids if given.
type userListing struct {
	pageSize, pageNumber int
	state                string
	ids                  []string
	expand               bool
	employerInfo         bool
}

func parseUserListing(qs url.Values) (userListing, error) {
	l := userListing{state: qs.Get("state"), expand: expandsAuthorization(qs), employerInfo: expands(qs, "employerInfo")}
	var err1, err2 error
	l.pageSize, err1 = intParam(qs, "pageSize", 25)
	l.pageNumber, err2 = intParam(qs, "pageNumber", 1)
	if err := cmp.Or(err1, err2); err != nil {
		return l, errBadRequest(err.Error())
	}
	if err := checkPageSize(l.pageSize, 500); err != nil {
		return l, err
	}
	if l.state == "" {
		l.state = "active"
	}
	switch l.state {
	case "active", "inactive", "deleted", "any":
	default:
		return l, errInvalid(fmt.Sprintf("state %q is not valid; use active, inactive, deleted or any", l.state))
	}
	for _, v := range qs["id"] {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				l.ids = append(l.ids, x)
			}
		}
	}
	return l, nil
}

// matchLocked lists the users the listing asks for: those of ids in their order, or all sorted
// by name.
func (e *Emulator) matchLocked(l userListing) []*userRec {
	var matched []*userRec
	add := func(u *userRec) {
		if l.state == "any" || u.state == l.state {
			matched = append(matched, u)
		}
	}
	if l.ids != nil {
		for _, id := range l.ids {
			if i, ok := e.userIdx[id]; ok {
				add(e.users[i])
			}
		}
		return matched
	}
	for _, u := range e.users {
		add(u)
	}
	slices.SortStableFunc(matched, func(a, b *userRec) int { return strings.Compare(a.name, b.name) })
	return matched
}

// uri is the listing's page n.
func (l userListing) uri(n int) string {
	v := url.Values{}
	v.Set("pageSize", strconv.Itoa(l.pageSize))
	v.Set("pageNumber", strconv.Itoa(n))
	v.Set("state", l.state)
	if l.ids != nil {
		v.Set("id", strings.Join(l.ids, ","))
	}
	return "/api/v2/users?" + v.Encode()
}

// handleListUsers serves GET /api/v2/users.
func (e *Emulator) handleListUsers(q *request) {
	l, err := parseUserListing(q.r.URL.Query())
	if err != nil {
		q.reject(err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	matched := e.matchLocked(l)
	total := len(matched)
	pageCount := (total + l.pageSize - 1) / l.pageSize
	entities := []userJSON{}
	if from := (l.pageNumber - 1) * l.pageSize; from < total {
		for _, u := range matched[from:min(from+l.pageSize, total)] {
			entities = append(entities, withEmployerInfo(e.userJSONLocked(u, l.expand), u, l.employerInfo))
		}
	}
	resp := map[string]any{
		"entities": entities, "pageSize": l.pageSize, "pageNumber": l.pageNumber,
		"total": total, "pageCount": pageCount,
		"firstUri": l.uri(1), "selfUri": l.uri(l.pageNumber), "lastUri": l.uri(max(pageCount, 1)),
	}
	if l.pageNumber < pageCount {
		resp["nextUri"] = l.uri(l.pageNumber + 1)
	}
	if l.pageNumber > 1 {
		resp["previousUri"] = l.uri(l.pageNumber - 1)
	}
	q.json(http.StatusOK, resp)
}

// userPatch is a validated PATCH /api/v2/users/{userId} body.
type userPatch struct {
	version int
	state   string // "" leaves the state as it is
	fields  struct {
		Name       *string `json:"name"`
		Email      *string `json:"email"`
		Title      *string `json:"title"`
		Department *string `json:"department"`
		Manager    *string `json:"manager"` // a user ID; "" removes the manager
	}
}

func parseUserPatch(r io.Reader) (userPatch, error) {
	var p userPatch
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r).Decode(&body); err != nil {
		return p, errBadRequest("The request body is not a JSON object: " + err.Error())
	}
	if raw, ok := body["version"]; !ok || json.Unmarshal(raw, &p.version) != nil {
		return p, errBadRequest("The version field is required: read the user and send its current version.")
	}
	var err error
	if p.state, err = patchedState(body); err != nil {
		return p, err
	}
	if err := json.Unmarshal(mustJSON(body), &p.fields); err != nil {
		return p, errBadRequest("The request body has a field of the wrong type: " + err.Error())
	}
	return p, nil
}

// patchedState is the state a PATCH body sets, "" if none. A state change comes alone (with
// the version and the ID) and is to active or inactive: deleting is DELETE's.
func patchedState(body map[string]json.RawMessage) (string, error) {
	raw, ok := body["state"]
	if !ok {
		return "", nil
	}
	var state string
	if err := json.Unmarshal(raw, &state); err != nil {
		return "", errInvalid("state must be a string: active or inactive")
	}
	for k := range body {
		if k != "state" && k != "version" && k != "id" {
			return "", errBadRequest(fmt.Sprintf("When state is changed it must be the only field in the request; %q was also sent.", k))
		}
	}
	switch state {
	case "active", "inactive":
		return state, nil
	case "deleted":
		return "", errInvalid("state deleted cannot be set with PATCH; use DELETE /api/v2/users/{userId}")
	}
	return "", errInvalid(fmt.Sprintf("The value %q is not valid for state; use active or inactive.", state))
}

// apply sets what the patch changes on u.
func (p userPatch) apply(u *userRec) {
	if p.state != "" {
		u.state = p.state
	}
	setIf(&u.name, p.fields.Name)
	setIf(&u.email, p.fields.Email)
	setIf(&u.title, p.fields.Title)
	setIf(&u.department, p.fields.Department)
	setIf(&u.manager, p.fields.Manager)
}

func setIf(dst, v *string) {
	if v != nil {
		*dst = *v
	}
}

// handlePatchUser serves PATCH /api/v2/users/{userId}. A deleted user is found only to restore it.
func (e *Emulator) handlePatchUser(q *request) {
	id := q.r.PathValue("userId")
	p, err := parseUserPatch(q.r.Body)
	if err != nil {
		q.reject(err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.userLocked(q, id, func(deleted bool) bool { return !deleted || p.state == "active" })
	if u == nil {
		return
	}
	if p.version != u.version {
		q.staleVersion()
		return
	}
	if m := p.fields.Manager; m != nil && *m != "" && !e.canManageLocked(*m, u) {
		q.invalid(fmt.Sprintf("The manager %q is not a user who can manage this user", *m))
		return
	}
	p.apply(u)
	e.touchLocked(u)
	q.json(http.StatusOK, e.userJSONLocked(u, false))
}

// staleVersion answers 409 to a change sent with a version that is not the user's.
func (q *request) staleVersion() {
	q.failWith(apiError{Status: http.StatusConflict, Code: "general.conflict",
		Message: "Resource conflict - Unexpected version was provided"})
}

// userHandler serves a request about one user, who is not deleted, under the lock.
type userHandler func(q *request, u *userRec)

// forUser serves a request about the user the path parameter param names with h, or answers
// 404 if there is none or they are deleted.
func (e *Emulator) forUser(param string, h userHandler) handler {
	return func(q *request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if u := e.liveUserLocked(q, q.r.PathValue(param)); u != nil {
			h(q, u)
		}
	}
}

// liveUserLocked returns the user id names unless it is deleted; otherwise it answers 404.
func (e *Emulator) liveUserLocked(q *request, id string) *userRec {
	return e.userLocked(q, id, func(deleted bool) bool { return !deleted })
}

// handleDeleteUser serves DELETE /api/v2/users/{userId}: a soft delete.
func (e *Emulator) handleDeleteUser(q *request) {
	id := q.r.PathValue("userId")
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.liveUserLocked(q, id)
	if u == nil {
		return
	}
	u.state = "deleted"
	e.touchLocked(u)
	q.json(http.StatusOK, map[string]any{})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// pageSizeParam reads the pageSize parameter: def when absent, at most limit.
func pageSizeParam(qs url.Values, def, limit int) (int, error) {
	n, err := intParam(qs, "pageSize", def)
	if err != nil {
		return 0, errBadRequest(err.Error())
	}
	return n, checkPageSize(n, limit)
}

func checkPageSize(n, limit int) error {
	if n > limit {
		return errInvalid(fmt.Sprintf("pageSize must be at most %d", limit))
	}
	return nil
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
