package activities

import (
	"context"
	"errors"
)

// errUnbuilt marks an activity whose body is still being written; replaced before landing.
var errUnbuilt = errors.New("activity not built yet")

// CheckAccess fails non-retryably, naming each missing permission, unless the credentials
// hold every permission in the input.
func (a *Activities) CheckAccess(ctx context.Context, in CheckAccessInput) (AccessReport, error) {
	return AccessReport{}, errUnbuilt
}

// SnapshotUser reads the user in any state for the audit record. A protected or unknown
// user fails non-retryably.
func (a *Activities) SnapshotUser(ctx context.Context, in SnapshotInput) (UserSnapshot, error) {
	return UserSnapshot{}, errUnbuilt
}

// DeactivateUser sets the user inactive; a user already inactive is left as is.
func (a *Activities) DeactivateUser(ctx context.Context, in UserRef) (StateChange, error) {
	return StateChange{}, errUnbuilt
}

// DeleteUser soft-deletes the user and confirms the deleted state; a deleted user is left as is.
func (a *Activities) DeleteUser(ctx context.Context, in UserRef) (StateChange, error) {
	return StateChange{}, errUnbuilt
}

// RestoreUser brings the user back to the state the snapshot recorded.
func (a *Activities) RestoreUser(ctx context.Context, in RestoreInput) (StateChange, error) {
	return StateChange{}, errUnbuilt
}

// ExportInteractions writes every conversation of the user in the window to the bundle.
func (a *Activities) ExportInteractions(ctx context.Context, in ExportInput) (ExportSummary, error) {
	return ExportSummary{}, errUnbuilt
}

// CountInteractions counts the user's conversations that started in the window.
func (a *Activities) CountInteractions(ctx context.Context, in CountInput) (int, error) {
	return 0, errUnbuilt
}

// VerifyOutcome re-reads the user and re-counts their conversations against the manifest.
func (a *Activities) VerifyOutcome(ctx context.Context, in VerifyInput) (Verification, error) {
	return Verification{}, errUnbuilt
}

// WriteAudit writes audit.json beside the bundle, once.
func (a *Activities) WriteAudit(ctx context.Context, rec AuditRecord) (AuditRef, error) {
	return AuditRef{}, errUnbuilt
}

// Notify posts the event to the webhook; without a webhook it does nothing.
func (a *Activities) Notify(ctx context.Context, n Notification) error {
	return errUnbuilt
}
