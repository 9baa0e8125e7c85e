package activities_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

var clock = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

type harness struct {
	emu *emulator.Emulator
	srv *httptest.Server
	a   *activities.Activities
	env *testsuite.TestActivityEnvironment
}

// newHarness runs the emulator on loopback and the activities over the real client as clientID.
func newHarness(t *testing.T, clientID, secret string) *harness {
	t.Helper()
	return newHarnessOf(t, clientID, secret, emulator.Options{RequestsPerMinute: -1, Conversations: 2000})
}

// newHarnessOf is newHarness over an emulator with opts.
func newHarnessOf(t *testing.T, clientID, secret string, opts emulator.Options) *harness {
	t.Helper()
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	h := &harness{emu: emu, srv: srv}
	h.a = &activities.Activities{Genesys: h.client(t, clientID, secret), Now: func() time.Time { return clock }}
	store, err := bundle.Open(context.Background(), "file://"+t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	h.a.Store = store
	var s testsuite.WorkflowTestSuite
	h.env = s.NewTestActivityEnvironment()
	h.env.RegisterActivity(h.a)
	return h
}

func (h *harness) client(t *testing.T, id, secret string, opts ...genesys.Option) *genesys.SDKClient {
	t.Helper()
	c, err := genesys.New(context.Background(), genesys.Config{ClientID: id, ClientSecret: genesys.Secret(secret),
		APIURL: h.srv.URL, RequestsPerMinute: 60000, Timeout: 5 * time.Second}, opts...)
	require.NoError(t, err)
	return c
}

func dev(t *testing.T) *harness {
	return newHarness(t, emulator.DevClientID, emulator.DevClientSecret)
}

func (h *harness) userIn(t *testing.T, state string, minConvs int) emulator.UserSummary {
	t.Helper()
	for _, u := range h.emu.SeedUsers() {
		if u.State == state && u.Conversations >= minConvs {
			return u
		}
	}
	t.Fatalf("no seeded %s user", state)
	return emulator.UserSummary{}
}

func (h *harness) state(t *testing.T, id string) string {
	t.Helper()
	rec, ok := h.emu.User(id)
	require.True(t, ok)
	return rec.State
}

// run executes an activity and decodes its result into out (if not nil).
func run(t *testing.T, h *harness, out any, fn any, args ...any) error {
	t.Helper()
	v, err := h.env.ExecuteActivity(fn, args...)
	if err == nil && out != nil {
		require.NoError(t, v.Get(out))
	}
	return err
}

func appError(t *testing.T, err error, typ string, retryable bool) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "want an application error, got %T: %v", err, err)
	require.Equal(t, typ, ae.Type(), "error: %v", err)
	require.Equal(t, !retryable, ae.NonRetryable(), "error: %v", err)
	assert.NotContains(t, err.Error(), emulator.DevClientSecret)
	assert.NotContains(t, err.Error(), emulator.ReadOnlyClientSecret)
	return ae
}

const unknownUser = "00000000-0000-4000-8000-000000000000"

var allPerms = []string{genesys.PermUserEdit, genesys.PermUserDelete, genesys.PermConversationDetail}

func Test_GivenRequiredPermissions_ShouldReportWhatTheClientHoldsOrLacks(t *testing.T) {
	t.Run("dev client holds everything", func(t *testing.T) {
		h := dev(t)
		var rep activities.AccessReport
		require.NoError(t, run(t, h, &rep, h.a.CheckAccess, activities.CheckAccessInput{Permissions: allPerms}))
		assert.Equal(t, emulator.DevClientID, rep.ClientID)
		assert.Equal(t, allPerms, rep.Checked)
		assert.Empty(t, rep.Note)
	})
	t.Run("readonly client names each missing permission", func(t *testing.T) {
		h := newHarness(t, emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret)
		err := run(t, h, nil, h.a.CheckAccess, activities.CheckAccessInput{Permissions: allPerms})
		ae := appError(t, err, activities.ErrMissingPermissions, false)
		assert.Contains(t, ae.Error(), genesys.PermUserEdit)
		assert.Contains(t, ae.Error(), genesys.PermUserDelete)
		assert.NotContains(t, ae.Message(), genesys.PermConversationDetail)
		var missing []string
		require.NoError(t, ae.Details(&missing))
		assert.Equal(t, []string{genesys.PermUserEdit, genesys.PermUserDelete}, missing)
	})
	t.Run("client that may not read its roles continues unverified", func(t *testing.T) {
		h := dev(t)
		h.emu.AddClient("blind", "blind-secret", emulator.PermUserView, emulator.PermUserEdit)
		h.a.Genesys = h.client(t, "blind", "blind-secret")
		var rep activities.AccessReport
		require.NoError(t, run(t, h, &rep, h.a.CheckAccess, activities.CheckAccessInput{Permissions: allPerms}))
		assert.Contains(t, rep.Note, "not verified")
		assert.Contains(t, rep.Note, emulator.PermOAuthClientView)
	})
}

func Test_GivenAUserInAnyState_ShouldSnapshotItAsFound(t *testing.T) {
	h := dev(t)
	u := h.userIn(t, "active", 0)
	var snap activities.UserSnapshot
	require.NoError(t, run(t, h, &snap, h.a.SnapshotUser, activities.SnapshotInput{UserID: u.ID}))
	rec, _ := h.emu.User(u.ID)
	assert.Equal(t, rec.Email, snap.User.Email)
	assert.Equal(t, rec.Version, snap.User.Version)
	assert.Equal(t, rec.DivisionID, snap.User.DivisionID)
	assert.Len(t, snap.User.Roles, len(rec.RoleIDs))
	assert.Equal(t, clock, snap.TakenAt)

	deleted := h.userIn(t, "deleted", 0)
	require.NoError(t, run(t, h, &snap, h.a.SnapshotUser, activities.SnapshotInput{UserID: deleted.ID}))
	assert.Equal(t, genesys.StateDeleted, snap.User.State)
}

func Test_GivenAnUnknownUser_ShouldFailTheSnapshotNamingIt(t *testing.T) {
	h := dev(t)
	err := run(t, h, nil, h.a.SnapshotUser, activities.SnapshotInput{UserID: unknownUser})
	ae := appError(t, err, activities.ErrUserNotFound, false)
	assert.Contains(t, ae.Message(), unknownUser)
}

func Test_GivenDeactivateTwice_ShouldChangeTheUserOnceAndNeverRestoreADeletedOne(t *testing.T) {
	h := dev(t)
	u := h.userIn(t, "active", 0)
	var first, second activities.StateChange
	require.NoError(t, run(t, h, &first, h.a.DeactivateUser, activities.UserRef{UserID: u.ID}))
	assert.Equal(t, activities.StateChange{UserID: u.ID, Previous: genesys.StateActive, State: genesys.StateInactive,
		Version: first.Version, Changed: true}, first)
	require.NoError(t, run(t, h, &second, h.a.DeactivateUser, activities.UserRef{UserID: u.ID}))
	assert.False(t, second.Changed)
	assert.Equal(t, genesys.StateInactive, second.State)
	assert.Equal(t, first.Version, second.Version)
	assert.Equal(t, "inactive", h.state(t, u.ID))

	deleted := h.userIn(t, "deleted", 0)
	err := run(t, h, nil, h.a.DeactivateUser, activities.UserRef{UserID: deleted.ID})
	appError(t, err, activities.ErrUnexpectedState, false)
	assert.Equal(t, "deleted", h.state(t, deleted.ID), "a deleted user is never restored to deactivate it")
}

func Test_GivenDeleteTwice_ShouldDeleteTheUserOnce(t *testing.T) {
	h := dev(t)
	u := h.userIn(t, "inactive", 0)
	var first, second activities.StateChange
	require.NoError(t, run(t, h, &first, h.a.DeleteUser, activities.UserRef{UserID: u.ID}))
	assert.True(t, first.Changed)
	assert.Equal(t, genesys.StateInactive, first.Previous)
	assert.Equal(t, genesys.StateDeleted, first.State)
	require.NoError(t, run(t, h, &second, h.a.DeleteUser, activities.UserRef{UserID: u.ID}))
	assert.False(t, second.Changed)
	assert.Equal(t, genesys.StateDeleted, second.State)
	assert.Equal(t, "deleted", h.state(t, u.ID))

	err := run(t, h, nil, h.a.DeleteUser, activities.UserRef{UserID: unknownUser})
	appError(t, err, activities.ErrUserNotFound, false)
}

func Test_GivenARestore_ShouldBringTheUserBackToTheRecordedStateOnce(t *testing.T) {
	h := dev(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		from   genesys.UserState
		target genesys.UserState
	}{
		{"inactive to active", genesys.StateInactive, genesys.StateActive},
		{"deleted to active", genesys.StateDeleted, genesys.StateActive},
		{"deleted to inactive", genesys.StateDeleted, genesys.StateInactive},
	}
	users := h.emu.SeedUsers()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := users[i]
			c := h.a.Genesys
			if tc.from == genesys.StateDeleted {
				require.NoError(t, c.DeleteUser(ctx, u.ID))
			} else {
				_, err := c.SetUserState(ctx, u.ID, tc.from)
				require.NoError(t, err)
			}
			var ch activities.StateChange
			require.NoError(t, run(t, h, &ch, h.a.RestoreUser, activities.RestoreInput{UserID: u.ID, State: tc.target}))
			assert.True(t, ch.Changed)
			assert.Equal(t, tc.from, ch.Previous)
			assert.Equal(t, tc.target, ch.State)
			assert.Equal(t, string(tc.target), h.state(t, u.ID))
			require.NoError(t, run(t, h, &ch, h.a.RestoreUser, activities.RestoreInput{UserID: u.ID, State: tc.target}))
			assert.False(t, ch.Changed, "second run changes nothing")
		})
	}
	err := run(t, h, nil, h.a.RestoreUser, activities.RestoreInput{UserID: users[0].ID, State: "archived"})
	appError(t, err, activities.ErrInvalidInput, false)
}

func Test_GivenAWindowWithOddBounds_ShouldCountOnlyConversationsStartedInIt(t *testing.T) {
	h := dev(t)
	h.a.Export.QueryPage = 7 // several pages
	u := h.userIn(t, "active", 20)
	end := time.Now().UTC().Truncate(time.Hour)
	// Odd bounds: the query matches whole UTC days, the count must not.
	w := genesys.Interval{Start: end.AddDate(-2, 0, 0).Add(7*time.Hour + 13*time.Minute), End: end.Add(-5 * time.Hour)}
	want := h.emu.ConversationCount(u.ID, w.Start, w.End)
	require.Positive(t, want)
	var n int
	require.NoError(t, run(t, h, &n, h.a.CountInteractions, activities.CountInput{UserID: u.ID, Window: w}))
	assert.Equal(t, want, n)

	err := run(t, h, nil, h.a.CountInteractions, activities.CountInput{UserID: u.ID, Window: genesys.Interval{Start: end, End: end}})
	appError(t, err, activities.ErrInvalidInput, false)
}

func Test_GivenTheFinalState_ShouldVerifyItAndTheCountAgainstTheManifest(t *testing.T) {
	h := dev(t)
	u := h.userIn(t, "inactive", 10)
	w := genesys.Interval{Start: time.Now().AddDate(-4, 0, 0).UTC(), End: time.Now().UTC()}
	count := h.emu.ConversationCount(u.ID, w.Start, w.End)
	in := activities.VerifyInput{UserID: u.ID, ExpectedState: genesys.StateInactive, Window: w, ManifestCount: count}

	var v activities.Verification
	require.NoError(t, run(t, h, &v, h.a.VerifyOutcome, in))
	assert.Equal(t, activities.Verification{State: genesys.StateInactive, Count: count, ManifestCount: count, Linked: true, CheckedAt: clock}, v)

	bad := in
	bad.ManifestCount = count + 1
	ae := appError(t, run(t, h, nil, h.a.VerifyOutcome, bad), activities.ErrCountMismatch, false)
	assert.Contains(t, ae.Message(), "manifest")
	var details activities.Verification
	require.NoError(t, ae.Details(&details))
	assert.Equal(t, count, details.Count)
	assert.False(t, details.Linked)

	bad = in
	bad.ExpectedState = genesys.StateDeleted
	appError(t, run(t, h, nil, h.a.VerifyOutcome, bad), activities.ErrUnexpectedState, false)
}

func Test_GivenAnAuditRecord_ShouldWriteItOnceAndAcceptAnIdenticalRetry(t *testing.T) {
	h := dev(t)
	rec := activities.AuditRecord{Bundle: "u1/run1", WorkflowID: "offboarding-u1", RunID: "run1", UserID: "u1",
		Disposition: "archive", RequestedBy: "hr", Outcome: "archived",
		Transitions: []activities.Transition{{Stage: "checking", At: clock}}}
	var ref, again activities.AuditRef
	require.NoError(t, run(t, h, &ref, h.a.WriteAudit, rec))
	assert.True(t, strings.HasSuffix(ref.URL, "/u1/run1/audit.json"), ref.URL)
	data, err := h.a.Store.ReadAll(context.Background(), "u1/run1/audit.json")
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	assert.Equal(t, hex.EncodeToString(sum[:]), ref.SHA256)
	var stored activities.AuditRecord
	require.NoError(t, json.Unmarshal(data, &stored))
	assert.Equal(t, clock, stored.WrittenAt)

	// A retry a minute later (only WrittenAt differs) finds the first write.
	h.a.Now = func() time.Time { return clock.Add(time.Minute) }
	require.NoError(t, run(t, h, &again, h.a.WriteAudit, rec))
	assert.Equal(t, ref, again)

	changed := rec
	changed.Outcome = "deleted"
	appError(t, run(t, h, nil, h.a.WriteAudit, changed), activities.ErrAuditExists, false)
	after, _ := h.a.Store.ReadAll(context.Background(), "u1/run1/audit.json")
	assert.Equal(t, data, after, "the first record is kept")

	appError(t, run(t, h, nil, h.a.WriteAudit, activities.AuditRecord{Bundle: "../x"}), activities.ErrInvalidInput, false)
}

func Test_GivenARateLimit_ShouldMakeRetryAfterTheNextRetryDelay(t *testing.T) {
	h := dev(t)
	// Without the client's own retries, so that the 429 reaches the activity.
	h.a.Genesys = h.client(t, emulator.DevClientID, emulator.DevClientSecret, genesys.WithTransientRetries(0))
	u := h.userIn(t, "active", 0)
	h.emu.SetFaults(emulator.Faults{RateLimitBurst: 1, RetryAfter: 3})
	err := run(t, h, nil, h.a.SnapshotUser, activities.SnapshotInput{UserID: u.ID})
	ae := appError(t, err, string(genesys.KindRateLimited), true)
	assert.Equal(t, 3*time.Second, ae.NextRetryDelay())
}

func Test_GivenAServerError_ShouldFailRetryably(t *testing.T) {
	h := dev(t)
	h.a.Genesys = h.client(t, emulator.DevClientID, emulator.DevClientSecret, genesys.WithTransientRetries(0))
	u := h.userIn(t, "active", 0)
	h.emu.SetFaults(emulator.Faults{Burst5xx: 1})
	err := run(t, h, nil, h.a.DeactivateUser, activities.UserRef{UserID: u.ID})
	appError(t, err, string(genesys.KindTransient), true)
	assert.Equal(t, "active", h.state(t, u.ID))
}

func Test_GivenAMissingPermissionOnAChange_ShouldFailFinally(t *testing.T) {
	h := newHarness(t, emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret)
	u := h.userIn(t, "active", 0)
	ae := appError(t, run(t, h, nil, h.a.DeactivateUser, activities.UserRef{UserID: u.ID}), string(genesys.KindPermissionDenied), false)
	assert.Contains(t, ae.Message(), genesys.PermUserEdit)
	ae = appError(t, run(t, h, nil, h.a.DeleteUser, activities.UserRef{UserID: u.ID}), string(genesys.KindPermissionDenied), false)
	assert.Contains(t, ae.Message(), genesys.PermUserDelete)
	assert.Equal(t, "active", h.state(t, u.ID))
}
