package hrapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

// MemoHREventID is the memo key holding the HR event that started a run; a redelivery of the
// same event is recognised by it.
const MemoHREventID = "hrEventId"

// Service is what the HR API and the operator CLI do with Temporal. Its errors are *Problem
// values whose Status says what went wrong.
type Service struct {
	Client client.Client
	Policy workflows.Policy
	// Signer signs decision credentials; without it the service submits only credentials
	// issued elsewhere (the operator CLI's case).
	Signer *credential.Signer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// DataConverter is the Temporal client's (config.DataConverter), with which the service
	// reads memos, encrypted like every payload; nil means the SDK's default.
	DataConverter converter.DataConverter
	// Store is the export store, where batches keep their items; nil takes no batch.
	Store *bundle.Store
	// pages signs List's page tokens; New sets it. Without it (the operator CLI, which
	// reaches Temporal anyway) the tokens are Temporal's own, in base64url.
	pages *pageTokens
}

func (s *Service) dataConverter() converter.DataConverter {
	if s.DataConverter != nil {
		return s.DataConverter
	}
	return converter.GetDefaultDataConverter()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// StartResult names the run of an offboarding. Existing is set when the request was a
// redelivery of the HR event that started the run, and nothing new was started.
type StartResult struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	Existing   bool   `json:"existing,omitempty"`
}

// Start starts the offboarding of a validated request. The same HREventID again returns the
// existing run; another request for a user whose offboarding is in flight is a 409 Problem.
// A request that names the person by email or employee ID instead (UserID empty, IdentifiedBy
// set) is resolved first through the workers; an unknown or ambiguous person is a 422 Problem.
func (s *Service) Start(ctx context.Context, req workflows.Request) (StartResult, error) {
	if req.UserID == "" && req.IdentifiedBy != nil {
		if err := s.resolve(ctx, &req); err != nil {
			return StartResult{}, err
		}
	}
	if err := workflows.ValidateRequest(req, s.Policy, s.now()); err != nil {
		var v *workflows.ValidationError
		if errors.As(err, &v) {
			return StartResult{}, invalid("the offboarding request is invalid; nothing was started", v.Fields...)
		}
		return StartResult{}, invalid(err.Error())
	}
	id := workflows.WorkflowID(req.UserID)
	if res, done, err := s.existing(ctx, id, req.HREventID); done || err != nil {
		return res, err
	}
	if err := s.signStart(&req); err != nil {
		return StartResult{}, err
	}
	opts := client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                workflows.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     map[string]any{MemoHREventID: req.HREventID},
		TypedSearchAttributes:                    workflows.StartSearchAttributes(req),
		StaticSummary:                            workflows.StaticSummary(req),
		StaticDetails:                            workflows.StaticDetails(req, s.Policy),
	}
	run, err := s.Client.ExecuteWorkflow(ctx, opts, workflows.WorkflowType, req)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			// Another delivery won the race: decide against what it started.
			if res, done, err := s.existing(ctx, id, req.HREventID); done || err != nil {
				return res, err
			}
			return StartResult{}, conflict(fmt.Sprintf("%s was started concurrently by another request; retry", id))
		}
		return StartResult{}, temporalProblem("start the offboarding", err)
	}
	return StartResult{WorkflowID: run.GetID(), RunID: run.GetRunID()}, nil
}

// existing decides a start against the latest run of id: the same HR event is that run
// (done), a running run of another event is a conflict, and anything else lets a start proceed.
func (s *Service) existing(ctx context.Context, id, hrEventID string) (StartResult, bool, error) {
	desc, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return StartResult{}, false, nil
	}
	if err != nil {
		return StartResult{}, false, temporalProblem("look up the offboarding", err)
	}
	info := desc.GetWorkflowExecutionInfo()
	var prev string
	if p := info.GetMemo().GetFields()[MemoHREventID]; p != nil {
		_ = s.dataConverter().FromPayload(p, &prev)
	}
	runID := info.GetFirstRunId()
	if runID == "" {
		runID = info.GetExecution().GetRunId()
	}
	if prev != "" && prev == hrEventID {
		return StartResult{WorkflowID: id, RunID: runID, Existing: true}, true, nil
	}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		p := conflict(fmt.Sprintf("an offboarding of this user is already in flight (HR event %q); cancel it or wait for it to finish", prev))
		p.WorkflowID = id
		return StartResult{}, true, p
	}
	return StartResult{}, false, nil
}

// Status returns the status query of the user's latest offboarding.
func (s *Service) Status(ctx context.Context, userID string) (workflows.Status, error) {
	if p := checkUserID(userID); p != nil {
		return workflows.Status{}, p
	}
	id := workflows.WorkflowID(userID)
	v, err := s.Client.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		return workflows.Status{}, temporalProblem("read the offboarding's status", err)
	}
	var st workflows.Status
	if err := v.Get(&st); err != nil {
		return workflows.Status{}, internal("read the offboarding's status", err)
	}
	return st, nil
}

// ListQuery filters and pages List.
type ListQuery struct {
	Stage       string
	Disposition string
	PageToken   string
	PageSize    int
}

// ListItem is one offboarding in a list, from visibility (it may lag the status query).
type ListItem struct {
	WorkflowID  string    `json:"workflowId"`
	RunID       string    `json:"runId"`
	UserID      string    `json:"userId"`
	Stage       string    `json:"stage,omitempty"`
	Disposition string    `json:"disposition,omitempty"`
	RequestedBy string    `json:"requestedBy,omitempty"`
	Status      string    `json:"status"`
	StartTime   time.Time `json:"startTime"`
	CloseTime   time.Time `json:"closeTime,omitzero"`
}

// ListPage is a page of offboardings, newest first.
type ListPage struct {
	Items         []ListItem `json:"items"`
	NextPageToken string     `json:"nextPageToken,omitempty"`
}

// DefaultPageSize and MaxPageSize bound List pages.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// VisibilityQuery builds the visibility query for q. Values are checked against the known
// stages and dispositions before they are quoted, so the query cannot be injected.
func VisibilityQuery(q ListQuery) (string, error) {
	var fields []workflows.FieldError
	parts := []string{fmt.Sprintf("WorkflowType = '%s'", workflows.WorkflowType)}
	if q.Stage != "" {
		if !slices.Contains(workflows.Stages(), workflows.Stage(q.Stage)) {
			names := make([]string, 0, len(workflows.Stages()))
			for _, s := range workflows.Stages() {
				names = append(names, string(s))
			}
			fields = append(fields, workflows.FieldError{Field: "stage", Message: fmt.Sprintf("%q is unknown: use one of %s", clip(q.Stage), strings.Join(names, ", "))})
		} else {
			parts = append(parts, fmt.Sprintf("%s = '%s'", workflows.SAStage, q.Stage))
		}
	}
	if q.Disposition != "" {
		if q.Disposition != string(workflows.DispositionArchive) && q.Disposition != string(workflows.DispositionDelete) {
			fields = append(fields, workflows.FieldError{Field: "disposition", Message: fmt.Sprintf("%q is unknown: use archive or delete", clip(q.Disposition))})
		} else {
			parts = append(parts, fmt.Sprintf("%s = '%s'", workflows.SADisposition, q.Disposition))
		}
	}
	if q.PageSize < 0 || q.PageSize > MaxPageSize {
		fields = append(fields, workflows.FieldError{Field: "pageSize", Message: fmt.Sprintf("must be between 1 and %d", MaxPageSize)})
	}
	if len(fields) > 0 {
		return "", invalid("the list query is invalid", fields...)
	}
	return strings.Join(parts, " AND "), nil
}

// List lists offboardings from visibility. A page token that the HR API did not sign for
// this query is refused (400) without asking Temporal.
func (s *Service) List(ctx context.Context, q ListQuery) (ListPage, error) {
	query, err := VisibilityQuery(q)
	if err != nil {
		return ListPage{}, err
	}
	if q.PageSize == 0 {
		q.PageSize = DefaultPageSize
	}
	token, err := s.openPageToken(q)
	if err != nil {
		return ListPage{}, err
	}
	resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		PageSize: int32(q.PageSize), NextPageToken: token, Query: query,
	})
	if err != nil {
		var ia *serviceerror.InvalidArgument
		if errors.As(err, &ia) && token != nil {
			return ListPage{}, badPageToken("was rejected by Temporal")
		}
		return ListPage{}, temporalProblem("list offboardings", err)
	}
	page := ListPage{Items: []ListItem{}}
	dc := converter.GetDefaultDataConverter()
	for _, e := range resp.GetExecutions() {
		sa := e.GetSearchAttributes().GetIndexedFields()
		str := func(name string) string {
			var v string
			if p := sa[name]; p != nil {
				_ = dc.FromPayload(p, &v)
			}
			return v
		}
		item := ListItem{
			WorkflowID:  e.GetExecution().GetWorkflowId(),
			RunID:       e.GetExecution().GetRunId(),
			UserID:      str(workflows.SAGenesysUserID),
			Stage:       str(workflows.SAStage),
			Disposition: str(workflows.SADisposition),
			RequestedBy: str(workflows.SARequestedBy),
			Status:      statusName(e.GetStatus()),
			StartTime:   e.GetStartTime().AsTime(),
		}
		if item.UserID == "" {
			item.UserID, _ = workflows.UserIDFromWorkflowID(item.WorkflowID)
		}
		if e.GetCloseTime() != nil {
			item.CloseTime = e.GetCloseTime().AsTime()
		}
		page.Items = append(page.Items, item)
	}
	if next := resp.GetNextPageToken(); len(next) > 0 {
		page.NextPageToken = base64.RawURLEncoding.EncodeToString(next)
		if s.pages != nil {
			page.NextPageToken = s.pages.sign(q, next)
		}
	}
	return page, nil
}

// openPageToken is Temporal's token for the page q asks for: nil for the first page.
func (s *Service) openPageToken(q ListQuery) ([]byte, error) {
	switch {
	case q.PageToken == "":
		return nil, nil
	case s.pages != nil:
		return s.pages.open(q, q.PageToken)
	}
	token, err := base64.RawURLEncoding.DecodeString(q.PageToken)
	if err != nil {
		return nil, badPageToken("is not a token this API returned")
	}
	return token, nil
}

func statusName(s enumspb.WorkflowExecutionStatus) string {
	name := strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_")
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// update sends the update name with arg to the user's running offboarding and answers the
// status afterwards. A refusal by the workflow is a 409 Problem with its reason.
func (s *Service) update(ctx context.Context, userID, name string, arg any) (workflows.Status, error) {
	if p := checkUserID(userID); p != nil {
		return workflows.Status{}, p
	}
	if err := s.sendUpdate(ctx, workflows.WorkflowID(userID), name, arg); err != nil {
		return workflows.Status{}, err
	}
	return s.Status(ctx, userID)
}

// sendUpdate sends the update name with arg to the running workflow id and waits for its
// outcome. A refusal by the workflow is a 409 Problem with its reason.
func (s *Service) sendUpdate(ctx context.Context, id, name string, arg any) error {
	if _, err := s.stillRunning(ctx, id, name); err != nil {
		return err
	}
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		if p := rejection(id, name, err); p != nil {
			return p
		}
		// A run that finished between the look-up and the update is not missing: say it finished.
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			if _, ferr := s.stillRunning(ctx, id, name); ferr != nil {
				return ferr
			}
		}
		return temporalProblem("send the "+name+" decision to the offboarding", err)
	}
	return nil
}

// stillRunning answers the offboarding id's execution while it runs, and a 409 Problem once it
// has finished, for the update name.
func (s *Service) stillRunning(ctx context.Context, id, name string) (*workflowpb.WorkflowExecutionInfo, error) {
	desc, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, temporalProblem("look up the offboarding", err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if st := info.GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		p := conflict(fmt.Sprintf("the offboarding has already finished (%s): %s is no longer accepted", statusName(st), name))
		p.WorkflowID = id
		return nil, p
	}
	return info, nil
}

// rejection turns an update failure raised by the workflow (validator or handler) into a 409.
func rejection(id, name string, err error) *Problem {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return nil
	}
	msg := app.Message()
	if msg == "" {
		msg = app.Error()
	}
	p := newProblem(TypeRejected, name+" rejected: "+msg)
	p.WorkflowID = id
	return p
}

func checkUserID(userID string) *Problem {
	if !workflows.IsUUID(userID) {
		return invalid("the user ID in the path is invalid", workflows.FieldError{Field: "userId", Message: fmt.Sprintf("%q is not a UUID such as 3f2504e0-4f89-41d3-9a0c-0305e82c3301", clip(userID))})
	}
	return nil
}

// temporalProblem classifies a Temporal error met while doing what (in the caller's terms,
// "read the offboarding's status"): not found, unavailable, invalid or internal. The error
// itself is the problem's cause, for the server log only: it names Temporal operations.
func temporalProblem(what string, err error) *Problem {
	var nf *serviceerror.NotFound
	var unavailable *serviceerror.Unavailable
	var dl *serviceerror.DeadlineExceeded
	var ia *serviceerror.InvalidArgument
	var p *Problem
	switch {
	case errors.As(err, &nf):
		p = notFound("no offboarding of this user was found")
	case errors.As(err, &unavailable), errors.As(err, &dl), errors.Is(err, context.DeadlineExceeded):
		p = newProblem(TypeUnavailable, "could not "+what+": Temporal did not answer in time; retry later")
	case errors.As(err, &ia):
		p = invalid("could not " + what + ": Temporal refused the request as invalid")
	default:
		return internal(what, err)
	}
	p.cause = err
	return p
}
