package workflows

import (
	"strings"
	"time"
)

// Policy is the worker's offboarding policy. It comes from worker configuration, never from the
// request, so a caller cannot weaken it; the workflow records it when it starts.
type Policy struct {
	// ApprovalsRequired is how many distinct approvers must approve a deletion (default 1).
	ApprovalsRequired int `json:"approvalsRequired"`
	// ApproveArchive makes archive offboardings wait for approval too.
	ApproveArchive bool `json:"approveArchive,omitempty"`
	// RequesterMayApprove lets the requester approve their own request (default false).
	RequesterMayApprove bool `json:"requesterMayApprove,omitempty"`
	// Approvers is the allow-list of approver identities; empty allows anyone but the requester.
	Approvers []string `json:"approvers,omitempty"`
	// ApprovalTimeout bounds the wait for approvals; on expiry the run ends archived.
	ApprovalTimeout time.Duration `json:"approvalTimeout"`
	// EscalationFraction of ApprovalTimeout is when a reminder and escalation are sent (default 0.5).
	EscalationFraction float64 `json:"escalationFraction"`
	// EscalateTo are identities notified at escalation.
	EscalateTo []string `json:"escalateTo,omitempty"`

	DefaultRetention time.Duration `json:"defaultRetention"`
	MinRetention     time.Duration `json:"minRetention"`
	MaxRetention     time.Duration `json:"maxRetention"`

	// ExportLookback is the default export window length before the request.
	ExportLookback time.Duration `json:"exportLookback"`
	// ExportWindow is the span of one analytics job.
	ExportWindow time.Duration `json:"exportWindow"`

	// ProtectedUserIDs are never offboarded.
	ProtectedUserIDs []string `json:"protectedUserIds,omitempty"`
}

// DefaultPolicy is the policy when the worker configures nothing.
func DefaultPolicy() Policy {
	return Policy{
		ApprovalsRequired:  1,
		ApprovalTimeout:    7 * 24 * time.Hour,
		EscalationFraction: 0.5,
		DefaultRetention:   30 * 24 * time.Hour,
		MinRetention:       0,
		MaxRetention:       400 * 24 * time.Hour,
		ExportLookback:     3 * 365 * 24 * time.Hour,
		ExportWindow:       30 * 24 * time.Hour,
	}
}

// Protects reports whether the policy protects userID from offboarding. IDs compare without
// regard to case, as UUIDs do.
func (p Policy) Protects(userID string) bool {
	for _, id := range p.ProtectedUserIDs {
		if strings.EqualFold(id, userID) {
			return true
		}
	}
	return false
}
