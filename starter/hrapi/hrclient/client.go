// Package hrclient is a typed Go client of Offboard's HR API (package hrapi). Every call
// answers the API's own types; a failure the API reports is a *hrapi.Problem, the RFC 9457
// problem it sent, so callers match on its Status, Type and Errors.
package hrclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/webhook"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// maxAnswerBytes bounds what the client reads of one answer.
const maxAnswerBytes = 8 << 20

// Client calls the HR API as the bearer of one token.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client of the API at baseURL (such as http://localhost:8080) that sends token
// as its bearer token (empty sends none). A nil hc means http.DefaultClient.
func New(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimSuffix(baseURL, "/"), token: token, http: hc}
}

// Start asks for an offboarding (role hr). A redelivery of an HR event that already started a
// run answers that run with Existing set.
func (c *Client) Start(ctx context.Context, req hrapi.OffboardingRequest) (hrapi.StartResult, error) {
	var res hrapi.StartResult
	err := c.call(ctx, http.MethodPost, "/v1/offboardings", req, &res)
	return res, err
}

// List lists offboardings from Temporal visibility, newest first.
func (c *Client) List(ctx context.Context, q hrapi.ListQuery) (hrapi.ListPage, error) {
	v := url.Values{}
	for name, value := range map[string]string{"stage": q.Stage, "disposition": q.Disposition, "pageToken": q.PageToken} {
		if value != "" {
			v.Set(name, value)
		}
	}
	if q.PageSize != 0 {
		v.Set("pageSize", strconv.Itoa(q.PageSize))
	}
	path := "/v1/offboardings"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var page hrapi.ListPage
	err := c.call(ctx, http.MethodGet, path, nil, &page)
	return page, err
}

// Status is the status of the user's latest offboarding.
func (c *Client) Status(ctx context.Context, userID string) (workflows.Status, error) {
	var st workflows.Status
	err := c.call(ctx, http.MethodGet, offboarding(userID, ""), nil, &st)
	return st, err
}

// Approve approves the deletion as the token's approver and answers the status afterwards.
func (c *Client) Approve(ctx context.Context, userID, comment string) (workflows.Status, error) {
	return c.update(ctx, userID, "approvals", hrapi.DecisionRequest{Decision: "approve", Comment: comment})
}

// Reject rejects the deletion as the token's approver and answers the status afterwards.
func (c *Client) Reject(ctx context.Context, userID, comment string) (workflows.Status, error) {
	return c.update(ctx, userID, "approvals", hrapi.DecisionRequest{Decision: "reject", Comment: comment})
}

// Cancel cancels the offboarding (role hr); a user the run deactivated is restored.
func (c *Client) Cancel(ctx context.Context, userID, reason string) (workflows.Status, error) {
	return c.update(ctx, userID, workflows.UpdateCancel, hrapi.ControlRequest{Reason: reason})
}

// Hold places a legal hold (role hr): retention pauses.
func (c *Client) Hold(ctx context.Context, userID, reason string) (workflows.Status, error) {
	return c.update(ctx, userID, workflows.UpdateHold, hrapi.ControlRequest{Reason: reason})
}

// Release releases a legal hold (role hr).
func (c *Client) Release(ctx context.Context, userID, reason string) (workflows.Status, error) {
	return c.update(ctx, userID, workflows.UpdateRelease, hrapi.ControlRequest{Reason: reason})
}

// ExtendRetention moves the end of retention to until (role hr extends; an approver may also
// shorten it).
func (c *Client) ExtendRetention(ctx context.Context, userID string, until time.Time, reason string) (workflows.Status, error) {
	return c.update(ctx, userID, "retention", hrapi.RetentionRequest{Until: until.UTC().Format(time.RFC3339), Reason: reason})
}

// IssueCredential asks for a decision credential in the name of the token's identity, to send
// through Temporal (the operator CLI, the Temporal UI) or to follow as a link.
func (c *Client) IssueCredential(ctx context.Context, userID string, req hrapi.CredentialRequest) (hrapi.IssuedCredential, error) {
	var res hrapi.IssuedCredential
	err := c.call(ctx, http.MethodPost, offboarding(userID, "credentials"), req, &res)
	return res, err
}

// InspectDecision says what a decision link's credential decides, deciding nothing.
func (c *Client) InspectDecision(ctx context.Context, credential string) (hrapi.Decision, error) {
	var d hrapi.Decision
	err := c.call(ctx, http.MethodGet, hrapi.DecisionLink(credential), nil, &d)
	return d, err
}

// FollowDecision takes the decision of a link's credential, which is its only authentication.
func (c *Client) FollowDecision(ctx context.Context, credential string) (workflows.Status, error) {
	var st workflows.Status
	err := c.call(ctx, http.MethodPost, hrapi.DecisionLink(credential), nil, &st)
	return st, err
}

// Health checks that the API process answers.
func (c *Client) Health(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/healthz", nil, nil)
}

// Ready checks that the API can reach Temporal; a 503 problem says it cannot.
func (c *Client) Ready(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/readyz", nil, nil)
}

// OpenAPI fetches the API's OpenAPI document.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) { return c.page(ctx, "/openapi.yaml") }

// ProblemPage fetches the page (HTML) of a problem type: a Problem's Type is its path.
func (c *Client) ProblemPage(ctx context.Context, problemType string) ([]byte, error) {
	return c.page(ctx, problemType)
}

// page fetches the document at path as it is.
func (c *Client) page(ctx context.Context, path string) ([]byte, error) {
	var doc []byte
	err := c.call(ctx, http.MethodGet, path, nil, &doc)
	return doc, err
}

// offboarding is the path of the user's offboarding, or of one of its actions.
func offboarding(userID, action string) string { return resource("/v1/offboardings/", userID, action) }

// resource is the path of the resource id under prefix, or of one of its actions.
func resource(prefix, id, action string) string {
	p := prefix + url.PathEscape(id)
	if action != "" {
		p += "/" + action
	}
	return p
}

func (c *Client) update(ctx context.Context, userID, action string, body any) (workflows.Status, error) {
	var st workflows.Status
	err := c.call(ctx, http.MethodPost, offboarding(userID, action), body, &st)
	return st, err
}

// call sends body as JSON and decodes a 2xx answer into out: a *[]byte takes the raw body, nil
// discards it. Any other answer is a *hrapi.Problem.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	target := path
	path = hrapi.RedactPath(path)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode the body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+target, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, method, path, out)
}

// SendEvent posts an HR event, a structured CloudEvent as the HR system sends it (its JSON), to
// POST /v1/events, signed with secret as the delivery webhookID at the time of sending. It sends
// no bearer token: the signature is the event's authentication. A redelivery of an event that
// started a run answers that run with Existing set.
func (c *Client) SendEvent(ctx context.Context, cloudEvent []byte, secret webhook.Secret, webhookID string) (hrapi.StartResult, error) {
	const method, path = http.MethodPost, "/v1/events"
	var res hrapi.StartResult
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(cloudEvent))
	if err != nil {
		return res, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	webhook.Sign(req.Header, secret, webhookID, time.Now(), cloudEvent)
	err = c.send(req, method, path, &res)
	return res, err
}

// send sends req and decodes a 2xx answer into out as call does; method and the redacted path
// name the request in errors.
func (c *Client) send(req *http.Request, method, path string, out any) error {
	req.Header.Set("Accept", "application/json, application/problem+json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return problem(resp, raw)
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = raw
	default:
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
		}
	}
	return nil
}

// problem is the RFC 9457 problem of a failed answer. An answer that is not one (a proxy's
// error page, say) becomes a problem with the status, its text and the start of the body.
func problem(resp *http.Response, raw []byte) *hrapi.Problem {
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/problem+json" {
		var p hrapi.Problem
		if json.Unmarshal(raw, &p) == nil && p.Status != 0 {
			return &p
		}
	}
	detail := strings.TrimSpace(string(raw))
	if len(detail) > 200 {
		detail = detail[:200] + "…"
	}
	return &hrapi.Problem{Title: http.StatusText(resp.StatusCode), Status: resp.StatusCode, Detail: detail, Instance: hrapi.RedactPath(resp.Request.URL.Path)}
}
