package activities_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/webhook"
)

// delivery is one POST the receiver got, as sent.
type delivery struct {
	body    []byte
	headers http.Header
}

// decoded is the delivery's body.
func (d delivery) decoded(t *testing.T) activities.NotificationBody {
	t.Helper()
	var b activities.NotificationBody
	require.NoError(t, json.Unmarshal(d.body, &b))
	return b
}

// receiver records each delivery and answers status, or fail for the first failFirst ones.
type receiver struct {
	mu         sync.Mutex
	status     int
	failFirst  int
	deliveries []delivery
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := io.ReadAll(req.Body)
	r.deliveries = append(r.deliveries, delivery{body: b, headers: req.Header.Clone()})
	if len(r.deliveries) <= r.failFirst {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	w.WriteHeader(r.status)
}

func (r *receiver) got() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.deliveries...)
}

func secret(t *testing.T, b byte) webhook.Secret {
	t.Helper()
	s, err := webhook.ParseSecret("whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)))
	require.NoError(t, err)
	return s
}

var linkSigner = func() *credential.Signer {
	s, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize)), activities.WorkerIssuer)
	if err != nil {
		panic(err)
	}
	return s
}()

const publicAPI = "https://hr.example.com/offboard"

// notifying is a harness whose activities post to a receiver with a webhook secret and links.
func notifying(t *testing.T) (*harness, *receiver) {
	t.Helper()
	h := dev(t)
	rcv := &receiver{status: http.StatusNoContent}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	h.a.WebhookURL = srv.URL + "/hooks/SECRET-TOKEN"
	h.a.WebhookSecrets = []webhook.Secret{secret(t, 1), secret(t, 2)}
	h.a.Links = activities.Links{Signer: linkSigner, PublicAPIURL: publicAPI + "/", TTL: 2 * time.Hour}
	return h, rcv
}

func requested() activities.Notification {
	return activities.Notification{Event: activities.EventApprovalRequested, WorkflowID: "offboarding-u1", UserID: "u1",
		Stage: "awaiting-approval", Message: "waiting for 1 approval", Recipients: []string{"Alice", "bob"},
		FirstRunID: "run-1", LinksFor: []string{"Alice", "bob"}}
}

func Test_GivenAWebhook_ShouldPostTheEventAndClassifyItsAnswerWithoutLeakingItsPath(t *testing.T) {
	h, rcv := notifying(t)
	n := activities.Notification{Event: "offboarding.completed", WorkflowID: "offboarding-u1", UserID: "u1",
		Stage: "deleted", Message: "deleted", Recipients: []string{"alice"}}
	url := h.a.WebhookURL

	// No webhook: nothing is sent.
	h.a.WebhookURL = ""
	require.NoError(t, run(t, h, nil, h.a.Notify, n))
	assert.Empty(t, rcv.got())

	h.a.WebhookURL = url
	require.NoError(t, run(t, h, nil, h.a.Notify, n))
	require.Len(t, rcv.got(), 1)
	got := rcv.got()[0]
	want := n
	want.At = clock
	body := got.decoded(t)
	assert.Equal(t, want, body.Notification)
	assert.Empty(t, body.Links, "only approval notifications carry links")
	assert.Empty(t, body.LinksNote)
	assert.Equal(t, "application/json", got.headers.Get("Content-Type"))
	assert.Equal(t, body.EventID, got.headers.Get("Idempotency-Key"), "the Idempotency-Key is kept, as the event ID")

	rcv.status = http.StatusBadGateway
	ae := appError(t, run(t, h, nil, h.a.Notify, n), activities.ErrWebhookUnavailable, true)
	assert.NotContains(t, ae.Error(), "SECRET-TOKEN")

	rcv.status = http.StatusBadRequest
	ae = appError(t, run(t, h, nil, h.a.Notify, n), activities.ErrWebhookRejected, false)
	assert.NotContains(t, ae.Error(), "SECRET-TOKEN")

	h.a.WebhookURL = "http://127.0.0.1:1/hooks/SECRET-TOKEN"
	ae = appError(t, run(t, h, nil, h.a.Notify, n), activities.ErrWebhookUnavailable, true)
	assert.NotContains(t, ae.Error(), "SECRET-TOKEN")
}

func Test_GivenASignedNotification_ShouldVerifyWithItsSecretOverTheBytesSentAndFailWithAnother(t *testing.T) {
	h, rcv := notifying(t)
	require.NoError(t, run(t, h, nil, h.a.Notify, requested()))
	require.Len(t, rcv.got(), 1)
	d := rcv.got()[0]
	at := func() time.Time { return clock }

	first, err := webhook.NewVerifier([]webhook.Secret{secret(t, 1)}, 0, at)
	require.NoError(t, err)
	id, err := first.Verify(d.headers, d.body)
	require.NoError(t, err, "the first secret signs")
	assert.Equal(t, d.decoded(t).EventID, id, "webhook-id is the event ID")
	assert.Equal(t, "1772600767", d.headers.Get(webhook.HeaderTimestamp), "signed at the send time")

	second, err := webhook.NewVerifier([]webhook.Secret{secret(t, 2)}, 0, at)
	require.NoError(t, err)
	_, err = second.Verify(d.headers, d.body)
	assert.ErrorIs(t, err, webhook.ErrBadSignature, "only the first secret signs")
	other, err := webhook.NewVerifier([]webhook.Secret{secret(t, 3)}, 0, at)
	require.NoError(t, err)
	_, err = other.Verify(d.headers, d.body)
	assert.ErrorIs(t, err, webhook.ErrBadSignature)
	_, err = first.Verify(d.headers, bytes.Replace(d.body, []byte(`"u1"`), []byte(`"u2"`), 1))
	assert.ErrorIs(t, err, webhook.ErrBadSignature, "a changed body does not verify")
}

func Test_GivenAWebhookWithoutSecret_ShouldRefuseToPostUnsigned(t *testing.T) {
	h, rcv := notifying(t)
	h.a.WebhookSecrets = nil
	ae := appError(t, run(t, h, nil, h.a.Notify, requested()), activities.ErrInvalidInput, false)
	assert.Contains(t, ae.Message(), "OFFBOARD_WEBHOOK_SECRET_FILE")
	assert.Empty(t, rcv.got())
}

// notifyTwice sends two notifications, each retried until delivered.
func notifyTwice(ctx workflow.Context, n activities.Notification) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: 5}})
	var a *activities.Activities
	if err := workflow.ExecuteActivity(ctx, a.Notify, n).Get(ctx, nil); err != nil {
		return err
	}
	n.Event = activities.EventApprovalReminder
	return workflow.ExecuteActivity(ctx, a.Notify, n).Get(ctx, nil)
}

func Test_GivenARetriedNotification_ShouldKeepItsEventIDAndGiveEachEventItsOwn(t *testing.T) {
	h, rcv := notifying(t)
	rcv.failFirst = 2
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(h.a)
	env.RegisterWorkflow(notifyTwice)

	env.ExecuteWorkflow(notifyTwice, requested())

	require.NoError(t, env.GetWorkflowError())
	got := rcv.got()
	require.Len(t, got, 4, "the first event twice refused, then delivered; the second delivered at once")
	ids := make([]string, len(got))
	for i, d := range got {
		ids[i] = d.headers.Get(webhook.HeaderID)
		assert.Equal(t, ids[i], d.decoded(t).EventID)
	}
	assert.Equal(t, ids[0], ids[1])
	assert.Equal(t, ids[0], ids[2], "every retry of one event carries its ID")
	assert.NotEqual(t, ids[0], ids[3], "another event has another ID")
	assert.NotEmpty(t, ids[0])
}

func Test_GivenAnApprovalNotification_ShouldCarryLinksForEachAllowedApproverBoundToTheRun(t *testing.T) {
	for _, event := range []string{activities.EventApprovalRequested, activities.EventApprovalReminder} {
		t.Run(event, func(t *testing.T) {
			h, rcv := notifying(t)
			n := requested()
			n.Event = event
			require.NoError(t, run(t, h, nil, h.a.Notify, n))
			body := rcv.got()[0].decoded(t)
			assert.Empty(t, body.LinksNote)
			require.Len(t, body.Links, 4)
			keys := credential.NewKeySet(linkSigner.PublicKey())
			seen := map[string]bool{}
			for i, l := range body.Links {
				wantWho, wantAction := []string{"alice", "bob"}[i/2], []credential.Action{credential.ActionApprove, credential.ActionReject}[i%2]
				assert.Equal(t, wantWho, l.Approver, "the identity the link is bound to, normalised")
				assert.Equal(t, wantAction, l.Action)
				tok, ok := strings.CutPrefix(l.URL, publicAPI+"/v1/decisions/")
				require.True(t, ok, "the link is the HR API's decision route: %s", l.URL)
				c, err := keys.Verify(tok, clock)
				require.NoError(t, err)
				assert.Equal(t, credential.Claims{Issuer: activities.WorkerIssuer, Identity: wantWho, Role: credential.RoleApprover,
					WorkflowID: "offboarding-u1", RunID: "run-1", Action: wantAction, ID: c.ID,
					IssuedAt: clock, ExpiresAt: clock.Add(2 * time.Hour)}, c)
				assert.Equal(t, c.ExpiresAt, l.ExpiresAt)
				assert.False(t, seen[c.ID], "each link has a credential of its own")
				seen[c.ID] = true
			}
			l, ok := body.Link("bob", credential.ActionReject)
			require.True(t, ok)
			assert.Equal(t, body.Links[3], l, "a receiver finds each approver's link")
			_, ok = body.Link("carol", credential.ActionApprove)
			assert.False(t, ok, "no link for anyone else")
		})
	}
}

func Test_GivenNoSigningKeyURLOrAllowList_ShouldSendNoLinksAndSayWhy(t *testing.T) {
	cases := []struct {
		name   string
		change func(*activities.Activities, *activities.Notification)
		note   string
	}{
		{"no signing key", func(a *activities.Activities, _ *activities.Notification) { a.Links.Signer = nil }, "OFFBOARD_DECISION_SIGNING_KEY_FILE"},
		{"no public API URL", func(a *activities.Activities, _ *activities.Notification) { a.Links.PublicAPIURL = "" }, "OFFBOARD_PUBLIC_API_URL"},
		{"no allow-list", func(_ *activities.Activities, n *activities.Notification) { n.LinksFor = nil }, "allow-list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, rcv := notifying(t)
			n := requested()
			tc.change(h.a, &n)
			require.NoError(t, run(t, h, nil, h.a.Notify, n))
			body := rcv.got()[0].decoded(t)
			assert.Empty(t, body.Links)
			assert.Contains(t, body.LinksNote, tc.note)
			assert.NotContains(t, string(rcv.got()[0].body), "/v1/decisions/")
		})
	}
}

func Test_GivenALinkTTLOverTheCredentialMaximum_ShouldCapIt(t *testing.T) {
	h, rcv := notifying(t)
	h.a.Links.TTL = 48 * time.Hour
	require.NoError(t, run(t, h, nil, h.a.Notify, requested()))
	body := rcv.got()[0].decoded(t)
	require.NotEmpty(t, body.Links)
	assert.Equal(t, clock.Add(credential.MaxTTL), body.Links[0].ExpiresAt)
}
