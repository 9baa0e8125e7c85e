package emulator

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// gdprSteps is the status a GDPR request shows after each poll.
var gdprSteps = []string{"INITIATED", "SEARCHING", "DELETING", "FINALIZING", "COMPLETED"}

type gdprReq struct {
	id      string
	user    int
	created time.Time
	step    int
}

func (e *Emulator) gdprJSONLocked(g *gdprReq) map[string]any {
	return map[string]any{
		"id":          g.id,
		"requestType": "GDPR_DELETE",
		"createdDate": ts(g.created),
		"status":      gdprSteps[g.step],
		"subject":     map[string]string{"userId": e.users[g.user].id},
		"selfUri":     "/api/v2/gdpr/requests/" + g.id,
	}
}

// handleCreateGDPR serves POST /api/v2/gdpr/requests?deleteConfirmed=true. Filing it marks the
// user as never restorable; the user is deleted at DELETING and erased at COMPLETED.
func (e *Emulator) handleCreateGDPR(q *request) {
	var body struct {
		RequestType string `json:"requestType"`
		Subject     struct {
			UserID string `json:"userId"`
		} `json:"subject"`
	}
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		q.badRequest("The request body is not a valid GDPR request: " + err.Error())
		return
	}
	if body.RequestType != "GDPR_DELETE" {
		q.invalid("requestType " + strconv.Quote(body.RequestType) + " is not supported by the emulator; use GDPR_DELETE")
		return
	}
	if q.r.URL.Query().Get("deleteConfirmed") != "true" {
		q.badRequest("A GDPR_DELETE request needs deleteConfirmed=true: the deletion is irreversible.")
		return
	}
	if body.Subject.UserID == "" {
		q.invalid("subject.userId is required")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.userIdx[body.Subject.UserID]
	if !ok {
		q.notFound("User " + body.Subject.UserID)
		return
	}
	e.seq++
	g := &gdprReq{id: seededUUID(e.opts.Seed, "gdpr:"+strconv.FormatUint(e.seq, 10)+":"+newUUID()), user: i,
		created: e.opts.Now().UTC().Truncate(time.Millisecond)}
	e.users[i].gdprErased = true
	e.gdpr[g.id] = g
	q.json(http.StatusAccepted, e.gdprJSONLocked(g))
}

// handleGetGDPR serves GET /api/v2/gdpr/requests/{requestId}; each poll advances one status.
func (e *Emulator) handleGetGDPR(q *request) {
	id := q.r.PathValue("requestId")
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.gdpr[id]
	if g == nil {
		q.notFound("GDPR request " + id)
		return
	}
	if g.step < len(gdprSteps)-1 {
		g.step++
		u := e.users[g.user]
		switch gdprSteps[g.step] {
		case "DELETING":
			if u.state != "deleted" {
				u.state = "deleted"
				u.version++
			}
		case "COMPLETED":
			u.name, u.email, u.title, u.department = "Erased User", "", "", ""
			u.roleIDs = nil
			u.version++
		}
	}
	q.json(http.StatusOK, e.gdprJSONLocked(g))
}
