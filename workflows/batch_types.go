package workflows

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/offboard/offboard/activities/bundle"
)

// Names of the batch workflow, its messages and its search attribute.
const (
	// BatchWorkflowType starts one Offboarding per person of HR's list, as children.
	BatchWorkflowType = "OffboardingBatch"
	batchIDPrefix     = "batch-"
	// SABatchID (Keyword) is set on a batch and on every offboarding it starts, so that
	// operators filter one batch in the Temporal UI.
	SABatchID = "OffboardingBatchId"
	// QueryBatchItems pages a batch's items (BatchItemsQuery → BatchItemsPage); the batch
	// answers QueryStatus with a BatchStatus.
	QueryBatchItems = "items"
	// UpdatePauseBatch, UpdateResumeBatch and UpdateCancelBatch control a batch, as updates and
	// signals of the same name; their payload is a SignedDecision for the batch (hold, release
	// and cancel credentials of role hr).
	UpdatePauseBatch  = "pause"
	UpdateResumeBatch = "resume"
	UpdateCancelBatch = "cancel"
	// SignalBatchProgress is what a child offboarding tells its batch (a BatchProgress) when
	// its access has ended, when it waits on people or time, and when it ends.
	SignalBatchProgress = "batchProgress"
	// MaxBatchItems is the most people one batch takes.
	MaxBatchItems = 10000
	// ReconciliationWorkflowType compares HR's roster with Genesys; by policy it starts a batch
	// as its child, which the batch trusts without a credential (the policy is the worker's).
	ReconciliationWorkflowType = "Reconciliation"
	// ReconciliationIDPrefix begins the workflow ID of every reconciliation run (the Schedule's
	// workflow ID; Temporal appends the scheduled time).
	ReconciliationIDPrefix = "reconciliation-"
	// ReconciliationRequester is the requester of a batch a reconciliation starts.
	ReconciliationRequester = "reconciliation"
)

// batchIDPattern is what a batch ID may be: it travels in URLs, object keys and search attributes.
var batchIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidBatchID reports whether id may name a batch: 1 to 64 letters, digits, '.', '_' and '-',
// beginning with a letter or digit.
func ValidBatchID(id string) bool { return batchIDPattern.MatchString(id) }

// BatchIDFrom makes a valid batch ID of s (a workflow ID, say): each other character becomes
// '-', and it is cut to 64.
func BatchIDFrom(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b[:min(len(b), 64)])
}

// BatchWorkflowID is the workflow ID of the batch batchID.
func BatchWorkflowID(batchID string) string { return batchIDPrefix + batchID }

// BatchIDFromWorkflowID parses a BatchWorkflowID back to the batch ID.
func BatchIDFromWorkflowID(id string) (string, bool) {
	b, ok := strings.CutPrefix(id, batchIDPrefix)
	return b, ok && b != ""
}

// BatchItem is one person of a batch as HR submitted it: a Request like a single one (UserID or
// IdentifiedBy, disposition and the optional fields), whose RequestedBy is the batch's requester
// and which carries no credential. Line says where it came from: the CSV line (the header is
// line 1) or the JSON array index plus one.
type BatchItem struct {
	Line    int     `json:"line"`
	Request Request `json:"request"`
}

// BatchInput starts a batch. Its items are stored (bundle.BatchItems) rather than carried,
// since ten thousand of them outgrow a Temporal payload.
type BatchInput struct {
	BatchID     string            `json:"batchId"`
	RequestedBy string            `json:"requestedBy"`
	RequestedAt time.Time         `json:"requestedAt"`
	Items       bundle.BatchItems `json:"items"`
	// MaxInFlight bounds the children ending access at once; 0 means the default.
	MaxInFlight int `json:"maxInFlight,omitempty"`
	// Credential proves the requester: a start credential of role hr for BatchWorkflowID(BatchID)
	// over BatchDigest(input), verified at RequestedAt.
	Credential string `json:"credential,omitempty"`
	// Resume carries a continued batch's state (continue-as-new).
	Resume json.RawMessage `json:"resume,omitempty"`
}

// BatchDigest is the digest a batch's start credential binds: SHA-256 over the input's JSON
// without its credential and resume state, base64url.
func BatchDigest(in BatchInput) string {
	in.Credential, in.Resume = "", nil
	return digestJSON(in)
}

// BatchRef is what an offboarding started by a batch knows of it (Request.Batch): the batch's
// own start credential proves the requester, verified at AcceptedAt against the run's parent.
type BatchRef struct {
	ID         string    `json:"id"`
	Line       int       `json:"line"`
	Credential string    `json:"credential,omitempty"`
	AcceptedAt time.Time `json:"acceptedAt"`
	Digest     string    `json:"digest"`
}

// BatchProgress is a child's report to its batch (SignalBatchProgress).
type BatchProgress struct {
	Line       int    `json:"line"`
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	// Stage is the child's stage now; Outcome is set once it has ended.
	Stage   Stage `json:"stage"`
	Outcome Stage `json:"outcome,omitempty"`
	// AccessEndedAt is set once the child's access-ending stage has finished.
	AccessEndedAt time.Time `json:"accessEndedAt,omitzero"`
	// Waiting is set while the child waits on people or time (scheduled, approval, retention):
	// it then no longer counts as in flight.
	Waiting bool `json:"waiting,omitempty"`
	// Error is a failed child's reason, without personal data.
	Error string `json:"error,omitempty"`
}

// BatchState is where a batch is.
type BatchState string

// Batch states.
const (
	BatchRunning   BatchState = "running"
	BatchPaused    BatchState = "paused"
	BatchCancelled BatchState = "cancelled"
	BatchCompleted BatchState = "completed"
)

// ItemOutcome is where one item of a batch is: an offboarding Stage or Outcome once its run has
// started, or one of the item outcomes below.
type ItemOutcome string

// Item outcomes before or instead of a run.
const (
	ItemPending    ItemOutcome = "pending"     // not started yet
	ItemUnresolved ItemOutcome = "unresolved"  // no single Genesys user has this email or employee ID
	ItemInFlight   ItemOutcome = "in-flight"   // the person's offboarding was already running: reported, not duplicated
	ItemRefused    ItemOutcome = "refused"     // the run could not start (invalid at start time, protected user)
	ItemNotStarted ItemOutcome = "not-started" // the batch was cancelled before it started this item
)

// BatchStatus answers a batch's QueryStatus.
type BatchStatus struct {
	BatchID     string     `json:"batchId"`
	RequestedBy string     `json:"requestedBy"`
	RequestedAt time.Time  `json:"requestedAt"`
	State       BatchState `json:"state"`
	Total       int        `json:"total"`
	Started     int        `json:"started"`
	// InFlight counts the started runs still ending access (bounded by MaxInFlight).
	InFlight    int `json:"inFlight"`
	MaxInFlight int `json:"maxInFlight"`
	// Items counts the items by where they are (an ItemOutcome, or a run's stage or outcome).
	Items map[ItemOutcome]int `json:"items"`
	// Problems counts items that failed, were refused, unresolved or already in flight.
	Problems int `json:"problems"`
	// AccessEnded counts the people whose access has ended; LastAccessEndedAt is the latest.
	AccessEnded       int       `json:"accessEnded"`
	LastAccessEndedAt time.Time `json:"lastAccessEndedAt,omitzero"`
	FinishedAt        time.Time `json:"finishedAt,omitzero"`
}

// BatchItemStatus is one item in QueryBatchItems. It holds IDs only.
type BatchItemStatus struct {
	Line          int         `json:"line"`
	UserID        string      `json:"userId,omitempty"`
	WorkflowID    string      `json:"workflowId,omitempty"`
	RunID         string      `json:"runId,omitempty"`
	Outcome       ItemOutcome `json:"outcome"`
	AccessEndedAt time.Time   `json:"accessEndedAt,omitzero"`
	FinishedAt    time.Time   `json:"finishedAt,omitzero"`
	Error         string      `json:"error,omitempty"`
}

// BatchItemsQuery pages QueryBatchItems: From is a 0-based item index, Limit at most
// MaxBatchItemsPage; Problems keeps only items that failed, were refused, unresolved or in flight.
type BatchItemsQuery struct {
	From     int  `json:"from"`
	Limit    int  `json:"limit"`
	Problems bool `json:"problems,omitempty"`
}

// MaxBatchItemsPage bounds one page of QueryBatchItems.
const MaxBatchItemsPage = 500

// BatchItemsPage is one page of a batch's items; Next is the From of the next page, 0 at the end.
type BatchItemsPage struct {
	Items []BatchItemStatus `json:"items"`
	Next  int               `json:"next,omitempty"`
	Total int               `json:"total"`
}
