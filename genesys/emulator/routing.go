package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Queues and queue members, routing skills and languages, routing status.

// maxMembersPerCall is the most members one POST /routing/queues/{id}/members may name.
const maxMembersPerCall = 100

func (e *Emulator) queueJSONLocked(q *queueRec, joined bool) map[string]any {
	joinedCount, users := 0, 0
	for _, m := range q.members {
		if m.joined {
			joinedCount++
		}
		if m.memberBy == memberByUser {
			users++
		}
	}
	d := e.divisionJSON(q.division)
	j := map[string]any{"id": q.id, "name": q.name,
		"division":    namedEntity{ID: d.ID, Name: d.Name, SelfURI: d.SelfURI},
		"memberCount": len(q.members), "userMemberCount": users, "joinedMemberCount": joinedCount,
		"joined": joined, "selfUri": "/api/v2/routing/queues/" + q.id}
	if users < len(q.members) {
		gid := groupID(e.opts.Seed)
		j["memberGroups"] = []map[string]any{{"id": gid, "name": groupName, "type": "GROUP",
			"memberCount": len(q.members) - users, "selfUri": "/api/v2/groups/" + gid}}
	}
	return j
}

// userQueue is one of a user's queue memberships, for a listing.
type userQueue struct {
	q *queueRec
	m *memberRec
}

// userQueuesLocked lists the user's memberships by queue name; divisions, if any, filter.
func (e *Emulator) userQueuesLocked(userID string, divisions []string) []userQueue {
	var out []userQueue
	divs := divisionIDs(e.opts.Seed)
	for _, q := range e.queues {
		if m := q.member(userID); m != nil && (len(divisions) == 0 || slices.Contains(divisions, divs[q.division])) {
			out = append(out, userQueue{q, m})
		}
	}
	slices.SortFunc(out, func(a, b userQueue) int { return strings.Compare(a.q.name, b.q.name) })
	return out
}

// boolParam reads a boolean query parameter: def when absent.
func boolParam(q *request, name string, def bool) (bool, bool) {
	s := q.r.URL.Query().Get(name)
	if s == "" {
		return def, true
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		q.badRequest(fmt.Sprintf("%s must be true or false, got %q", name, s))
		return false, false
	}
	return v, true
}

// multiParam reads a repeated (or comma-separated) query parameter.
func multiParam(q *request, name string) []string {
	var out []string
	for _, v := range q.r.URL.Query()[name] {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

// handleUserQueues serves GET /api/v2/users/{userId}/queues: the queues the user is a member
// of with the joined status asked for (default joined).
func (e *Emulator) handleUserQueues(q *request, u *userRec) {
	p, err := parsePaging(q.r.URL.Query(), 100)
	if err != nil {
		q.reject(err)
		return
	}
	joined, ok := boolParam(q, "joined", true)
	if !ok {
		return
	}
	var matched []userQueue
	for _, uq := range e.userQueuesLocked(u.id, multiParam(q, "divisionId")) {
		if uq.m.joined == joined {
			matched = append(matched, uq)
		}
	}
	qs := q.r.URL.Query()
	qs.Set("joined", strconv.FormatBool(joined))
	q.json(http.StatusOK, pageOf("/api/v2/users/"+u.id+"/queues", qs, p, matched, true, func(uq userQueue) any {
		return e.queueJSONLocked(uq.q, uq.m.joined)
	}))
}

// handlePatchUserQueues serves PATCH /api/v2/users/{userId}/queues: joins or unjoins the
// user's queues and answers with them.
func (e *Emulator) handlePatchUserQueues(q *request, u *userRec) {
	var body []struct {
		ID     string `json:"id"`
		Joined *bool  `json:"joined"`
	}
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		q.badRequest("The body must be an array of UserQueue objects with id and joined")
		return
	}
	var changed []userQueue
	for _, b := range body {
		rec := e.queueLocked(b.ID)
		var m *memberRec
		if rec != nil {
			m = rec.member(u.id)
		}
		if m == nil || b.Joined == nil {
			q.invalid(fmt.Sprintf("The user is not a member of queue %q, or joined is missing", b.ID))
			return
		}
		changed = append(changed, userQueue{rec, m})
	}
	for i, b := range body {
		changed[i].m.joined = *b.Joined
	}
	q.json(http.StatusOK, pageOf("/api/v2/users/"+u.id+"/queues", nil, paging{size: max(len(changed), 1), number: 1}, changed, true,
		func(uq userQueue) any { return e.queueJSONLocked(uq.q, uq.m.joined) }))
}

// memberFilter is what GET /routing/queues/{id}/members filters on.
type memberFilter struct {
	joined   *bool
	memberBy string
	name     string
}

func parseMemberFilter(q *request) (memberFilter, bool) {
	f := memberFilter{memberBy: q.r.URL.Query().Get("memberBy"), name: strings.ToLower(q.r.URL.Query().Get("name"))}
	if q.r.URL.Query().Has("joined") {
		j, ok := boolParam(q, "joined", false)
		if !ok {
			return f, false
		}
		f.joined = &j
	}
	switch f.memberBy {
	case "", memberByUser, memberByGroup:
		return f, true
	}
	q.invalid(fmt.Sprintf("memberBy %q is not valid; use user or group", f.memberBy))
	return f, false
}

func (f memberFilter) keeps(m *memberRec, name string) bool {
	return (f.joined == nil || *f.joined == m.joined) && (f.memberBy == "" || f.memberBy == m.memberBy) &&
		strings.Contains(strings.ToLower(name), f.name)
}

// handleQueueMembers serves GET /api/v2/routing/queues/{queueId}/members, by member name.
func (e *Emulator) handleQueueMembers(q *request) {
	p, err := parsePaging(q.r.URL.Query(), 100)
	if err != nil {
		q.reject(err)
		return
	}
	f, ok := parseMemberFilter(q)
	if !ok {
		return
	}
	e.withQueue(q, func(rec *queueRec) { e.listMembersLocked(q, p, f, rec) })
}

// withQueue calls fn with the queue in the path, under the lock, or answers 404.
func (e *Emulator) withQueue(q *request, fn func(rec *queueRec)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rec := e.queueLocked(q.r.PathValue("queueId"))
	if rec == nil {
		q.notFound("Queue " + q.r.PathValue("queueId"))
		return
	}
	fn(rec)
}

// listMembersLocked answers page p of the queue's members that f keeps.
func (e *Emulator) listMembersLocked(q *request, p paging, f memberFilter, rec *queueRec) {
	type member struct {
		m *memberRec
		u *userRec
	}
	var matched []member
	for _, m := range rec.members {
		if u := e.users[e.userIdx[m.userID]]; f.keeps(m, u.name) {
			matched = append(matched, member{m, u})
		}
	}
	slices.SortStableFunc(matched, func(a, b member) int { return strings.Compare(a.u.name, b.u.name) })
	if q.r.URL.Query().Get("sortOrder") == "desc" {
		slices.Reverse(matched)
	}
	q.json(http.StatusOK, pageOf("/api/v2/routing/queues/"+rec.id+"/members", q.r.URL.Query(), p, matched, false, func(x member) any {
		return map[string]any{"id": x.u.id, "name": x.u.name, "user": e.userJSONLocked(x.u, false), "ringNumber": 1,
			"joined": x.m.joined, "memberBy": x.m.memberBy, "selfUri": "/api/v2/users/" + x.u.id}
	}))
}

// handlePostQueueMembers serves POST /api/v2/routing/queues/{queueId}/members: adds the users
// (joined), or with delete=true removes them. A membership through a group stays: only the
// group can end it.
func (e *Emulator) handlePostQueueMembers(q *request) {
	remove, ok := boolParam(q, "delete", false)
	if !ok {
		return
	}
	var body []struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		q.badRequest("The body must be an array of WritableEntity objects with id")
		return
	}
	if len(body) > maxMembersPerCall {
		q.invalid(fmt.Sprintf("At most %d members may be added or removed at once", maxMembersPerCall))
		return
	}
	ids := make([]string, 0, len(body))
	for _, b := range body {
		ids = append(ids, b.ID)
	}
	e.withQueue(q, func(rec *queueRec) { e.changeMembersLocked(q, rec, ids, remove) })
}

// changeMembersLocked adds the users to the queue or removes them, if they all exist.
func (e *Emulator) changeMembersLocked(q *request, rec *queueRec, ids []string, remove bool) {
	for _, id := range ids {
		if i, found := e.userIdx[id]; !found || e.users[i].state == "deleted" {
			q.invalid(fmt.Sprintf("User %q does not exist", id))
			return
		}
	}
	for _, id := range ids {
		m := rec.member(id)
		switch {
		case remove && m != nil && m.memberBy == memberByUser:
			rec.members = slices.DeleteFunc(rec.members, func(x *memberRec) bool { return x == m })
		case !remove && m == nil:
			rec.members = append(rec.members, &memberRec{userID: id, joined: true, memberBy: memberByUser})
		}
	}
	q.noContent()
}

type proficiencyJSON struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Proficiency float64 `json:"proficiency"`
	State       string  `json:"state"`
	SkillURI    string  `json:"skillUri,omitempty"`
	LanguageURI string  `json:"languageUri,omitempty"`
	SelfURI     string  `json:"selfUri"`
}

// handleProficiencies serves GET /api/v2/users/{userId}/routingskills (skills) or
// /routinglanguages: the user's, by name.
func (e *Emulator) handleProficiencies(skills bool) userHandler {
	return func(q *request, u *userRec) {
		p, err := parsePaging(q.r.URL.Query(), 100)
		if err != nil {
			q.reject(err)
			return
		}
		list, kind := u.languages, "routinglanguages"
		if skills {
			list, kind = u.skills, "routingskills"
		}
		list = slices.SortedFunc(slices.Values(list), func(a, b proficiencyRec) int { return strings.Compare(a.name, b.name) })
		if strings.HasPrefix(strings.ToLower(q.r.URL.Query().Get("sortOrder")), "desc") {
			slices.Reverse(list)
		}
		q.json(http.StatusOK, pageOf("/api/v2/users/"+u.id+"/"+kind, q.r.URL.Query(), p, list, true, func(r proficiencyRec) any {
			j := proficiencyJSON{ID: r.id, Name: r.name, Proficiency: r.proficiency, State: "active",
				SelfURI: "/api/v2/users/" + u.id + "/" + kind + "/" + r.id}
			if skills {
				j.SkillURI = "/api/v2/routing/skills/" + r.id
			} else {
				j.LanguageURI = "/api/v2/routing/languages/" + r.id
			}
			return j
		}))
	}
}

func routingJSON(u *userRec) map[string]any {
	return map[string]any{"userId": u.id, "status": u.routingStatus, "startTime": ts(u.routingSince)}
}

// handleRoutingStatus serves GET /api/v2/users/{userId}/routingstatus.
func (e *Emulator) handleRoutingStatus(q *request, u *userRec) { q.json(http.StatusOK, routingJSON(u)) }

// handlePutRoutingStatus serves PUT /api/v2/users/{userId}/routingstatus: a user can be put off
// queue or on queue (IDLE); the other statuses follow from interactions.
func (e *Emulator) handlePutRoutingStatus(q *request, u *userRec) {
	var body struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		q.badRequest("The body must be a RoutingStatus object")
		return
	}
	if body.Status != routingOffQueue && body.Status != routingIdle {
		q.invalid(fmt.Sprintf("status %q cannot be set; use OFF_QUEUE or IDLE", body.Status))
		return
	}
	if u.routingStatus != body.Status {
		u.routingStatus, u.routingSince = body.Status, e.opts.Now().UTC().Truncate(time.Millisecond)
	}
	q.json(http.StatusOK, routingJSON(u))
}
