package emulator

import "net/http"

// handleStation serves GET /api/v2/stations/{stationId}: the station, with userId naming the user
// associated with it now and status ASSOCIATED or AVAILABLE.
func (e *Emulator) handleStation(q *request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := q.r.PathValue("stationId")
	s := e.stationLocked(id)
	if s == nil {
		q.notFound("Station " + id)
		return
	}
	j := e.stationJSONLocked(id)
	delete(j, "associatedDate") // a UserStation member, not a Station one
	j["status"] = "AVAILABLE"
	if s.associatedUser != "" {
		j["status"], j["userId"] = "ASSOCIATED", s.associatedUser
	}
	j["selfUri"] = "/api/v2/stations/" + id
	q.json(http.StatusOK, j)
}
