package activities

import (
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/identity"
)

// Events of the notifications that ask approvers to decide, and so carry approval links.
const (
	EventApprovalRequested = "approval.requested"
	EventApprovalReminder  = "approval.reminder"
)

// WorkerIssuer names the worker in the credentials of its approval links.
const WorkerIssuer = "offboard-worker"

// DefaultLinkTTL is how long an approval link stays valid unless configured.
const DefaultLinkTTL = 24 * time.Hour

// decisionsPath is the HR API's route that shows (GET) and takes (POST) a credential's decision.
const decisionsPath = "/v1/decisions/"

// decides reports whether a notification of event asks approvers to decide.
func decides(event string) bool {
	return event == EventApprovalRequested || event == EventApprovalReminder
}

// Links makes the approve and reject links of approval notifications. Each link is the HR API's
// decision route with a decision credential in its path, bound to one approver, the run and
// the action: the credential is the only authentication the route asks for.
type Links struct {
	// Signer signs the credentials; its key must be among the policy's decision keys. Nil: no links.
	Signer *credential.Signer
	// PublicAPIURL is the HR API's base URL as the receivers reach it. Empty: no links.
	PublicAPIURL string
	// TTL is each link's lifetime; zero means DefaultLinkTTL, and it is at most credential.MaxTTL.
	TTL time.Duration
}

// ApprovalLink is one link of a notification: who may follow it, what it decides and until when.
type ApprovalLink struct {
	Approver  string            `json:"approver"`
	Action    credential.Action `json:"action"`
	URL       string            `json:"url"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

// Issue makes an approve and a reject link for each of n.LinksFor, valid from now for TTL, each
// with a credential of its own. Without links it says why in the note.
func (l Links) Issue(n Notification, now time.Time) ([]ApprovalLink, string) {
	switch {
	case l.Signer == nil:
		return nil, "no approval links: the worker has no decision signing key (OFFBOARD_DECISION_SIGNING_KEY_FILE); decide through the HR API"
	case l.PublicAPIURL == "":
		return nil, "no approval links: the worker has no public HR API URL (OFFBOARD_PUBLIC_API_URL); decide through the HR API"
	case len(n.LinksFor) == 0:
		return nil, "no approval links: no allow-listed approver is left to bind one to (the policy's approver allow-list is empty, or all have decided); decide through the HR API"
	case n.FirstRunID == "":
		return nil, "no approval links: the notification names no run to bind them to; decide through the HR API"
	}
	ttl := l.TTL
	if ttl <= 0 {
		ttl = DefaultLinkTTL
	}
	ttl = min(ttl, credential.MaxTTL)
	iat := now.Truncate(time.Second)
	base := strings.TrimSuffix(l.PublicAPIURL, "/") + decisionsPath
	var links []ApprovalLink
	var refused []string
	for _, who := range n.LinksFor {
		id, err := identity.Normalize(who)
		if err != nil {
			refused = append(refused, "an approver identity that does not normalise")
			continue
		}
		for _, action := range []credential.Action{credential.ActionApprove, credential.ActionReject} {
			tok, err := l.Signer.Issue(credential.Claims{Identity: id, Role: credential.RoleApprover, WorkflowID: n.WorkflowID,
				RunID: n.FirstRunID, Action: action, IssuedAt: iat, ExpiresAt: iat.Add(ttl)})
			if err != nil {
				refused = append(refused, string(action)+" for "+id)
				continue
			}
			links = append(links, ApprovalLink{Approver: id, Action: action, URL: base + tok, ExpiresAt: iat.Add(ttl).UTC()})
		}
	}
	if len(refused) > 0 {
		return links, "some approval links could not be made: " + strings.Join(slices.Compact(refused), ", ")
	}
	return links, ""
}

// Link finds the link of approver for action, as a receiver forwards it to that approver alone.
func (b NotificationBody) Link(approver string, action credential.Action) (ApprovalLink, bool) {
	for _, l := range b.Links {
		if l.Approver == approver && l.Action == action {
			return l, true
		}
	}
	return ApprovalLink{}, false
}
