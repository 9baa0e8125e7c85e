package hrapi

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

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

// BatchSubmission is a validated batch, ready to store and start.
type BatchSubmission struct {
	// ID names the batch: the caller's Idempotency-Key, or a random UUID.
	ID          string
	RequestedBy string
	RequestedAt time.Time
	Items       []workflows.BatchItem
	MaxInFlight int
}

// BatchResult answers POST /v1/batches. Existing is set when the same items under the same
// Idempotency-Key had started the batch already.
type BatchResult struct {
	BatchID    string     `json:"batchId"`
	WorkflowID string     `json:"workflowId"`
	RunID      string     `json:"runId"`
	Total      int        `json:"total"`
	Existing   bool       `json:"existing,omitempty"`
	Links      BatchLinks `json:"links"`
}

// BatchLinks are the batch's routes.
type BatchLinks struct {
	Self   string `json:"self"`
	Pause  string `json:"pause"`
	Resume string `json:"resume"`
	Cancel string `json:"cancel"`
}

// BatchQuery pages GET /v1/batches/{batchId}. PageToken is the nextPageToken of the page
// before: the index of the next item, which binds nothing (every page is the caller's to read).
type BatchQuery struct {
	PageToken string
	PageSize  int
	Problems  bool
}

// BatchView answers GET /v1/batches/{batchId}: the batch's status and one page of its items.
type BatchView struct {
	Status        workflows.BatchStatus       `json:"status"`
	Items         []workflows.BatchItemStatus `json:"items"`
	NextPageToken string                      `json:"nextPageToken,omitempty"`
}

// DefaultBatchPageSize is the page size of GET /v1/batches/{batchId} without pageSize.
const DefaultBatchPageSize = 100

// checkBatchID refuses a batch ID that the API would never make or take.
func checkBatchID(field, id string) *Problem {
	if !workflows.ValidBatchID(id) {
		return invalid("the batch ID is invalid", workflows.FieldError{Field: field,
			Message: fmt.Sprintf("%q is not 1 to 64 letters, digits, '.', '_' or '-' beginning with a letter or digit", clip(id))})
	}
	return nil
}

// batchLinks are the routes of batch id.
func batchLinks(id string) BatchLinks {
	self := "/v1/batches/" + id
	return BatchLinks{Self: self, Pause: self + "/" + workflows.UpdatePauseBatch, Resume: self + "/" + workflows.UpdateResumeBatch, Cancel: self + "/" + workflows.UpdateCancelBatch}
}

// StartBatch stores the batch's items once and starts its workflow, proven by a start
// credential over the batch's digest. The same items under the same ID again answer the batch
// already started (Existing); other items under an ID already used are a 409 Problem.
func (s *Service) StartBatch(ctx context.Context, sub BatchSubmission) (BatchResult, error) {
	if s.Store == nil {
		return BatchResult{}, newProblem(TypeBatchesOff, "this HR API has no export store, where batches keep their items: operators set OFFBOARD_EXPORT_URL for `starter serve`")
	}
	ref, at, err := s.storeItems(ctx, sub)
	if err != nil {
		return BatchResult{}, err
	}
	id := workflows.BatchWorkflowID(sub.ID)
	res := BatchResult{BatchID: sub.ID, WorkflowID: id, Total: ref.Count, Links: batchLinks(sub.ID)}
	if run, found, err := s.firstRun(ctx, id); found || err != nil {
		res.RunID, res.Existing = run, true
		return res, err
	}
	in := workflows.BatchInput{BatchID: sub.ID, RequestedBy: sub.RequestedBy, RequestedAt: at, Items: ref, MaxInFlight: sub.MaxInFlight}
	if in.Credential, err = s.signBatch(in); err != nil {
		return BatchResult{}, err
	}
	// A batch ID names one batch for good: no second run under it, even once it has closed.
	run, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue, StaticSummary: batchSummary(sub),
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.KeyBatchID.ValueSet(sub.ID)),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.BatchWorkflowType, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		// Another submission of the same items won the race.
		res.RunID, res.Existing = started.RunId, true
		return res, nil
	case err != nil:
		return BatchResult{}, temporalProblem("start the batch", err)
	}
	res.RunID = run.GetRunID()
	return res, nil
}

// storeItems writes the items once and answers their reference and the time they were
// requested at. Items stored already under the ID are taken when they are the same but for
// that time (a submission again), and refused otherwise.
func (s *Service) storeItems(ctx context.Context, sub BatchSubmission) (bundle.BatchItems, time.Time, error) {
	lines, err := itemLines(sub.Items, sub.RequestedAt)
	if err != nil {
		return bundle.BatchItems{}, time.Time{}, internal("encode the batch's items", err)
	}
	ref, err := s.Store.WriteBatchItems(ctx, sub.ID, lines)
	if err == nil {
		return ref, sub.RequestedAt, nil
	}
	if !errors.Is(err, bundle.ErrObjectExists) {
		return bundle.BatchItems{}, time.Time{}, internal("store the batch's items", err)
	}
	stored, err := s.Store.ReadAll(ctx, bundle.BatchItemsKey(sub.ID))
	if err != nil {
		return bundle.BatchItems{}, time.Time{}, internal("read the batch's stored items", err)
	}
	var first workflows.BatchItem
	_ = json.Unmarshal(stored[:max(0, bytes.IndexByte(stored, '\n'))], &first)
	at := first.Request.RequestedAt
	again, err := itemLines(sub.Items, at)
	if err != nil || !sameLines(again, stored) {
		p := conflict("another batch with other items was submitted under this Idempotency-Key: send these items under a new key")
		p.WorkflowID = workflows.BatchWorkflowID(sub.ID)
		return bundle.BatchItems{}, time.Time{}, p
	}
	sum := sha256.Sum256(stored)
	return bundle.BatchItems{Key: bundle.BatchItemsKey(sub.ID), Count: len(again), SHA256: hex.EncodeToString(sum[:])}, at, nil
}

// itemLines are the items as stored, each requested at at.
func itemLines(items []workflows.BatchItem, at time.Time) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(items))
	for _, it := range items {
		it.Request.RequestedAt = at
		b, err := json.Marshal(it)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// sameLines says whether stored holds exactly lines, one a line.
func sameLines(lines []json.RawMessage, stored []byte) bool {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return bytes.Equal(b.Bytes(), stored)
}

// firstRun is the first run ID of the workflow id, and whether it exists.
func (s *Service) firstRun(ctx context.Context, id string) (string, bool, error) {
	desc, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return "", false, nil
	case err != nil:
		return "", false, temporalProblem("look up the batch", err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if run := info.GetFirstRunId(); run != "" {
		return run, true, nil
	}
	return info.GetExecution().GetRunId(), true, nil
}

// signBatch is the start credential of the batch: role hr, bound to its workflow and digest,
// issued at the time the batch was requested, at which the workflow verifies it.
func (s *Service) signBatch(in workflows.BatchInput) (string, error) {
	if s.Signer == nil {
		return "", newProblem(TypeNoSigningKey, "this service has no decision signing key, so it cannot prove who asks: start batches through the HR API")
	}
	tok, err := s.Signer.Issue(credential.Claims{Identity: in.RequestedBy, Role: credential.RoleHR, Action: credential.ActionStart,
		WorkflowID: workflows.BatchWorkflowID(in.BatchID), Request: workflows.BatchDigest(in), IssuedAt: in.RequestedAt, ExpiresAt: in.RequestedAt.Add(actTTL)})
	if err != nil {
		return "", invalid("the batch cannot be signed: " + err.Error())
	}
	return tok, nil
}

// batchSummary is the batch's summary in the Temporal UI: counts and the requester, no person.
func batchSummary(sub BatchSubmission) string {
	by := map[workflows.Disposition]int{}
	for _, it := range sub.Items {
		by[it.Request.Disposition]++
	}
	return fmt.Sprintf("batch of %d (%d archive, %d delete) by %s", len(sub.Items), by[workflows.DispositionArchive], by[workflows.DispositionDelete], sub.RequestedBy)
}

// Batch answers the batch's status and a page of its items.
func (s *Service) Batch(ctx context.Context, batchID string, q BatchQuery) (BatchView, error) {
	if p := checkBatchID("batchId", batchID); p != nil {
		return BatchView{}, p
	}
	iq, err := itemsQuery(q)
	if err != nil {
		return BatchView{}, err
	}
	st, err := s.BatchStatus(ctx, batchID)
	if err != nil {
		return BatchView{}, err
	}
	var page workflows.BatchItemsPage
	if err := s.queryBatch(ctx, batchID, workflows.QueryBatchItems, &page, iq); err != nil {
		return BatchView{}, err
	}
	view := BatchView{Status: st, Items: page.Items}
	if view.Items == nil {
		view.Items = []workflows.BatchItemStatus{}
	}
	if page.Next > 0 {
		view.NextPageToken = fmt.Sprint(page.Next)
	}
	return view, nil
}

// itemsQuery is the workflow's query for the page q asks for.
func itemsQuery(q BatchQuery) (workflows.BatchItemsQuery, error) {
	iq := workflows.BatchItemsQuery{Limit: DefaultBatchPageSize, Problems: q.Problems}
	var fields []workflows.FieldError
	if q.PageSize != 0 {
		iq.Limit = q.PageSize
	}
	if iq.Limit < 1 || iq.Limit > workflows.MaxBatchItemsPage {
		fields = append(fields, workflows.FieldError{Field: "pageSize", Message: fmt.Sprintf("must be between 1 and %d", workflows.MaxBatchItemsPage)})
	}
	if q.PageToken != "" {
		if _, err := fmt.Sscan(q.PageToken, &iq.From); err != nil || iq.From < 1 || fmt.Sprint(iq.From) != q.PageToken {
			fields = append(fields, workflows.FieldError{Field: "pageToken", Message: "is not a token this API returned; omit it to start from the first page"})
		}
	}
	if len(fields) > 0 {
		return iq, invalid("the batch query is invalid", fields...)
	}
	return iq, nil
}

// BatchStatus is the batch's status query.
func (s *Service) BatchStatus(ctx context.Context, batchID string) (workflows.BatchStatus, error) {
	var st workflows.BatchStatus
	err := s.queryBatch(ctx, batchID, workflows.QueryStatus, &st)
	return st, err
}

// queryBatch asks the batch the query name with args into v.
func (s *Service) queryBatch(ctx context.Context, batchID, name string, v any, args ...any) error {
	enc, err := s.Client.QueryWorkflow(ctx, workflows.BatchWorkflowID(batchID), "", name, args...)
	var failed *serviceerror.QueryFailed
	switch {
	case errors.As(err, &failed):
		// A batch answers once its first workflow task has run: a moment after its start.
		p := newProblem(TypeUnavailable, "the batch does not answer yet (it may have only just started): retry in a few seconds")
		p.cause = err
		return p
	case err != nil:
		return asBatch(temporalProblem("read the batch", err))
	}
	if err := enc.Get(v); err != nil {
		return internal("read the batch", err)
	}
	return nil
}

// batchActions are the credential actions of the batch's controls.
var batchActions = map[string]credential.Action{
	workflows.UpdatePauseBatch:  credential.ActionHold,
	workflows.UpdateResumeBatch: credential.ActionRelease,
	workflows.UpdateCancelBatch: credential.ActionCancel,
}

// ControlBatch pauses, resumes or cancels the batch as who: it issues a short-lived
// credential for the batch's first run and sends it as the update of that name.
func (s *Service) ControlBatch(ctx context.Context, batchID, update string, who Principal, reason string) (workflows.BatchStatus, error) {
	if p := checkBatchID("batchId", batchID); p != nil {
		return workflows.BatchStatus{}, p
	}
	if s.Signer == nil {
		return workflows.BatchStatus{}, newProblem(TypeNoSigningKey, "this HR API has no decision signing key, so it cannot control batches; configure one")
	}
	c, err := s.claimsFor(who, CredentialRequest{Action: string(batchActions[update]), Comment: reason, TTL: workflows.Duration(actTTL).String()})
	if err != nil {
		return workflows.BatchStatus{}, err
	}
	c.WorkflowID = workflows.BatchWorkflowID(batchID)
	info, err := s.stillRunning(ctx, c.WorkflowID, update)
	if err != nil {
		return workflows.BatchStatus{}, asBatch(err)
	}
	if c.RunID = info.GetFirstRunId(); c.RunID == "" {
		c.RunID = info.GetExecution().GetRunId()
	}
	tok, err := s.Signer.Issue(c)
	if err != nil {
		return workflows.BatchStatus{}, invalid("the credential cannot be issued: " + err.Error())
	}
	if err := s.sendUpdate(ctx, c.WorkflowID, update, workflows.SignedDecision{Credential: tok}); err != nil {
		return workflows.BatchStatus{}, asBatch(err)
	}
	return s.BatchStatus(ctx, batchID)
}

// asBatch words a problem about an offboarding, from the helpers batches share with
// offboardings, as one about the batch.
func asBatch(err error) error {
	var p *Problem
	if !errors.As(err, &p) {
		return err
	}
	if p.Status == 404 {
		p.Detail = "no batch with this ID was found"
	}
	p.Detail = strings.ReplaceAll(p.Detail, "the offboarding", "the batch")
	return p
}
