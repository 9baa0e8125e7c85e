package hrapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

// Issuer names the HR API in the credentials it signs.
const Issuer = "offboard-hrapi"

// actTTL is the life of a credential the API issues and submits itself at once.
const actTTL = 5 * time.Minute

// CredentialRequest is the body of POST /v1/offboardings/{userId}/credentials: the decision the
// caller wants to take, to paste into the Temporal UI, send with the operator CLI or follow as
// a link. Until is extendRetention's new end (RFC 3339); TTL is ISO-8601 (default PT15M, at most
// P1D).
type CredentialRequest struct {
	Action  string `json:"action"`
	Comment string `json:"comment,omitempty"`
	Until   string `json:"until,omitempty"`
	TTL     string `json:"ttl,omitempty"`
}

// IssuedCredential is a decision credential and the ways to use it.
type IssuedCredential struct {
	Credential string    `json:"credential"`
	Action     string    `json:"action"`
	Identity   string    `json:"identity"`
	Role       string    `json:"role"`
	WorkflowID string    `json:"workflowId"`
	RunID      string    `json:"runId"`
	ExpiresAt  time.Time `json:"expiresAt"`
	// Link decides when POSTed, with no other authentication: the credential is in it.
	Link string `json:"link"`
	// Message is what to send as an update or a signal: its name and its input.
	Message CredentialMessage `json:"message"`
}

// CredentialMessage names the update or signal that carries a credential, and its input.
type CredentialMessage struct {
	Name  string                   `json:"name"`
	Input workflows.SignedDecision `json:"input"`
}

// Decision is what a credential decides, as GET /v1/decisions/{credential} shows it before
// anyone follows the link.
type Decision struct {
	Action     string    `json:"action"`
	Identity   string    `json:"identity"`
	Role       string    `json:"role"`
	WorkflowID string    `json:"workflowId"`
	UserID     string    `json:"userId"`
	Comment    string    `json:"comment,omitempty"`
	Until      time.Time `json:"until,omitzero"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

// actions are the decisions a credential can carry, by name.
var actions = credential.Actions()

// Issue signs a credential for who to take the decision in req on the user's running
// offboarding. The role must be allowed to take the action (workflows.RolesFor).
func (s *Service) Issue(ctx context.Context, userID string, who Principal, req CredentialRequest) (IssuedCredential, error) {
	if s.Signer == nil {
		return IssuedCredential{}, newProblem(TypeNoSigningKey, "this HR API has no decision signing key, so it cannot issue credentials; configure one")
	}
	c, err := s.claimsFor(who, req)
	if err != nil {
		return IssuedCredential{}, err
	}
	c.WorkflowID, c.RunID, err = s.running(ctx, userID, req.Action)
	if err != nil {
		return IssuedCredential{}, err
	}
	tok, err := s.Signer.Issue(c)
	if err != nil {
		return IssuedCredential{}, invalid("the credential cannot be issued: " + err.Error())
	}
	return IssuedCredential{
		Credential: tok, Action: string(c.Action), Identity: c.Identity, Role: c.Role,
		WorkflowID: c.WorkflowID, RunID: c.RunID, ExpiresAt: c.ExpiresAt,
		Link:    DecisionLink(tok),
		Message: CredentialMessage{Name: string(c.Action), Input: workflows.SignedDecision{Credential: tok}},
	}, nil
}

// claimsFor checks req against who's role and builds the claims, all but the run's.
func (s *Service) claimsFor(who Principal, req CredentialRequest) (credential.Claims, error) {
	action := credential.Action(req.Action)
	var fields fieldErrors
	switch {
	case !slices.Contains(actions, action):
		fields.add("action", "%q is unknown: use one of %v", clip(req.Action), actions)
	case !slices.Contains(workflows.RolesFor(action), string(who.Role)):
		return credential.Claims{}, newProblem(TypeForbidden, fmt.Sprintf("role %q may not %s; it needs %v", who.Role, action, workflows.RolesFor(action)))
	}
	now := s.now().Truncate(time.Second) // credentials hold whole seconds
	c := credential.Claims{Issuer: Issuer, Identity: who.Identity, Role: string(who.Role), Action: action,
		Comment: req.Comment, IssuedAt: now, ExpiresAt: now.Add(credential.DefaultTTL)}
	if req.TTL != "" {
		d, err := workflows.ParseDuration(req.TTL)
		switch {
		case err != nil:
			fields.add("ttl", "%s", err.Error())
		case time.Duration(d) <= 0 || time.Duration(d) > credential.MaxTTL:
			fields.add("ttl", "must be positive and at most %s", workflows.Duration(credential.MaxTTL))
		default:
			c.ExpiresAt = now.Add(time.Duration(d))
		}
	}
	switch {
	case action == credential.ActionRetention && req.Until == "":
		fields.add("until", "is required: the new end of retention (RFC 3339)")
	case action != credential.ActionRetention && req.Until != "":
		fields.add("until", "applies only to extendRetention")
	case req.Until != "":
		c.Until = fields.time("until", req.Until, "2030-01-31T00:00:00Z")
	}
	if len(fields) > 0 {
		return credential.Claims{}, invalid("the credential request is invalid", fields...)
	}
	return c, nil
}

// running returns the workflow and first run IDs of the user's offboarding, which must be
// running for action to apply.
func (s *Service) running(ctx context.Context, userID, action string) (string, string, error) {
	if p := checkUserID(userID); p != nil {
		return "", "", p
	}
	id := workflows.WorkflowID(userID)
	info, err := s.stillRunning(ctx, id, action)
	if err != nil {
		return "", "", err
	}
	run := info.GetFirstRunId()
	if run == "" {
		run = info.GetExecution().GetRunId()
	}
	return id, run, nil
}

// Act issues a short-lived credential for who and submits it at once: what the HR API's
// decision routes do.
func (s *Service) Act(ctx context.Context, userID string, who Principal, req CredentialRequest) (workflows.Status, error) {
	if req.TTL == "" {
		req.TTL = workflows.Duration(actTTL).String()
	}
	issued, err := s.Issue(ctx, userID, who, req)
	if err != nil {
		return workflows.Status{}, err
	}
	return s.update(ctx, userID, issued.Action, issued.Message.Input)
}

// Submit sends a credential someone holds (pasted into the CLI, or from a link after Inspect)
// as the update action of the user's offboarding. The run checks it and counts it once.
func (s *Service) Submit(ctx context.Context, userID, action, tok string) (workflows.Status, error) {
	return s.update(ctx, userID, action, workflows.SignedDecision{Credential: tok})
}

// Inspect verifies a credential against the policy's keys and says what it decides.
func (s *Service) Inspect(tok string) (Decision, error) {
	keys, err := credential.ParseKeySet(s.Policy.DecisionKeys)
	if err != nil {
		return Decision{}, internal("read the policy's decision keys", err)
	}
	c, err := keys.Verify(tok, s.now())
	if err != nil {
		var ce *credential.Error
		detail := "the credential is not valid"
		if errors.As(err, &ce) {
			detail = "the credential is refused (" + ce.Reason + "): " + ce.Detail
		}
		return Decision{}, newProblem(TypeUnauthorized, detail)
	}
	userID, ok := workflows.UserIDFromWorkflowID(c.WorkflowID)
	if !ok {
		return Decision{}, newProblem(TypeUnauthorized, "the credential names no offboarding")
	}
	return Decision{Action: string(c.Action), Identity: c.Identity, Role: c.Role, WorkflowID: c.WorkflowID, UserID: userID,
		Comment: c.Comment, Until: c.Until, ExpiresAt: c.ExpiresAt}, nil
}

// signStart gives req the start credential that proves its requester to the run: the run
// refuses a request without one, since anyone who reaches Temporal could name any requester.
func (s *Service) signStart(req *workflows.Request) error {
	if s.Signer == nil {
		return newProblem(TypeNoSigningKey, "this service has no decision signing key, so it cannot prove who asks: start offboardings through the HR API")
	}
	t := s.now()
	tok, err := s.Signer.Issue(credential.Claims{Identity: req.RequestedBy, Role: credential.RoleHR, Action: credential.ActionStart,
		WorkflowID: workflows.WorkflowID(req.UserID), Request: workflows.RequestDigest(*req), IssuedAt: t, ExpiresAt: t.Add(actTTL)})
	if err != nil {
		return invalid("the start cannot be signed: " + err.Error())
	}
	req.Credential = tok
	return nil
}
