package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/pace"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
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
	// Access is the user's access before the run and once the revoking stage ended.
	Access *AccessProof
}

// ErrNoDemoUser means every seeded active user with conversations already has an offboarding.
var ErrNoDemoUser = errors.New("every seeded active user with conversations already has an offboarding: " +
	"start the demo with a fresh --data-dir, or a different --seed")

// RunDemo runs one delete offboarding through the HR API of a started stack: it logs the user
// in, requests a delete with a short retention as dev-hr, prints each stage as it happens,
// shows the user's roles, queues and station before and after the revoking stage and their
// token refused after it, approves as alice (through the approve link of the approval.requested
// notification when the stack receives its own, showing a second use refused), and checks the outcome, the export bundle and the
// proof that the history is still linked. Any deviation is an error.
func RunDemo(ctx context.Context, s *Stack, o DemoOptions) (*DemoResult, error) {
	o = o.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	d := &demo{
		s: s, o: o,
		hr:      hrclient.New(s.APIURL, TokenHR, nil),
		alice:   hrclient.New(s.APIURL, TokenAlice, nil),
		auditor: hrclient.New(s.APIURL, TokenAuditor, nil),
	}
	// Each step needs the ones before it; res stays nil until the offboarding has started.
	for _, step := range []func(context.Context) error{d.request, d.follow, d.final, d.checkBundle, d.checkHistory} {
		if err := step(ctx); err != nil {
			return d.res, err
		}
	}
	return d.res, nil
}

func (o DemoOptions) withDefaults() DemoOptions {
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
	return o
}

// demo is one run of the demo: the HR API as each dev role, and what it found so far.
type demo struct {
	s                  *Stack
	o                  DemoOptions
	hr, alice, auditor *hrclient.Client
	userID             string
	res                *DemoResult
	begin              time.Time
	// token is the user's own token, issued before the run; proof is what was seen of their access.
	token string
	proof *AccessProof
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.o.Out, format+"\n", args...) }

// since is the time into the run, for the narration.
func (d *demo) since() float64 { return time.Since(d.begin).Seconds() }

// request picks the user and asks for the offboarding as HR.
func (d *demo) request(ctx context.Context) error {
	d.userID = d.o.UserID
	if d.userID == "" {
		u, err := pickUser(ctx, d.auditor, d.s.Emulator.SeedUsers())
		if err != nil {
			return err
		}
		d.userID = u.ID
		d.say("\n== Demo: offboarding seeded user %s (%d conversations), disposition delete, retention %s", u.ID, u.Conversations, d.o.Retention)
	} else {
		d.say("\n== Demo: offboarding user %s, disposition delete, retention %s", d.userID, d.o.Retention)
	}
	if err := d.issueToken(ctx); err != nil {
		return err
	}
	started, err := d.start(ctx)
	if err != nil {
		return err
	}
	d.res = &DemoResult{UserID: d.userID, WorkflowID: started.WorkflowID, RunID: started.RunID, Access: d.proof}
	d.res.RunURL = d.s.Temporal.RunURL(d.res.WorkflowID, d.res.RunID)
	if d.res.RunURL != "" {
		d.say("Follow it in the Temporal UI: %s", d.res.RunURL)
	}
	return nil
}

// follow prints the stages as they happen, approving as alice when asked, until the outcome.
func (d *demo) follow(ctx context.Context) error {
	d.begin = time.Now()
	printed, approved := 0, false
	for {
		st, err := d.auditor.Status(ctx, d.userID)
		if err != nil {
			return fmt.Errorf("GET /v1/offboardings/%s: %w", d.userID, err)
		}
		printed = d.narrate(st.History, printed)
		// Approval waits for the demo, so access is always seen ended before deletion.
		if !st.AccessEndedAt.IsZero() && d.proof.After.UserID == "" {
			if err := d.checkAccessEnded(ctx); err != nil {
				return err
			}
		}
		if st.Stage == workflows.StageAwaitingApproval && !approved {
			if err := d.approve(ctx); err != nil {
				return err
			}
			approved = true
		}
		if st.Stage.Final() || st.Outcome != "" {
			d.res.Status = st
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the offboarding did not finish in %s (last stage %s): %w", d.o.Timeout, st.Stage, ctx.Err())
		case <-d.s.Done():
			return fmt.Errorf("the stack stopped during the demo (last stage %s): %w", st.Stage, d.s.Stop())
		case <-time.After(d.o.Poll):
		}
	}
}

// narrate prints the transitions after the first printed ones and returns how many it has
// printed in all.
func (d *demo) narrate(history []activities.Transition, printed int) int {
	for ; printed < len(history); printed++ {
		t := history[printed]
		line := fmt.Sprintf("  [%6.1fs] %-18s", d.since(), t.Stage)
		if t.Detail != "" {
			line += " " + t.Detail
		}
		d.say("%s", line)
	}
	return printed
}

func (d *demo) approve(ctx context.Context) error {
	if err := d.forge(ctx); err != nil {
		return err
	}
	if d.s.Receiver != nil {
		return d.approveByLink(ctx)
	}
	if _, err := d.alice.Approve(ctx, d.userID, "approved in the devstack demo"); err != nil {
		return fmt.Errorf("POST /v1/offboardings/%s/approvals as %s: %w", d.userID, IdentityAlice, err)
	}
	d.say("  [%6.1fs] POST /v1/offboardings/%s/approvals as %s -> %d (approve)", d.since(), d.userID, IdentityAlice, http.StatusOK)
	return nil
}

// forge sends the approval anyone who reaches Temporal could send, naming alice, and requires
// the run to ignore it: only a credential from the HR API counts.
func (d *demo) forge(ctx context.Context) error {
	if d.s.Policy.UnsignedDecisions {
		return nil
	}
	forged := workflows.DecisionInput{Approver: IdentityAlice, Comment: "forged"}
	if err := d.s.Client.SignalWorkflow(ctx, d.res.WorkflowID, "", workflows.UpdateApprove, forged); err != nil {
		return fmt.Errorf("signal a forged approval: %w", err)
	}
	for {
		st, err := d.auditor.Status(ctx, d.userID)
		if err != nil {
			return err
		}
		if ig := st.Ignored; ig != nil && ig.Total > 0 {
			last := ig.Last[len(ig.Last)-1]
			d.say("  [%6.1fs] approve signal naming %s without a credential -> ignored (%s), %d decisions", d.since(), IdentityAlice, last.Reason, len(st.Decisions))
			return nil
		}
		if err := pace.Sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("the forged approval was never recorded as ignored: %w", err)
		}
	}
}

// final waits for the run to close and requires it deleted. The outcome shows just before the
// audit record is written, so the final status is read once the run has closed.
func (d *demo) final(ctx context.Context) error {
	if err := d.s.Client.GetWorkflow(ctx, d.res.WorkflowID, d.res.RunID).Get(ctx, nil); err != nil {
		return fmt.Errorf("the offboarding run failed: %w", err)
	}
	st, err := d.auditor.Status(ctx, d.userID)
	if err != nil {
		return fmt.Errorf("read the final status: %w", err)
	}
	d.res.Status = st
	outcome := st.Outcome
	if outcome == "" {
		outcome = st.Stage
	}
	if outcome != workflows.OutcomeDeleted {
		return fmt.Errorf("the offboarding ended %s, want deleted; errors: %s", outcome, strings.Join(st.Notes, "; "))
	}
	if d.proof.After.UserID == "" {
		return errors.New("the run ended without the demo seeing access end (no accessEndedAt in the status)")
	}
	d.say("Outcome: %s in %.1fs", outcome, d.since())
	return nil
}

// checkBundle verifies the bundle from the store, as an auditor would.
func (d *demo) checkBundle(ctx context.Context) error {
	res := d.res
	ex := res.Status.Export
	if ex == nil {
		return errors.New("the status has no export summary")
	}
	res.BundleURL = strings.TrimSuffix(d.s.ExportURL, "/") + "/" + ex.Bundle
	res.BundleDir = filepath.Join(d.s.ExportDir, filepath.FromSlash(ex.Bundle))
	d.say("\nBundle:        %s", res.BundleDir)
	d.say("Manifest:      %d part(s), %d conversation(s), %d bytes, sha256 %s", ex.Parts, ex.Conversations, ex.Bytes, ex.ManifestSHA256)
	var err error
	res.Report, err = bundle.VerifyURL(ctx, res.BundleURL)
	if err != nil {
		return fmt.Errorf("verify the bundle %s: %w", res.BundleURL, err)
	}
	if !res.Report.OK() {
		return fmt.Errorf("bundle verification found problems: %s", strings.Join(res.Report.Problems, "; "))
	}
	if res.Report.Conversations != ex.Conversations || res.Report.Parts != ex.Parts {
		return fmt.Errorf("the store holds %d part(s) and %d conversation(s), the status says %d and %d",
			res.Report.Parts, res.Report.Conversations, ex.Parts, ex.Conversations)
	}
	d.say("Verification:  OK (%d part(s), %d conversation(s), every sha256 and the manifest digest match)", res.Report.Parts, res.Report.Conversations)
	return nil
}

// checkHistory requires the proof that the history is still linked to the deleted user, and
// the audit record.
func (d *demo) checkHistory(context.Context) error {
	st := d.res.Status
	v := st.Verification
	if v == nil {
		return errors.New("the status has no verification")
	}
	if !v.Linked || v.Count != v.ManifestCount || v.ManifestCount != st.Export.Conversations {
		return fmt.Errorf("history not proven linked: user %s, re-count %d, manifest %d, export %d, linked %t",
			v.State, v.Count, v.ManifestCount, st.Export.Conversations, v.Linked)
	}
	d.say("History:       still linked: user is %s, re-count %d == manifest %d", v.State, v.Count, v.ManifestCount)
	if st.Audit == nil {
		return errors.New("the run closed without an audit record")
	}
	d.say("Audit record:  %s (sha256 %s)", st.Audit.URL, st.Audit.SHA256)
	if d.res.RunURL != "" {
		d.say("Temporal UI:   %s", d.res.RunURL)
	}
	d.say("Verify again:  go run ./starter verify-bundle %s", d.res.BundleURL)
	return nil
}

// pickUser returns the first active seeded user with conversations and no offboarding, fewest
// conversations first among the first candidates, to keep the demo short.
func pickUser(ctx context.Context, auditor *hrclient.Client, users []emulator.UserSummary) (emulator.UserSummary, error) {
	for _, u := range users {
		if u.State != "active" || u.Conversations == 0 {
			continue
		}
		_, err := auditor.Status(ctx, u.ID)
		var p *hrapi.Problem
		switch {
		case err == nil:
			continue
		case errors.As(err, &p) && p.Status == http.StatusNotFound:
			return u, nil
		case errors.As(err, &p):
			return u, fmt.Errorf("GET /v1/offboardings/%s answered %d, want 200 or 404: %w", u.ID, p.Status, err)
		default:
			return u, fmt.Errorf("look up an existing offboarding of %s: %w", u.ID, err)
		}
	}
	return emulator.UserSummary{}, ErrNoDemoUser
}
