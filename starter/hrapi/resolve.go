package hrapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/workflows"
)

// whatNamed is how a problem names the identifier, never its value.
var whatNamed = map[string]string{workflows.IdentifyByEmail: "email", workflows.IdentifyByEmployeeID: "employee ID"}

// validationFields are ValidateRequest's field errors for req, except the missing user ID of
// a request that names the person otherwise: Start resolves that first. The error is one that
// names no field.
func validationFields(req workflows.Request, p workflows.Policy, now time.Time) ([]workflows.FieldError, error) {
	err := workflows.ValidateRequest(req, p, now)
	if err == nil {
		return nil, nil
	}
	var v *workflows.ValidationError
	if !errors.As(err, &v) {
		return nil, err
	}
	unresolved := req.UserID == "" && req.IdentifiedBy != nil
	var out []workflows.FieldError
	for _, f := range v.Fields {
		if unresolved && f.Field == "userId" {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// resolve finds the Genesys user that req.IdentifiedBy names, by running the ResolvePerson
// workflow on the workers' task queue and waiting at most workflows.ResolveTimeout, and sets
// req.UserID and req.IdentifiedBy.ResolvedAt. The run's ID is random and it carries no search
// attribute: the email or employee ID is only in its (encrypted) input.
func (s *Service) resolve(ctx context.Context, req *workflows.Request) error {
	fields, err := validationFields(*req, s.Policy, s.now())
	if err != nil {
		return invalid(err.Error())
	}
	if len(fields) > 0 {
		return invalid("the offboarding request is invalid; nothing was started", fields...)
	}
	id := *req.IdentifiedBy
	ctx, cancel := context.WithTimeout(ctx, workflows.ResolveTimeout)
	defer cancel()
	opts := client.StartWorkflowOptions{
		ID:                       workflows.ResolveWorkflowID(),
		TaskQueue:                workflows.TaskQueue,
		WorkflowExecutionTimeout: workflows.ResolveTimeout,
		StaticSummary:            "resolve the person an HR request names by " + whatNamed[id.By],
	}
	run, err := s.Client.ExecuteWorkflow(ctx, opts, workflows.ResolveWorkflowType, activities.ResolveInput{By: id.By, Value: id.Value})
	if err != nil {
		return temporalProblem("resolve the person", err)
	}
	var r activities.Resolution
	if err := run.Get(ctx, &r); err != nil {
		return resolutionProblem(whatNamed[id.By], err)
	}
	if s.Policy.Protects(r.UserID) {
		return invalid("the person is protected by policy and is never offboarded; nothing was started",
			workflows.FieldError{Field: id.By, Message: "names a Genesys user the policy protects"})
	}
	id.ResolvedAt = s.now()
	req.UserID, req.IdentifiedBy = r.UserID, &id
	return nil
}

// resolutionProblem is the problem a failed resolution is. Details never hold the value.
func resolutionProblem(what string, err error) *Problem {
	var ae *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	var p *Problem
	switch {
	case errors.As(err, &ae) && ae.Type() == activities.ErrPersonUnknown:
		p = newProblem(TypeUnknownPerson, fmt.Sprintf("no active or inactive Genesys user has that %s; check it, or send the Genesys user ID instead", what))
	case errors.As(err, &ae) && ae.Type() == activities.ErrPersonAmbiguous:
		n := 0
		_ = ae.Details(&n)
		p = newProblem(TypeAmbiguousPerson, fmt.Sprintf("%d Genesys users share that %s; send the Genesys user ID instead", max(n, 2), what))
	case errors.As(err, &ae) && ae.Type() == string(genesys.KindPermissionDenied):
		// The operators' to fix, not the caller's: a sender that retries succeeds once they have.
		p = newProblem(TypeResolutionUnavailable, fmt.Sprintf("the workers may not search Genesys users, so no %s can be resolved until their OAuth client is granted %s; retry later, or send the Genesys user ID", what, genesys.PermUserView))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timeout), errors.As(err, &ae) && !ae.NonRetryable():
		p = newProblem(TypeResolutionUnavailable, fmt.Sprintf("the workers did not resolve the %s in time; retry later", what))
	default:
		return internal("resolve the person", err)
	}
	p.cause = err
	return p
}
