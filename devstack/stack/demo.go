package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/workflows"
)

// DemoOptions configures RunDemo. The zero value is the documented demo.
type DemoOptions struct {
	// Out receives the narration; nil discards it.
	Out io.Writer
	// UserID forces the user; empty picks a seeded active user with conversations and no
	// offboarding yet.
	UserID string
	// Retention of the delete (default PT15S).
	Retention string
	// Timeout bounds the whole demo (default 5 minutes).
	Timeout time.Duration
	// Poll is the status poll interval (default 250 ms).
	Poll time.Duration
}

// DemoResult is what the demo did and found.
type DemoResult struct {
	UserID     string
	WorkflowID string
	RunID      string
	// Status is the final status query answer.
	Status workflows.Status
	// BundleURL and BundleDir locate the export bundle.
	BundleURL, BundleDir string
	// Report is the bundle verification's result.
	Report bundle.Report
	// RunURL is the run's page in the Temporal Web UI (empty without UI).
	RunURL string
}

// ErrNoDemoUser means every seeded active user with conversations already has an offboarding.
var ErrNoDemoUser = errors.New("every seeded active user with conversations already has an offboarding: " +
	"start the demo with a fresh --data-dir, or a different --seed")

// RunDemo runs one delete offboarding through the HR API of a started stack: it requests a
// delete with a short retention as dev-hr, prints each stage as it happens, approves as alice,
// and checks the outcome, the export bundle and the proof that the history is still linked.
// Any deviation is an error.
func RunDemo(ctx context.Context, s *Stack, o DemoOptions) (*DemoResult, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Retention == "" {
		o.Retention = "PT15S"
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	api := &apiClient{base: s.APIURL}
	say := func(format string, args ...any) { fmt.Fprintf(o.Out, format+"\n", args...) }

	userID := o.UserID
	if userID == "" {
		u, err := pickUser(ctx, api, s.Emulator.SeedUsers())
		if err != nil {
			return nil, err
		}
		userID = u.ID
		say("\n== Demo: offboarding seeded user %s (%d conversations), disposition delete, retention %s", u.ID, u.Conversations, o.Retention)
	} else {
		say("\n== Demo: offboarding user %s, disposition delete, retention %s", userID, o.Retention)
	}

	// 1. HR asks for the offboarding.
	var started struct {
		WorkflowID string `json:"workflowId"`
		RunID      string `json:"runId"`
	}
	body := map[string]any{
		"userId": userID, "disposition": workflows.DispositionDelete, "retention": o.Retention,
		"reason": "devstack demo", "hrEventId": "devstack-demo-" + userID,
	}
	code, err := api.do(ctx, http.MethodPost, "/v1/offboardings", TokenHR, body, &started)
	if err != nil {
		return nil, fmt.Errorf("POST /v1/offboardings as %s: %w", IdentityHR, err)
	}
	if code != http.StatusAccepted {
		return nil, fmt.Errorf("POST /v1/offboardings answered %d, want 202 (a new run)", code)
	}
	res := &DemoResult{UserID: userID, WorkflowID: started.WorkflowID, RunID: started.RunID}
	res.RunURL = s.Temporal.RunURL(res.WorkflowID, res.RunID)
	say("POST /v1/offboardings as %s -> 202 %s run %s", IdentityHR, res.WorkflowID, res.RunID)
	if res.RunURL != "" {
		say("Follow it in the Temporal UI: %s", res.RunURL)
	}

	// 2. Follow the stages, approving when asked.
	begin := time.Now()
	printed, approved := 0, false
	for {
		var st workflows.Status
		code, err := api.do(ctx, http.MethodGet, "/v1/offboardings/"+userID, TokenAuditor, nil, &st)
		switch {
		case err != nil:
			return res, fmt.Errorf("GET /v1/offboardings/%s: %w", userID, err)
		case code != http.StatusOK:
			return res, fmt.Errorf("GET /v1/offboardings/%s answered %d, want 200", userID, code)
		}
		for ; printed < len(st.History); printed++ {
			t := st.History[printed]
			line := fmt.Sprintf("  [%6.1fs] %-18s", time.Since(begin).Seconds(), t.Stage)
			if t.Detail != "" {
				line += " " + t.Detail
			}
			say("%s", line)
		}
		if st.Stage == workflows.StageAwaitingApproval && !approved {
			var ack json.RawMessage
			code, err := api.do(ctx, http.MethodPost, "/v1/offboardings/"+userID+"/approvals", TokenAlice,
				map[string]string{"decision": "approve", "comment": "approved in the devstack demo"}, &ack)
			if err != nil {
				return res, fmt.Errorf("approve as %s: %w", IdentityAlice, err)
			}
			if code/100 != 2 {
				return res, fmt.Errorf("POST /v1/offboardings/%s/approvals as %s answered %d: %s", userID, IdentityAlice, code, ack)
			}
			approved = true
			say("  [%6.1fs] POST /v1/offboardings/%s/approvals as %s -> %d (approve)", time.Since(begin).Seconds(), userID, IdentityAlice, code)
		}
		if st.Stage.Final() || st.Outcome != "" {
			res.Status = st
			break
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("the offboarding did not finish in %s (last stage %s): %w", o.Timeout, st.Stage, ctx.Err())
		case <-s.Done():
			return res, fmt.Errorf("the stack stopped during the demo (last stage %s): %w", st.Stage, s.Stop())
		case <-time.After(o.Poll):
		}
	}
	// The outcome shows just before the audit record is written: wait for the run to close,
	// then read the final status.
	if err := s.Client.GetWorkflow(ctx, res.WorkflowID, res.RunID).Get(ctx, nil); err != nil {
		return res, fmt.Errorf("the offboarding run failed: %w", err)
	}
	if code, err := api.do(ctx, http.MethodGet, "/v1/offboardings/"+userID, TokenAuditor, nil, &res.Status); err != nil || code != http.StatusOK {
		return res, fmt.Errorf("read the final status: HTTP %d: %v", code, err)
	}
	st := res.Status
	outcome := st.Outcome
	if outcome == "" {
		outcome = st.Stage
	}
	if outcome != workflows.OutcomeDeleted {
		return res, fmt.Errorf("the offboarding ended %s, want deleted; errors: %s", outcome, strings.Join(st.Notes, "; "))
	}
	say("Outcome: %s in %.1fs", outcome, time.Since(begin).Seconds())

	// 3. The bundle, verified from the store as an auditor would.
	if st.Export == nil {
		return res, errors.New("the status has no export summary")
	}
	ex := st.Export
	res.BundleURL = strings.TrimSuffix(s.ExportURL, "/") + "/" + ex.Bundle
	res.BundleDir = filepath.Join(s.ExportDir, filepath.FromSlash(ex.Bundle))
	say("\nBundle:        %s", res.BundleDir)
	say("Manifest:      %d part(s), %d conversation(s), %d bytes, sha256 %s", ex.Parts, ex.Conversations, ex.Bytes, ex.ManifestSHA256)
	res.Report, err = bundle.VerifyURL(ctx, res.BundleURL)
	if err != nil {
		return res, fmt.Errorf("verify the bundle %s: %w", res.BundleURL, err)
	}
	if !res.Report.OK() {
		return res, fmt.Errorf("bundle verification found problems: %s", strings.Join(res.Report.Problems, "; "))
	}
	if res.Report.Conversations != ex.Conversations || res.Report.Parts != ex.Parts {
		return res, fmt.Errorf("the store holds %d part(s) and %d conversation(s), the status says %d and %d",
			res.Report.Parts, res.Report.Conversations, ex.Parts, ex.Conversations)
	}
	say("Verification:  OK (%d part(s), %d conversation(s), every sha256 and the manifest digest match)", res.Report.Parts, res.Report.Conversations)

	// 4. The history is still linked to the deleted user.
	v := st.Verification
	if v == nil {
		return res, errors.New("the status has no verification")
	}
	if !v.Linked || v.Count != v.ManifestCount || v.ManifestCount != ex.Conversations {
		return res, fmt.Errorf("history not proven linked: user %s, re-count %d, manifest %d, export %d, linked %t",
			v.State, v.Count, v.ManifestCount, ex.Conversations, v.Linked)
	}
	say("History:       still linked: user is %s, re-count %d == manifest %d", v.State, v.Count, v.ManifestCount)
	if st.Audit == nil {
		return res, errors.New("the run closed without an audit record")
	}
	say("Audit record:  %s (sha256 %s)", st.Audit.URL, st.Audit.SHA256)
	if res.RunURL != "" {
		say("Temporal UI:   %s", res.RunURL)
	}
	say("Verify again:  go run ./starter verify-bundle %s", res.BundleURL)
	return res, nil
}

// pickUser returns the first active seeded user with conversations and no offboarding, fewest
// conversations first among the first candidates, to keep the demo short.
func pickUser(ctx context.Context, api *apiClient, users []emulator.UserSummary) (emulator.UserSummary, error) {
	for _, u := range users {
		if u.State != "active" || u.Conversations == 0 {
			continue
		}
		code, err := api.do(ctx, http.MethodGet, "/v1/offboardings/"+u.ID, TokenAuditor, nil, nil)
		if err != nil {
			return u, fmt.Errorf("look up an existing offboarding of %s: %w", u.ID, err)
		}
		switch code {
		case http.StatusNotFound:
			return u, nil
		case http.StatusOK:
			continue
		default:
			return u, fmt.Errorf("GET /v1/offboardings/%s answered %d, want 200 or 404", u.ID, code)
		}
	}
	return emulator.UserSummary{}, ErrNoDemoUser
}

// apiClient calls the HR API with a bearer token.
type apiClient struct {
	base string
}

// do sends body as JSON and decodes a 2xx answer into out (when not nil). Non-2xx answers are
// returned as their status code with a nil error, so callers can assert on them; out then holds
// the raw problem document if it is a *json.RawMessage.
func (a *apiClient) do(ctx context.Context, method, path, token string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		if r, ok := out.(*json.RawMessage); ok {
			*r = raw
		}
		return resp.StatusCode, nil
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode the answer of %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}
