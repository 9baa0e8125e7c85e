package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
)

// CheckAccess fails non-retryably, naming each missing permission, unless the credentials
// hold every permission in the input. When the OAuth client may not read its own client and
// roles (oauth:client:view, authorization:role:view), the check cannot be made: the report says
// so in Note and the run continues, since the first call that needs a missing permission fails
// with a 403 naming it (docs/genesys.md) before it changes anything.
//
// The permissions read are trusted for a few minutes per Genesys client (see clientGrants), so
// that the check costs its calls once per worker rather than once per run.
//
// Retry: default policy; ErrMissingPermissions and Genesys permission/auth errors are final.
func (a *Activities) CheckAccess(ctx context.Context, in CheckAccessInput) (AccessReport, error) {
	g, err := a.clientGrants(ctx, in.Permissions)
	if genesys.KindOf(err) == genesys.KindPermissionDenied {
		note := fmt.Sprintf("permissions not verified: the OAuth client may not read its own client and roles (%v); "+
			"a missing permission will instead fail the first call that needs it, before that call changes anything", err)
		activity.GetLogger(ctx).Warn("CheckAccess could not read the client's roles; continuing unverified", "error", err)
		return AccessReport{Checked: in.Permissions, Note: note}, nil
	}
	if err != nil {
		return AccessReport{}, asTemporalError(err)
	}
	if missing := g.Missing(in.Permissions...); len(missing) > 0 {
		return AccessReport{}, failure(ErrMissingPermissions, nil, fmt.Sprintf(
			"OAuth client %s lacks Genesys Cloud permission(s) %s; add them to one of its roles and start again",
			g.ClientID, strings.Join(missing, ", ")), missing)
	}
	return AccessReport{ClientID: g.ClientID, Checked: in.Permissions}, nil
}

// SnapshotUser reads the user in any state for the audit record. An unknown user fails
// non-retryably. Protected users never get here: the workflow refuses them (Policy.Protects).
//
// Retry: default policy; ErrUserNotFound and ErrInvalidInput are final.
func (a *Activities) SnapshotUser(ctx context.Context, in SnapshotInput) (UserSnapshot, error) {
	if in.UserID == "" {
		return UserSnapshot{}, failf(ErrInvalidInput, "snapshot: empty user ID")
	}
	u, err := a.getUser(ctx, in.UserID)
	if err != nil {
		return UserSnapshot{}, err
	}
	return UserSnapshot{User: u, TakenAt: a.now()}, nil
}

// getUser reads a user in any state; an unknown one is a non-retryable ErrUserNotFound.
func (a *Activities) getUser(ctx context.Context, userID string) (genesys.User, error) {
	u, err := a.Genesys.GetUser(ctx, userID)
	if genesys.IsNotFound(err) {
		return genesys.User{}, failure(ErrUserNotFound, err, fmt.Sprintf(
			"no Genesys Cloud user %s in any state (active, inactive or deleted); check the user ID", userID))
	}
	if err != nil {
		return genesys.User{}, asTemporalError(err)
	}
	return u, nil
}

// setState moves a user to state through the version-aware client and reports the change.
func (a *Activities) setState(ctx context.Context, userID string, prev genesys.UserState, state genesys.UserState) (genesys.User, error) {
	u, err := a.Genesys.SetUserState(ctx, userID, state)
	if err != nil {
		return genesys.User{}, asTemporalError(fmt.Errorf("set user %s from %s to %s: %w", userID, prev, state, err))
	}
	if u.State != state {
		return genesys.User{}, failure(ErrNotYetConsistent, nil, fmt.Sprintf(
			"user %s is %s after setting it %s; Genesys may not have caught up yet", userID, u.State, state))
	}
	return u, nil
}

// startChange reads the user before a state change, and reports the change as none yet.
func (a *Activities) startChange(ctx context.Context, userID string) (genesys.User, StateChange, error) {
	u, err := a.getUser(ctx, userID)
	if err != nil {
		return genesys.User{}, StateChange{}, err
	}
	return u, StateChange{UserID: u.ID, Previous: u.State, State: u.State, Version: u.Version}, nil
}

// movedTo is the change once the user is found in its new state.
func (c StateChange) movedTo(u genesys.User) StateChange {
	c.State, c.Version, c.Changed = u.State, u.Version, true
	return c
}

// DeactivateUser sets the user inactive; a user already inactive is left as is. A deleted
// user is refused: making it inactive would restore it.
//
// Retry: default policy with backoff; conflicts are re-read inside the client, rate limits
// wait for Retry-After; ErrUserNotFound and ErrUnexpectedState are final.
func (a *Activities) DeactivateUser(ctx context.Context, in UserRef) (StateChange, error) {
	u, change, err := a.startChange(ctx, in.UserID)
	if err != nil {
		return StateChange{}, err
	}
	switch u.State {
	case genesys.StateInactive:
		return change, nil
	case genesys.StateDeleted:
		return StateChange{}, failf(ErrUnexpectedState,
			"user %s is already deleted (perhaps by SCIM); Offboard will not restore it just to deactivate it", in.UserID)
	}
	after, err := a.setState(ctx, in.UserID, u.State, genesys.StateInactive)
	if err != nil {
		return StateChange{}, err
	}
	return change.movedTo(after), nil
}

// DeleteUser soft-deletes the user and confirms the deleted state; a deleted user is left as is.
//
// Retry: default policy with backoff; ErrNotYetConsistent (the delete is not visible yet) is
// retried; ErrUserNotFound is final.
func (a *Activities) DeleteUser(ctx context.Context, in UserRef) (StateChange, error) {
	u, change, err := a.startChange(ctx, in.UserID)
	if err != nil {
		return StateChange{}, err
	}
	if u.State == genesys.StateDeleted {
		return change, nil
	}
	if err := a.Genesys.DeleteUser(ctx, in.UserID); err != nil {
		return StateChange{}, asTemporalError(fmt.Errorf("delete user %s: %w", in.UserID, err))
	}
	after, err := a.getUser(ctx, in.UserID)
	if err != nil {
		return StateChange{}, err
	}
	if after.State != genesys.StateDeleted {
		return StateChange{}, failure(ErrNotYetConsistent, nil, fmt.Sprintf(
			"user %s is still %s after DELETE; waiting for Genesys to show it deleted", in.UserID, after.State))
	}
	return change.movedTo(after), nil
}

// RestoreUser brings the user back to the state the snapshot recorded (active or inactive).
// A deleted user is restored with PATCH active (the only restore Genesys offers), then set
// inactive if that is what the snapshot recorded.
//
// Retry: default policy with backoff; ErrInvalidInput and ErrUserNotFound are final.
func (a *Activities) RestoreUser(ctx context.Context, in RestoreInput) (StateChange, error) {
	if in.State != genesys.StateActive && in.State != genesys.StateInactive {
		return StateChange{}, failf(ErrInvalidInput,
			"restore user %s to %q: the target state must be active or inactive", in.UserID, in.State)
	}
	u, change, err := a.startChange(ctx, in.UserID)
	if err != nil {
		return StateChange{}, err
	}
	if u.State == in.State {
		return change, nil
	}
	cur := u
	if cur.State == genesys.StateDeleted {
		if cur, err = a.setState(ctx, in.UserID, cur.State, genesys.StateActive); err != nil {
			return StateChange{}, err
		}
	}
	if cur.State != in.State {
		if cur, err = a.setState(ctx, in.UserID, cur.State, in.State); err != nil {
			return StateChange{}, err
		}
	}
	return change.movedTo(cur), nil
}

// CountInteractions counts the user's conversations that started in the window with the
// conversation-details query, in the pieces it takes (at most 31 days each): whole UTC days by
// their totalHits, the partial day at either end by paging its conversation IDs.
//
// Retry: default policy; heartbeats once per query and, under keepAlive, while one is slow.
func (a *Activities) CountInteractions(ctx context.Context, in CountInput) (int, error) {
	defer keepAlive(ctx)()
	return a.countInteractions(ctx, in.UserID, in.Window)
}

func (a *Activities) countInteractions(ctx context.Context, userID string, w genesys.Interval) (int, error) {
	if userID == "" || w.Start.IsZero() || !w.End.After(w.Start) {
		return 0, failf(ErrInvalidInput, "count conversations of user %q over %s..%s: need a user ID and a window whose end is after its start",
			userID, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	c := conversationCounter{g: a.Genesys, userID: userID, pageSize: cmpOr(a.Export.QueryPage, defaultQueryPageSize)}
	queries := 0
	n, err := c.count(ctx, bundle.Window{Start: w.Start.UTC(), End: w.End.UTC()}, func() {
		queries++
		activity.RecordHeartbeat(ctx, queries)
	})
	if err != nil {
		return 0, asTemporalError(fmt.Errorf("count conversations of user %s: %w", userID, err))
	}
	return n, nil
}

// VerifyOutcome re-reads the user and re-counts their conversations against the manifest.
// A wrong state or count fails non-retryably, with the Verification as the error's details.
//
// Retry: default policy; ErrUnexpectedState, ErrCountMismatch and ErrUserNotFound are final.
// Heartbeats like CountInteractions.
func (a *Activities) VerifyOutcome(ctx context.Context, in VerifyInput) (Verification, error) {
	defer keepAlive(ctx)()
	u, err := a.getUser(ctx, in.UserID)
	if err != nil {
		return Verification{}, err
	}
	n, err := a.countInteractions(ctx, in.UserID, in.Window)
	if err != nil {
		return Verification{}, err
	}
	v := Verification{State: u.State, Count: n, ManifestCount: in.ManifestCount, CheckedAt: a.now()}
	if u.State != in.ExpectedState {
		return Verification{}, failure(ErrUnexpectedState, nil, fmt.Sprintf(
			"user %s is %s, expected %s: someone (an admin or SCIM) changed it during the offboarding", in.UserID, u.State, in.ExpectedState), v)
	}
	if n != in.ManifestCount {
		return Verification{}, failure(ErrCountMismatch, nil, fmt.Sprintf(
			"Genesys now counts %d conversations of user %s in %s..%s but the export manifest has %d; the history is not provably linked",
			n, in.UserID, in.Window.Start.UTC().Format(time.RFC3339), in.Window.End.UTC().Format(time.RFC3339), in.ManifestCount), v)
	}
	v.Linked = true
	return v, nil
}

// WriteAudit writes audit.json beside the bundle, once. WrittenAt is set from the clock and
// ToolVersion from the build when empty; a retry whose record differs only in them finds the
// first write and returns it.
//
// Retry: default policy; ErrAuditExists (a different record is already there) is final.
func (a *Activities) WriteAudit(ctx context.Context, rec AuditRecord) (AuditRef, error) {
	if a.Store == nil {
		return AuditRef{}, failf(ErrInvalidInput, "write audit: the worker has no export store configured")
	}
	bundleKey := strings.Trim(rec.Bundle, "/")
	if bundleKey == "" || strings.Contains(bundleKey, "..") {
		return AuditRef{}, failf(ErrInvalidInput, "write audit: bundle %q must be a relative path such as <userId>/<runId>", rec.Bundle)
	}
	key := bundleKey + "/audit.json"
	if rec.WrittenAt.IsZero() {
		rec.WrittenAt = a.now()
	}
	if rec.ToolVersion == "" {
		rec.ToolVersion = toolVersion()
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return AuditRef{}, failf(ErrInvalidInput, "encode audit record: %v", err)
	}
	data = append(data, '\n')
	err = a.Store.WriteOnce(ctx, key, data, "application/json")
	if errors.Is(err, bundle.ErrObjectExists) {
		existing, rerr := a.Store.ReadAll(ctx, key)
		if rerr != nil {
			return AuditRef{}, fmt.Errorf("read existing %s: %w", key, rerr)
		}
		var prev AuditRecord
		if json.Unmarshal(existing, &prev) == nil {
			prev.WrittenAt, prev.ToolVersion = rec.WrittenAt, rec.ToolVersion
			if same, _ := json.MarshalIndent(prev, "", "  "); bytes.Equal(append(same, '\n'), data) {
				return AuditRef{URL: a.Store.URL(key), SHA256: sha256Hex(existing)}, nil
			}
		}
		return AuditRef{}, failf(ErrAuditExists, "%s already holds a different audit record; audit records are written once", a.Store.URL(key))
	}
	if err != nil {
		return AuditRef{}, fmt.Errorf("write %s: %w", key, err)
	}
	return AuditRef{URL: a.Store.URL(key), SHA256: sha256Hex(data)}, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
