package hrapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/config"
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

func (s *server) start(w http.ResponseWriter, r *http.Request, who principal) {
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
	if err == nil {
		w.Header().Set("Location", "/v1/offboardings/"+req.UserID)
	}
	code := http.StatusAccepted
	if res.Existing {
		code = http.StatusOK
	}
	s.answer(w, r, code, res, err)
}

func (s *server) status(w http.ResponseWriter, r *http.Request, _ principal) {
	st, err := s.svc.Status(r.Context(), r.PathValue("userId"))
	s.answer(w, r, http.StatusOK, st, err)
}

func (s *server) list(w http.ResponseWriter, r *http.Request, _ principal) {
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
func statusUpdate[B any](allowEmpty bool, act func(ctx context.Context, svc *Service, userID string, body B, who principal) (workflows.Status, error)) handler {
	return func(s *server, w http.ResponseWriter, r *http.Request, who principal) {
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
func decide(ctx context.Context, svc *Service, userID string, body DecisionRequest, who principal) (workflows.Status, error) {
	var approve bool
	switch body.Decision {
	case "approve":
		approve = true
	case "reject":
	default:
		return workflows.Status{}, invalid("the decision is invalid", workflows.FieldError{Field: "decision", Message: fmt.Sprintf("%q is unknown: use approve or reject", clip(body.Decision))})
	}
	return svc.Decide(ctx, userID, approve, workflows.DecisionInput{Approver: who.Identity, Comment: body.Comment})
}

// control sends one of the controls cancel, hold and release.
func control(update string) func(ctx context.Context, svc *Service, userID string, body ControlRequest, who principal) (workflows.Status, error) {
	return func(ctx context.Context, svc *Service, userID string, body ControlRequest, who principal) (workflows.Status, error) {
		return svc.Control(ctx, userID, update, workflows.ControlInput{By: who.Identity, Reason: body.Reason})
	}
}

// retention changes the end of retention; an approver's change carries the approver, which
// lets it shorten retention too.
func retention(ctx context.Context, svc *Service, userID string, body RetentionRequest, who principal) (workflows.Status, error) {
	until, err := time.Parse(time.RFC3339, body.Until)
	if err != nil {
		return workflows.Status{}, invalid("the retention change is invalid", workflows.FieldError{Field: "until", Message: fmt.Sprintf("%q is not an RFC 3339 time such as 2030-01-31T00:00:00Z", clip(body.Until))})
	}
	in := workflows.RetentionInput{Until: until.UTC(), By: who.Identity, Reason: body.Reason}
	if who.Role == config.RoleApprover {
		in.Approver = who.Identity
	}
	return svc.ExtendRetention(ctx, userID, in)
}

func (s *server) health(w http.ResponseWriter, _ *http.Request, _ principal) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) ready(w http.ResponseWriter, r *http.Request, _ principal) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if _, err := s.svc.Client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		writeProblem(w, r, &Problem{Type: TypeUnavailable, Title: "Temporal unavailable", Status: http.StatusServiceUnavailable, Detail: "the Temporal frontend does not answer its health check"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *server) openapi(w http.ResponseWriter, _ *http.Request, _ principal) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(OpenAPI)
}
