package hrapi

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

// workerSigner signs approval links as a worker does, with a key of its own that the policy trusts.
var workerSigner = func() *credential.Signer {
	s, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize)), activities.WorkerIssuer)
	if err != nil {
		panic(err)
	}
	return s
}()

// notificationLinks are the links a worker puts in the approval.requested notification of uid's
// offboarding, as paths of this API.
func notificationLinks(t *testing.T, at time.Time) map[string]string {
	t.Helper()
	const base = "https://hr.example.com"
	links, note := activities.Links{Signer: workerSigner, PublicAPIURL: base, TTL: time.Hour}.Issue(activities.Notification{
		Event: activities.EventApprovalRequested, WorkflowID: workflows.WorkflowID(uid), UserID: uid,
		FirstRunID: "run-1", LinksFor: []string{"alice"}}, at)
	require.Empty(t, note)
	out := map[string]string{}
	for _, l := range links {
		path, ok := strings.CutPrefix(l.URL, base)
		require.True(t, ok, l.URL)
		out[string(l.Action)] = path
	}
	return out
}

// The routes take a worker's links as they take the API's own: shown by GET, decided by POST,
// refused when tampered with or expired.
func Test_GivenANotificationsApprovalLinks_ShouldShowAndTakeThemAndRefuseTamperedOrExpiredOnes(t *testing.T) {
	h, temporal, clock := newRunningAPI(t, func(o *Options) {
		o.Policy.DecisionKeys = append(o.Policy.DecisionKeys, credential.EncodePublicKey(workerSigner.PublicKey()))
	})
	links := notificationLinks(t, now)

	a := send(h, "GET", links["reject"], "", nil)
	require.Equal(t, http.StatusOK, a.code, a.body)
	var d Decision
	require.NoError(t, json.Unmarshal([]byte(a.body), &d))
	assert.Equal(t, Decision{Action: "reject", Identity: "alice", Role: "approver", WorkflowID: workflows.WorkflowID(uid), UserID: uid, ExpiresAt: now.Add(time.Hour)}, d)
	assert.Empty(t, temporal.updates, "a mail scanner's GET decides nothing")

	tampered := links["approve"][:len(links["approve"])-4] + "AAAA"
	a = send(h, "POST", tampered, "", nil)
	assert.Equal(t, http.StatusUnauthorized, a.code, a.body)
	assert.Empty(t, temporal.updates)

	send(h, "POST", links["approve"], "", nil)
	require.Len(t, temporal.updates, 1)
	assert.Equal(t, workflows.UpdateApprove, temporal.updates[0].UpdateName)
	tok := strings.TrimPrefix(links["approve"], "/v1/decisions/")
	assert.Equal(t, workflows.SignedDecision{Credential: tok}, temporal.updates[0].Args[0], "the run gets the link's credential, and decides whether it counts")

	clock.Add(time.Hour)
	a = send(h, "POST", links["reject"], "", nil)
	assert.Equal(t, http.StatusUnauthorized, a.code, a.body)
	assert.Contains(t, a.body, "expired")
	assert.Len(t, temporal.updates, 1, "an expired link reaches no run")
}
