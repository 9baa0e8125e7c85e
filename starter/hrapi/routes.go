package hrapi

import (
	"net/http"
	"slices"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

// Route is one operation of the API. New registers exactly the routes Routes lists, and the
// tests check openapi.yaml against the same list.
type Route struct {
	// Method and Path are the mux pattern; {userId} is a path value.
	Method, Path string
	// Operation is the route's operationId in openapi.yaml.
	Operation string
	// Roles may call the route; none means it needs no token (security: [] in openapi.yaml).
	Roles []config.Role
	// Statuses are the codes the route can answer; openapi.yaml documents each.
	Statuses []int
	serve    handler
}

// handler serves one route for who; who is zero on a route without roles.
type handler func(s *server, w http.ResponseWriter, r *http.Request, who Principal)

var (
	readers = []config.Role{config.RoleHR, config.RoleApprover, config.RoleAuditor}
	hrOnly  = []config.Role{config.RoleHR}
	// batchReaders read batches: HR, whose they are, and auditors.
	batchReaders = []config.Role{config.RoleHR, config.RoleAuditor}
	// Who may decide is the workflow's rule (workflows.RolesFor); the routes only apply it early.
	approvers = rolesFor(credential.ActionApprove)
	retainers = rolesFor(credential.ActionRetention)
)

// rolesFor are the token roles that may take action, as the workflow decides them.
func rolesFor(action credential.Action) []config.Role {
	var out []config.Role
	for _, r := range workflows.RolesFor(action) {
		out = append(out, config.Role(r))
	}
	return out
}

// Status sets of the routes.
var (
	authStatuses   = []int{401, 403, 429, 503, 500}
	startStatuses  = append([]int{200, 202, 400, 409, 415, 422}, authStatuses...)
	batchStatuses  = append([]int{200, 202, 400, 409, 415, 422}, authStatuses...)
	readStatuses   = append([]int{200, 400, 404}, authStatuses...)
	listStatuses   = append([]int{200, 400}, authStatuses...)
	updateStatuses = append([]int{200, 400, 404, 409, 415}, authStatuses...)
	issueStatuses  = append([]int{201, 400, 404, 409, 415}, authStatuses...)
	linkStatuses   = []int{200, 401, 429, 500}
	followStatuses = []int{200, 400, 401, 404, 409, 429, 503, 500}
	okStatuses     = []int{200}
	readyStatuses  = []int{200, 503}
	pageStatuses   = []int{200, 404}
	// eventStatuses: 422 is an event type the API does not take (or, with identity
	// resolution, a person it cannot match), 503 events off or Temporal down.
	eventStatuses = []int{200, 202, 400, 401, 409, 415, 422, 429, 503, 500}
	codecStatuses = []int{200, 400, 401, 403, 404, 429, 500}
	// A preflight's 403 is an origin the operators did not allow.
	preflightStatuses = []int{204, 403, 404}
)

// routes is the route table.
var routes = []Route{
	{"POST", "/v1/offboardings", "startOffboarding", hrOnly, startStatuses, (*server).start},
	{"GET", "/v1/offboardings", "listOffboardings", readers, listStatuses, (*server).list},
	{"GET", "/v1/offboardings/{userId}", "getOffboarding", readers, readStatuses, (*server).status},
	{"POST", "/v1/offboardings/{userId}/approvals", "decide", approvers, updateStatuses, statusUpdate(false, decide)},
	{"POST", "/v1/offboardings/{userId}/cancel", "cancel", rolesFor(credential.ActionCancel), updateStatuses, statusUpdate(true, control(workflows.UpdateCancel))},
	{"POST", "/v1/offboardings/{userId}/hold", "hold", rolesFor(credential.ActionHold), updateStatuses, statusUpdate(true, control(workflows.UpdateHold))},
	{"POST", "/v1/offboardings/{userId}/release", "release", rolesFor(credential.ActionRelease), updateStatuses, statusUpdate(true, control(workflows.UpdateRelease))},
	{"POST", "/v1/offboardings/{userId}/retention", "retention", retainers, updateStatuses, statusUpdate(false, retention)},
	{"POST", "/v1/offboardings/{userId}/credentials", "issueCredential", retainers, issueStatuses, (*server).issue},
	{"POST", "/v1/batches", "startBatch", hrOnly, batchStatuses, (*server).startBatch},
	{"GET", "/v1/batches/{batchId}", "getBatch", batchReaders, readStatuses, (*server).batch},
	{"POST", "/v1/batches/{batchId}/pause", "pauseBatch", hrOnly, updateStatuses, batchControl(workflows.UpdatePauseBatch)},
	{"POST", "/v1/batches/{batchId}/resume", "resumeBatch", hrOnly, updateStatuses, batchControl(workflows.UpdateResumeBatch)},
	{"POST", "/v1/batches/{batchId}/cancel", "cancelBatch", hrOnly, updateStatuses, batchControl(workflows.UpdateCancelBatch)},
	{"POST", "/v1/events", "receiveEvent", nil, eventStatuses, (*server).event},
	{"GET", "/v1/decisions/{credential}", "inspectDecision", nil, linkStatuses, (*server).inspect},
	{"POST", "/v1/decisions/{credential}", "followDecision", nil, followStatuses, (*server).follow},
	{"GET", "/healthz", "health", nil, okStatuses, (*server).health},
	{"GET", "/readyz", "ready", nil, readyStatuses, (*server).ready},
	{"GET", "/openapi.yaml", "openapi", nil, okStatuses, (*server).openapi},
	{"GET", "/problems/{type}", "problemType", nil, pageStatuses, (*server).problemType},
	{"POST", codecPrefix + "/encode", "codecEncode", codecWriters, codecStatuses, (*server).codecPayloads},
	{"POST", codecPrefix + "/decode", "codecDecode", codecReaders, codecStatuses, (*server).codecPayloads},
	{"OPTIONS", codecPrefix + "/encode", "codecEncodePreflight", nil, preflightStatuses, (*server).codecPreflight},
	{"OPTIONS", codecPrefix + "/decode", "codecDecodePreflight", nil, preflightStatuses, (*server).codecPreflight},
}

// Routes lists every route New serves.
func Routes() []Route { return slices.Clone(routes) }

// Pattern is the route's http.ServeMux pattern.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// register adds every route to the mux, each behind its role check.
func (s *server) register() {
	for _, rt := range routes {
		s.mux.HandleFunc(rt.Pattern(), s.guard(rt))
	}
}

// guard binds the route's handler to s, behind authentication when the route has roles.
func (s *server) guard(rt Route) http.HandlerFunc {
	if len(rt.Roles) == 0 {
		return func(w http.ResponseWriter, r *http.Request) { rt.serve(s, w, r, Principal{}) }
	}
	return s.auth(rt.Roles, func(w http.ResponseWriter, r *http.Request, who Principal) { rt.serve(s, w, r, who) })
}
