package hrapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/workflows"
)

// answer writes v with code, or the problem err is.
func (s *server) answer(w http.ResponseWriter, r *http.Request, code int, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, code, v)
}

func (s *server) start(w http.ResponseWriter, r *http.Request, who Principal) {
	if wait := s.starts.take(who.Identity, s.svc.now()); wait > 0 {
		tooMany(w, r, wait, fmt.Sprintf("too many starts by %q", who.Identity))
		return
	}
	var body OffboardingRequest
	if p := decodeBody(w, r, &body, false); p != nil {
		s.fail(w, r, p)
		return
	}
	req, err := body.Request(who.Identity, s.svc.now(), s.svc.Policy)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.svc.Start(r.Context(), req)
	if userID, ok := workflows.UserIDFromWorkflowID(res.WorkflowID); err == nil && ok {
		w.Header().Set("Location", "/v1/offboardings/"+userID) // resolved, when HR named the person otherwise
	}
	code := http.StatusAccepted
	if res.Existing {
		code = http.StatusOK
	}
	s.answer(w, r, code, res, err)
}

func (s *server) status(w http.ResponseWriter, r *http.Request, _ Principal) {
	st, err := s.svc.Status(r.Context(), r.PathValue("userId"))
	s.answer(w, r, http.StatusOK, st, err)
}

func (s *server) list(w http.ResponseWriter, r *http.Request, _ Principal) {
	q := r.URL.Query()
	lq := ListQuery{Stage: q.Get("stage"), Disposition: q.Get("disposition"), PageToken: q.Get("pageToken")}
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, invalid("the list query is invalid", workflows.FieldError{Field: "pageSize", Message: fmt.Sprintf("must be between 1 and %d", MaxPageSize)}))
			return
		}
		lq.PageSize = n
	}
	page, err := s.svc.List(r.Context(), lq)
	s.answer(w, r, http.StatusOK, page, err)
}

// statusUpdate serves an update route: it decodes the body (which may be empty when allowEmpty
// is set), lets act send the update for the user in the path as who, and answers the status
// afterwards.
func statusUpdate[B any](allowEmpty bool, act func(ctx context.Context, svc *Service, userID string, body B, who Principal) (workflows.Status, error)) handler {
	return func(s *server, w http.ResponseWriter, r *http.Request, who Principal) {
		var body B
		if p := decodeBody(w, r, &body, allowEmpty); p != nil {
			s.fail(w, r, p)
			return
		}
		st, err := act(r.Context(), s.svc, r.PathValue("userId"), body, who)
		s.answer(w, r, http.StatusOK, st, err)
	}
}

// decide approves or rejects as the approver.
func decide(ctx context.Context, svc *Service, userID string, body DecisionRequest, who Principal) (workflows.Status, error) {
	switch body.Decision {
	case workflows.UpdateApprove, workflows.UpdateReject:
	default:
		return workflows.Status{}, invalid("the decision is invalid", workflows.FieldError{Field: "decision", Message: fmt.Sprintf("%q is unknown: use approve or reject", clip(body.Decision))})
	}
	return svc.Act(ctx, userID, who, CredentialRequest{Action: body.Decision, Comment: body.Comment})
}

// control sends one of the controls cancel, hold and release.
func control(update string) func(ctx context.Context, svc *Service, userID string, body ControlRequest, who Principal) (workflows.Status, error) {
	return func(ctx context.Context, svc *Service, userID string, body ControlRequest, who Principal) (workflows.Status, error) {
		return svc.Act(ctx, userID, who, CredentialRequest{Action: update, Comment: body.Reason})
	}
}

// retention changes the end of retention; an approver's credential lets it shorten retention too.
func retention(ctx context.Context, svc *Service, userID string, body RetentionRequest, who Principal) (workflows.Status, error) {
	if _, err := time.Parse(time.RFC3339, body.Until); err != nil {
		return workflows.Status{}, invalid("the retention change is invalid", workflows.FieldError{Field: "until", Message: fmt.Sprintf("%q is not an RFC 3339 time such as 2030-01-31T00:00:00Z", clip(body.Until))})
	}
	return svc.Act(ctx, userID, who, CredentialRequest{Action: workflows.UpdateExtendRetention, Until: body.Until, Comment: body.Reason})
}

// issue answers a credential for the caller to use elsewhere: the Temporal UI, the operator CLI
// or a link.
func (s *server) issue(w http.ResponseWriter, r *http.Request, who Principal) {
	var body CredentialRequest
	if p := decodeBody(w, r, &body, false); p != nil {
		s.fail(w, r, p)
		return
	}
	issued, err := s.svc.Issue(r.Context(), r.PathValue("userId"), who, body)
	s.answer(w, r, http.StatusCreated, issued, err)
}

// inspect says what a link's credential decides, without deciding.
func (s *server) inspect(w http.ResponseWriter, r *http.Request, _ Principal) {
	if d, ok := s.linkDecision(w, r); ok {
		writeJSON(w, http.StatusOK, d)
	}
}

// follow takes the decision of a link's credential: the credential, checked here against the
// policy's keys before it reaches the run, is the authentication.
func (s *server) follow(w http.ResponseWriter, r *http.Request, _ Principal) {
	d, ok := s.linkDecision(w, r)
	if !ok {
		return
	}
	st, err := s.svc.Submit(r.Context(), d.UserID, d.Action, r.PathValue("credential"))
	s.answer(w, r, http.StatusOK, st, err)
}

// linkDecision verifies the credential in a link's path. A bad credential counts as a failed
// authentication of the client address, so links cannot be guessed faster than tokens.
func (s *server) linkDecision(w http.ResponseWriter, r *http.Request) (Decision, bool) {
	addr := clientAddress(r, s.forwardedFor)
	if wait := s.authFailures.wait(addr, s.svc.now()); wait > 0 {
		tooMany(w, r, wait, "too many failed authentications from this address")
		return Decision{}, false
	}
	d, err := s.svc.Inspect(r.PathValue("credential"))
	if err != nil {
		if p, ok := err.(*Problem); ok && p.Status == http.StatusUnauthorized {
			s.authFailures.take(addr, s.svc.now())
		}
		s.fail(w, r, err)
		return Decision{}, false
	}
	return d, true
}

func (s *server) health(w http.ResponseWriter, _ *http.Request, _ Principal) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) ready(w http.ResponseWriter, r *http.Request, _ Principal) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if _, err := s.svc.Client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		p := newProblem(TypeUnavailable, "the Temporal frontend does not answer its health check")
		p.cause = err
		s.fail(w, r, p)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *server) openapi(w http.ResponseWriter, _ *http.Request, _ Principal) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(OpenAPI)
}
