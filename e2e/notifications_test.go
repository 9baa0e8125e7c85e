package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/devstack/stack"
	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/internal/credential"
	webhooks "github.com/offboard/offboard/internal/webhook"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// signedNotification waits for the worker's notification of event about workflowID, verifies its
// signature with the devstack's notification secret over the bytes received, and decodes it.
func signedNotification(t *testing.T, workflowID, event string) activities.NotificationBody {
	t.Helper()
	secret, err := webhooks.ParseSecret(stack.DevWebhookSecret)
	require.NoError(t, err)
	verifier, err := webhooks.NewVerifier([]webhooks.Secret{secret}, 0, nil)
	require.NoError(t, err)
	var found activities.NotificationBody
	require.Eventually(t, func() bool {
		hooks.mu.Lock()
		defer hooks.mu.Unlock()
		for _, d := range hooks.deliveries {
			var b activities.NotificationBody
			if json.Unmarshal(d.body, &b) != nil || b.WorkflowID != workflowID || b.Event != event {
				continue
			}
			id, err := verifier.Verify(d.header, d.body)
			require.NoError(t, err, "the %s notification verifies with the notification secret", event)
			require.Equal(t, b.EventID, id, "webhook-id is the body's event ID")
			found = b
			return true
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "no %s notification of %s", event, workflowID)
	return found
}

// follow POSTs a link as a mail client would, with nothing but the link.
func follow(t *testing.T, link string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, link, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func linkFor(t *testing.T, b activities.NotificationBody, who string, action credential.Action) activities.ApprovalLink {
	t.Helper()
	l, ok := b.Link(who, action)
	require.True(t, ok, "the %s notification has no %s link for %s (note: %s)", b.Event, action, who, b.LinksNote)
	return l
}

// A real worker's approval.requested notification carries links that approve a delete, each once.
func Test_GivenTheLinksOfARealNotification_ShouldApproveADeleteOnceEach(t *testing.T) {
	t.Parallel()
	u := users.take(t)
	wfID, _ := startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "delete", Retention: retention, Reason: "left", HREventID: "e2e-notification-links"})
	waitStage(t, u.ID, workflows.StageAwaitingApproval)

	asked := signedNotification(t, wfID, activities.EventApprovalRequested)
	require.Len(t, asked.Links, 4, "an approve and a reject link for each of alice and bob: %s", asked.LinksNote)
	alice := linkFor(t, asked, "alice", credential.ActionApprove)
	assert.True(t, strings.HasPrefix(alice.URL, stk.APIURL+"/v1/decisions/"), alice.URL)
	assert.WithinDuration(t, time.Now().Add(activities.DefaultLinkTTL), alice.ExpiresAt, time.Minute)

	code, body := follow(t, alice.URL)
	require.Equal(t, http.StatusOK, code, body)
	st := status(t, u.ID)
	require.Len(t, st.Decisions, 1)
	assert.Equal(t, "alice", st.Decisions[0].Approver, "the link decides as the approver it was made for")
	code, body = follow(t, alice.URL)
	assert.Equal(t, http.StatusConflict, code, "a link decides once: %s", body)
	assert.NotContains(t, body, alice.URL[len(alice.URL)-20:], "a problem never echoes the credential")

	code, body = follow(t, linkFor(t, asked, "bob", credential.ActionApprove).URL)
	require.Equal(t, http.StatusOK, code, body)
	st = waitStage(t, u.ID, workflows.OutcomeDeleted)
	assert.Len(t, st.Decisions, 2)
	done := signedNotification(t, wfID, "offboarding.completed")
	assert.Empty(t, done.Links)
	assert.NotEqual(t, asked.EventID, done.EventID)

	// The links were made in the activity: a link never followed is nowhere in the history, not
	// even under its encryption.
	history := decodedHistory(t, wfID)
	for _, who := range []string{"alice", "bob"} {
		_, tok, _ := strings.Cut(linkFor(t, asked, who, credential.ActionReject).URL, "/v1/decisions/")
		assert.False(t, bytes.Contains(history, []byte(tok)), "%s's unused reject link is in the history", who)
	}
}

// decodedHistory is every payload of the workflow's history, decrypted with the stack's keyring,
// so that what is checked is what anyone with the keys could read.
func decodedHistory(t *testing.T, workflowID string) []byte {
	t.Helper()
	keys, err := codec.LoadKeyring(stk.PayloadKeysPath, "")
	require.NoError(t, err)
	_, payloads := rawHistory(t, workflowID)
	plain, err := codec.NewCodec(keys).Decode(payloads)
	require.NoError(t, err)
	var out []byte
	for _, p := range plain {
		out = append(out, p.GetData()...)
	}
	require.NotEmpty(t, out)
	return out
}
