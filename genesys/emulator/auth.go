package emulator

import (
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"slices"
	"strings"
	"time"
)

// orgID and orgName describe the emulated organization.
const orgName = "Offboard Emulated Org"

type client struct {
	id, secret, name string
	roleIDs          []string
	divisionID       string
	createdBy        string // the user who created it, "" for a built-in client
	created          time.Time
}

type policy struct {
	domain, entity string
	actions        []string
}

type role struct {
	id, name string
	policies []policy
}

// AddClient registers (or replaces) an OAuth client whose single role grants permissions
// (domain:entity:action, any part may be "*"). Use it to test missing-permission paths.
func (e *Emulator) AddClient(id, secret string, permissions ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.addClientLocked(id, secret, "Role for "+id, permissions...)
}

func (e *Emulator) addClientLocked(id, secret, roleName string, permissions ...string) {
	r := &role{id: seededUUID(e.opts.Seed, "role:client:"+id), name: roleName}
	for _, p := range permissions {
		parts := strings.SplitN(p, ":", 3)
		if len(parts) != 3 {
			continue
		}
		i := slices.IndexFunc(r.policies, func(x policy) bool { return x.domain == parts[0] && x.entity == parts[1] })
		if i < 0 {
			r.policies = append(r.policies, policy{domain: parts[0], entity: parts[1]})
			i = len(r.policies) - 1
		}
		r.policies[i].actions = append(r.policies[i].actions, parts[2])
	}
	e.roles[r.id] = r
	e.clients[id] = &client{id: id, secret: secret, name: id, roleIDs: []string{r.id},
		divisionID: divisionIDs(e.opts.Seed)[0]}
}

// userLogin is the OAuth client that user tokens are issued through (a user's login); it has no
// roles of its own: a user token carries the user's.
var userLogin = &client{id: "emulator-user-login", name: "Emulator user login"}

// rolesHaveLocked reports whether any of the roles grants perm.
func (e *Emulator) rolesHaveLocked(roleIDs []string, perm string) bool {
	want := strings.SplitN(perm, ":", 3)
	for _, rid := range roleIDs {
		r := e.roles[rid]
		if r == nil {
			continue
		}
		for _, p := range r.policies {
			if !wild(p.domain, want[0]) || !wild(p.entity, want[1]) {
				continue
			}
			for _, a := range p.actions {
				if wild(a, want[2]) {
					return true
				}
			}
		}
	}
	return false
}

func wild(have, want string) bool { return have == "*" || strings.EqualFold(have, want) }

// seededUUID derives a stable version-4-shaped UUID from the seed and a name.
func seededUUID(seed int64, name string) string {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func (e *Emulator) orgID() string { return seededUUID(e.opts.Seed, "organization") }

type namedEntity struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	SelfURI string `json:"selfUri,omitempty"`
}

type roleDivision struct {
	RoleID     string `json:"roleId"`
	DivisionID string `json:"divisionId"`
}

func (e *Emulator) roleDivisions(c *client) []roleDivision {
	out := make([]roleDivision, 0, len(c.roleIDs))
	for _, r := range c.roleIDs {
		out = append(out, roleDivision{RoleID: r, DivisionID: c.divisionID})
	}
	return out
}

// handleTokensMe serves GET /api/v2/tokens/me.
func (e *Emulator) handleTokensMe(q *request) {
	org := namedEntity{ID: e.orgID(), Name: orgName, SelfURI: "/api/v2/organizations/" + e.orgID()}
	e.mu.Lock()
	rd := e.roleDivisions(q.client)
	e.mu.Unlock()
	q.json(http.StatusOK, map[string]any{
		"organization":     org,
		"homeOrganization": org,
		"authorizedScope":  []string{},
		"OAuthClient": map[string]any{
			"id":                  q.client.id,
			"name":                q.client.name,
			"authorizedGrantType": "CLIENT-CREDENTIALS",
			"roleDivisions":       rd,
			"organization":        org,
		},
	})
}

// handleOAuthClient serves GET /api/v2/oauth/clients/{clientId}.
func (e *Emulator) handleOAuthClient(q *request) {
	id := q.r.PathValue("clientId")
	e.mu.Lock()
	c := e.clients[id]
	var rd []roleDivision
	if c != nil {
		rd = e.roleDivisions(c)
	}
	e.mu.Unlock()
	if c == nil {
		q.notFound("OAuth client " + id)
		return
	}
	q.json(http.StatusOK, map[string]any{
		"id":                         c.id,
		"name":                       c.name,
		"accessTokenValiditySeconds": int(e.opts.TokenTTL.Seconds()),
		"authorizedGrantType":        "CLIENT-CREDENTIALS",
		"roleIds":                    c.roleIDs,
		"roleDivisions":              rd,
		"state":                      "active",
		"selfUri":                    "/api/v2/oauth/clients/" + c.id,
	})
}

// handleRole serves GET /api/v2/authorization/roles/{roleId}.
func (e *Emulator) handleRole(q *request) {
	id := q.r.PathValue("roleId")
	e.mu.Lock()
	r := e.roles[id]
	e.mu.Unlock()
	if r == nil {
		q.notFound("Role " + id)
		return
	}
	type policyJSON struct {
		Domain     string   `json:"domain"`
		EntityName string   `json:"entityName"`
		ActionSet  []string `json:"actionSet"`
	}
	pols := make([]policyJSON, 0, len(r.policies))
	perms := []string{}
	for _, p := range r.policies {
		pols = append(pols, policyJSON{Domain: p.domain, EntityName: p.entity, ActionSet: p.actions})
		perms = append(perms, p.domain)
	}
	q.json(http.StatusOK, map[string]any{
		"id":                 r.id,
		"name":               r.name,
		"permissions":        slices.Compact(slices.Sorted(slices.Values(perms))),
		"permissionPolicies": pols,
		"default":            false,
		"base":               false,
		"selfUri":            "/api/v2/authorization/roles/" + r.id,
	})
}
