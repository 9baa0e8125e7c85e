package emulator

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"
)

// Grants (authorization subjects), tokens and the OAuth client listing.

// divisionJSON is an AuthzDivision.
type divisionJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	HomeDivision bool   `json:"homeDivision"`
	SelfURI      string `json:"selfUri"`
}

type grantJSON struct {
	SubjectID   string       `json:"subjectId"`
	Division    divisionJSON `json:"division"`
	Role        namedEntity  `json:"role"`
	GrantMadeAt string       `json:"grantMadeAt"`
}

func (e *Emulator) divisionJSON(i int) divisionJSON {
	id := divisionIDs(e.opts.Seed)[i]
	return divisionJSON{ID: id, Name: divisionNames[i], Description: divisionNames[i] + " division",
		HomeDivision: i == 0, SelfURI: "/api/v2/authorization/divisions/" + id}
}

// handleSubject serves GET /api/v2/authorization/subjects/{subjectId}: a user's grants.
func (e *Emulator) handleSubject(q *request, u *userRec) {
	divs := divisionIDs(e.opts.Seed)
	grants := []grantJSON{}
	for _, g := range u.grants {
		r := e.roles[g.roleID]
		grants = append(grants, grantJSON{SubjectID: u.id, Division: e.divisionJSON(slices.Index(divs, g.divisionID)),
			Role:        namedEntity{ID: r.id, Name: r.name, SelfURI: "/api/v2/authorization/roles/" + r.id},
			GrantMadeAt: ts(g.madeAt)})
	}
	q.json(http.StatusOK, map[string]any{"id": u.id, "name": u.name, "grants": grants, "version": u.version,
		"selfUri": "/api/v2/authorization/subjects/" + u.id})
}

// parseGrants reads a RoleDivisionGrants body and checks that each role and division exists.
func (e *Emulator) parseGrants(q *request) ([]grantRec, bool) {
	var body struct {
		Grants *[]roleDivision `json:"grants"`
	}
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil || body.Grants == nil {
		q.badRequest("The body must be a RoleDivisionGrants object with grants")
		return nil, false
	}
	divs := divisionIDs(e.opts.Seed)
	var out []grantRec
	for _, g := range *body.Grants {
		if e.roles[g.RoleID] == nil || !slices.Contains(divs, g.DivisionID) {
			q.invalid(fmt.Sprintf("Role %q or division %q does not exist", g.RoleID, g.DivisionID))
			return nil, false
		}
		out = append(out, grantRec{roleID: g.RoleID, divisionID: g.DivisionID})
	}
	return out, true
}

// handleBulkGrants serves POST /api/v2/authorization/subjects/{subjectId}/bulkadd and
// bulkremove: add (or remove) each grant; one already there (or absent) is left as it is.
func (e *Emulator) handleBulkGrants(add bool) userHandler {
	return func(q *request, u *userRec) {
		if st := q.r.URL.Query().Get("subjectType"); add && st != "" && st != "PC_USER" {
			q.invalid("The emulator grants roles to users only (subjectType PC_USER)")
			return
		}
		grants, ok := e.parseGrants(q)
		if !ok {
			return
		}
		now := e.opts.Now().UTC().Truncate(time.Millisecond)
		for _, g := range grants {
			i := slices.IndexFunc(u.grants, func(h grantRec) bool { return h.roleID == g.roleID && h.divisionID == g.divisionID })
			switch {
			case add && i < 0:
				g.madeAt = now
				u.grants = append(u.grants, g)
			case !add && i >= 0:
				u.grants = slices.Delete(u.grants, i, i+1)
			}
		}
		q.noContent()
	}
}

// handleRevokeTokens serves DELETE /api/v2/tokens/{userId}: every token issued to the user stops working.
func (e *Emulator) handleRevokeTokens(q *request) {
	id := q.r.PathValue("userId")
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.userLocked(q, id, func(bool) bool { return true }) == nil {
		return
	}
	for k, t := range e.tokens {
		if t.userID == id {
			delete(e.tokens, k)
		}
	}
	q.noContent()
}

// handleUsersMe serves GET /api/v2/users/me, which needs a user's token.
func (e *Emulator) handleUsersMe(q *request) {
	if q.user == nil {
		q.badRequest("This request requires a user context. Client credentials cannot be used for requests to this resource.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	q.json(http.StatusOK, e.userJSONLocked(q.user, expandsAuthorization(q.r.URL.Query())))
}

// IssueUserToken issues an access token for the user, as if they had logged in: it works until
// DELETE /api/v2/tokens/{userId} revokes it or the user is no longer active. Only an active
// user can log in.
func (e *Emulator) IssueUserToken(userID string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.userIdx[userID]
	switch {
	case !ok:
		return "", fmt.Errorf("emulator: no user %s", userID)
	case e.users[i].state != "active":
		return "", fmt.Errorf("emulator: user %s is %s and cannot log in", userID, e.users[i].state)
	}
	tok := newToken()
	e.tokens[tok] = &token{clientID: userLogin.id, userID: userID, expires: e.opts.Now().Add(e.tokenTTLLocked())}
	return tok, nil
}

// tokenTTLLocked is the lifetime of a token issued now.
func (e *Emulator) tokenTTLLocked() time.Duration {
	if e.faults.TokenTTL > 0 {
		return e.faults.TokenTTL
	}
	return e.opts.TokenTTL
}

// userTokensLocked counts the valid tokens issued to the user.
func (e *Emulator) userTokensLocked(userID string) int {
	n := 0
	now := e.opts.Now()
	for _, t := range e.tokens {
		if t.userID == userID && now.Before(t.expires) {
			n++
		}
	}
	return n
}

// seedUserClientsLocked adds the OAuth client that a seeded user created (user 1, when there is one).
func (e *Emulator) seedUserClientsLocked() {
	if len(e.users) < 2 {
		return
	}
	id := seededUUID(e.opts.Seed, "client:wallboard")
	e.addClientLocked(id, seededUUID(e.opts.Seed, "secret:wallboard"), "Team Wallboard", PermQueueView)
	c := e.clients[id]
	c.name, c.createdBy = "Team Wallboard", e.users[1].id
	c.created = e.opts.Now().UTC().Add(-200 * 24 * time.Hour).Truncate(time.Second)
}

// handleListClients serves GET /api/v2/oauth/clients: every OAuth client, by name.
func (e *Emulator) handleListClients(q *request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := slices.Sorted(maps.Keys(e.clients))
	entities := []map[string]any{}
	for _, id := range ids {
		c := e.clients[id]
		j := map[string]any{
			"id": c.id, "name": c.name, "accessTokenValiditySeconds": int(e.opts.TokenTTL.Seconds()),
			"roleIds": c.roleIDs, "roleDivisions": e.roleDivisions(c), "scope": []string{}, "state": "active",
			"selfUri": "/api/v2/oauth/clients/" + c.id,
		}
		if !c.created.IsZero() {
			j["dateCreated"] = ts(c.created)
		}
		if c.createdBy != "" {
			j["createdBy"] = namedEntity{ID: c.createdBy, SelfURI: "/api/v2/users/" + c.createdBy}
		}
		entities = append(entities, j)
	}
	q.json(http.StatusOK, map[string]any{"entities": entities, "pageSize": max(len(entities), 1), "pageNumber": 1,
		"total": len(entities), "pageCount": 1, "firstUri": "/api/v2/oauth/clients?pageNumber=1",
		"selfUri": "/api/v2/oauth/clients?pageNumber=1", "lastUri": "/api/v2/oauth/clients?pageNumber=1"})
}
