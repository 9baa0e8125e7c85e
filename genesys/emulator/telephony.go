package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Stations and call forwarding. Station changes apply eventually in Genesys; the faults
// StationLag and StationConflicts reproduce that (see Faults).

// stationView is which stations a user has, as a read shows them.
type stationView struct{ associated, def, last string }

func (u *userRec) stationView() stationView {
	return stationView{associated: u.station, def: u.defaultStation, last: u.lastStation}
}

func (e *Emulator) stationJSONLocked(id string) map[string]any {
	s := e.stationLocked(id)
	if s == nil {
		return nil
	}
	j := map[string]any{"id": s.id, "name": s.name, "type": s.kind}
	if s.associatedUser != "" {
		j["associatedDate"] = ts(s.associatedAt)
	}
	if s.kind == stationWebRTC {
		j["webRtcCallAppearances"] = 100
	}
	return j
}

// handleUserStations serves GET /api/v2/users/{userId}/station. While a StationLag fault
// holds for the user, it shows the stations from before the latest change.
func (e *Emulator) handleUserStations(q *request, u *userRec) {
	v := u.stationView()
	if u.lagReads > 0 {
		u.lagReads--
		v = u.lagging
	}
	out := map[string]any{}
	for key, id := range map[string]string{"associatedStation": v.associated, "defaultStation": v.def,
		"effectiveStation": cmpOr(v.associated, v.def), "lastAssociatedStation": v.last} {
		if id != "" {
			out[key] = e.stationJSONLocked(id)
		}
	}
	q.json(http.StatusOK, out)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// stationChange is one station write on a user, which may fail with a rejection or a 404.
type stationChange func(q *request, u *userRec, now time.Time) (status int, msg string)

// handleStationChange serves a station write: a StationConflicts fault answers 409 first; a
// StationLag fault keeps the view from before for the next reads. Success is 202, as in Genesys.
func (e *Emulator) handleStationChange(change stationChange) userHandler {
	return func(q *request, u *userRec) {
		if e.faults.StationConflicts > 0 {
			e.faults.StationConflicts--
			q.failWith(apiError{Status: http.StatusConflict, Code: "general.conflict",
				Message: fmt.Sprintf("The version number of the station association of user %s must match the current version", u.id)})
			return
		}
		before := u.stationView()
		status, msg := change(q, u, e.opts.Now().UTC().Truncate(time.Millisecond))
		switch status {
		case http.StatusNotFound:
			q.notFound(msg)
			return
		case http.StatusBadRequest:
			q.badRequest(msg)
			return
		}
		if lag := e.faults.StationLag; lag > 0 {
			if u.lagReads == 0 {
				u.lagging = before
			}
			u.lagReads = lag
		}
		q.writeHeader(http.StatusAccepted)
	}
}

// disassociate ends u's station association.
func (e *Emulator) disassociate(_ *request, u *userRec, _ time.Time) (int, string) {
	s := e.stationLocked(u.station)
	if s == nil {
		return http.StatusNotFound, "Associated station of user " + u.id
	}
	s.associatedUser, s.version = "", s.version+1
	u.lastStation, u.station = u.station, ""
	return 0, ""
}

// clearDefault removes u's default station.
func (e *Emulator) clearDefault(_ *request, u *userRec, _ time.Time) (int, string) {
	if u.defaultStation == "" {
		return http.StatusNotFound, "Default station of user " + u.id
	}
	u.defaultStation = ""
	return 0, ""
}

// associate associates the station in the path with u, unless another user has it.
func (e *Emulator) associate(q *request, u *userRec, now time.Time) (int, string) {
	s := e.stationLocked(q.r.PathValue("stationId"))
	switch {
	case s == nil:
		return http.StatusNotFound, "Station " + q.r.PathValue("stationId")
	case s.associatedUser != "" && s.associatedUser != u.id:
		return http.StatusBadRequest, fmt.Sprintf("Station %s is associated with another user", s.id)
	}
	if old := e.stationLocked(u.station); old != nil && old != s {
		old.associatedUser, old.version = "", old.version+1
	}
	s.associatedUser, s.associatedAt, s.version = u.id, now, s.version+1
	u.station = s.id
	return 0, ""
}

// setDefault makes the station in the path u's default, unless it is another user's default.
func (e *Emulator) setDefault(q *request, u *userRec, _ time.Time) (int, string) {
	id := q.r.PathValue("stationId")
	if e.stationLocked(id) == nil {
		return http.StatusNotFound, "Station " + id
	}
	if slices.ContainsFunc(e.users, func(o *userRec) bool { return o != u && o.defaultStation == id }) {
		return http.StatusBadRequest, fmt.Sprintf("Station %s is another user's default station", id)
	}
	u.defaultStation = id
	return 0, ""
}

type targetJSON struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type routeJSON struct {
	Targets []targetJSON `json:"targets"`
}

type forwardingJSON struct {
	ID           string      `json:"id,omitempty"`
	Name         string      `json:"name,omitempty"`
	Enabled      bool        `json:"enabled"`
	PhoneNumber  string      `json:"phoneNumber,omitempty"`
	Calls        []routeJSON `json:"calls"`
	Voicemail    string      `json:"voicemail,omitempty"`
	ModifiedDate string      `json:"modifiedDate,omitempty"`
	SelfURI      string      `json:"selfUri,omitempty"`
}

func forwardingOf(u *userRec) forwardingJSON {
	f := u.forwarding
	j := forwardingJSON{ID: u.id, Name: u.name, Enabled: f.enabled, PhoneNumber: f.phoneNumber, Calls: []routeJSON{},
		Voicemail: f.voicemail, ModifiedDate: ts(f.modified), SelfURI: "/api/v2/users/" + u.id + "/callforwarding"}
	for _, r := range f.calls {
		rj := routeJSON{Targets: []targetJSON{}}
		for _, t := range r {
			rj.Targets = append(rj.Targets, targetJSON{Type: t.kind, Value: t.value})
		}
		j.Calls = append(j.Calls, rj)
	}
	return j
}

// handleForwarding serves GET /api/v2/users/{userId}/callforwarding.
func (e *Emulator) handleForwarding(q *request, u *userRec) { q.json(http.StatusOK, forwardingOf(u)) }

// parseForwarding reads a CallForwarding body: targets are STATION or PHONENUMBER, voicemail one
// of PURECLOUD, LASTCALL or NONE, and forwarding that is on needs somewhere to go.
func parseForwarding(q *request) (forwardingRec, error) {
	var body forwardingJSON
	if err := json.NewDecoder(q.r.Body).Decode(&body); err != nil {
		return forwardingRec{}, errBadRequest("The body must be a CallForwarding object: " + err.Error())
	}
	f := forwardingRec{enabled: body.Enabled, phoneNumber: body.PhoneNumber, voicemail: body.Voicemail}
	for _, r := range body.Calls {
		var route []targetRec
		for _, t := range r.Targets {
			if t.Type != "STATION" && t.Type != "PHONENUMBER" {
				return f, errInvalid(fmt.Sprintf("target type %q is not valid; use STATION or PHONENUMBER", t.Type))
			}
			route = append(route, targetRec{kind: t.Type, value: t.Value})
		}
		f.calls = append(f.calls, route)
	}
	switch {
	case !slices.Contains([]string{"", "PURECLOUD", "LASTCALL", "NONE"}, f.voicemail):
		return f, errInvalid(fmt.Sprintf("voicemail %q is not valid; use PURECLOUD, LASTCALL or NONE", f.voicemail))
	case f.enabled && len(f.calls) == 0 && f.phoneNumber == "":
		return f, errInvalid("Call forwarding that is enabled needs a phone number or calls")
	}
	return f, nil
}

// handlePutForwarding serves PUT /api/v2/users/{userId}/callforwarding: the whole setting.
func (e *Emulator) handlePutForwarding(q *request, u *userRec) {
	f, err := parseForwarding(q)
	if err != nil {
		q.reject(err)
		return
	}
	f.modified = e.opts.Now().UTC().Truncate(time.Millisecond)
	u.forwarding = f
	q.json(http.StatusOK, forwardingOf(u))
}
