package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
)

// approveByLink approves as alice through her approve link in the approval.requested
// notification the stack's receiver verified, as a mail client would POST it, then POSTs it
// again and requires the second use refused.
func (d *demo) approveByLink(ctx context.Context) error {
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, err := d.s.Receiver.Await(wait, d.res.WorkflowID, activities.EventApprovalRequested)
	if err != nil {
		return err
	}
	link, ok := a.Body.Link(IdentityAlice, credential.ActionApprove)
	if !ok {
		return fmt.Errorf("the approval.requested notification %s has no approve link for %s (%s)", a.ID, IdentityAlice, a.Body.LinksNote)
	}
	d.say("  [%6.1fs] approval.requested %s verified: %d link(s); %s's approve link expires %s",
		d.since(), a.ID, len(a.Body.Links), IdentityAlice, link.ExpiresAt.Format(time.RFC3339))
	code, err := postLink(ctx, link.URL)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("POST of %s's approve link answered %d, want 200", IdentityAlice, code)
	}
	d.say("  [%6.1fs] POST %s's approve link -> %d (approve)", d.since(), IdentityAlice, code)
	again, err := postLink(ctx, link.URL)
	if err != nil {
		return err
	}
	if again != http.StatusConflict {
		return fmt.Errorf("a second POST of the same link answered %d, want %d: a link decides once", again, http.StatusConflict)
	}
	d.say("  [%6.1fs] POST the same link again -> %d (refused: a link decides once)", d.since(), again)
	return nil
}

// postLink follows a link with a bodiless POST, as its only authentication is the credential in it.
func postLink(ctx context.Context, link string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, link, nil)
	if err != nil {
		return 0, fmt.Errorf("build the link's POST: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // url.Error repeats the URL, and so the credential
	}
	if err != nil {
		return 0, fmt.Errorf("POST the approve link: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
