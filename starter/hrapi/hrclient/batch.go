package hrclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// BatchOptions are a batch's settings besides its items.
type BatchOptions struct {
	// IdempotencyKey, when set, names the batch: the same items under it again answer the batch
	// already started, with Existing set.
	IdempotencyKey string
	// MaxInFlight bounds the offboardings working at once; 0 is the batch's default.
	MaxInFlight int
}

// CreateBatch starts a batch of offboardings (role hr). Invalid items are a *hrapi.Problem
// whose Items lists each with its line.
func (c *Client) CreateBatch(ctx context.Context, req hrapi.BatchRequest, key string) (hrapi.BatchResult, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return hrapi.BatchResult{}, fmt.Errorf("POST /v1/batches: encode the body: %w", err)
	}
	return c.createBatch(ctx, b, "application/json", BatchOptions{IdempotencyKey: key})
}

// CreateBatchJSON starts a batch from the JSON of a BatchRequest as it is, which the API reads
// strictly (a file HR wrote, say).
func (c *Client) CreateBatchJSON(ctx context.Context, body []byte, opts BatchOptions) (hrapi.BatchResult, error) {
	return c.createBatch(ctx, body, "application/json", opts)
}

// CreateBatchCSV starts a batch from a CSV file (a header row, then one person a row).
func (c *Client) CreateBatchCSV(ctx context.Context, csv []byte, opts BatchOptions) (hrapi.BatchResult, error) {
	return c.createBatch(ctx, csv, "text/csv; charset=utf-8", opts)
}

func (c *Client) createBatch(ctx context.Context, body []byte, contentType string, opts BatchOptions) (hrapi.BatchResult, error) {
	const method = http.MethodPost
	path := "/v1/batches"
	if opts.MaxInFlight != 0 {
		path += "?maxInFlight=" + strconv.Itoa(opts.MaxInFlight)
	}
	var res hrapi.BatchResult
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return res, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", contentType)
	if opts.IdempotencyKey != "" {
		req.Header.Set(hrapi.IdempotencyKeyHeader, opts.IdempotencyKey)
	}
	err = c.send(req, method, path, &res)
	return res, err
}

// Batch is the batch's status and one page of its items (roles hr and auditor).
func (c *Client) Batch(ctx context.Context, batchID string, q hrapi.BatchQuery) (hrapi.BatchView, error) {
	v := url.Values{}
	if q.PageToken != "" {
		v.Set("pageToken", q.PageToken)
	}
	if q.PageSize != 0 {
		v.Set("pageSize", strconv.Itoa(q.PageSize))
	}
	if q.Problems {
		v.Set("problems", "true")
	}
	path := batch(batchID, "")
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var view hrapi.BatchView
	err := c.call(ctx, http.MethodGet, path, nil, &view)
	return view, err
}

// PauseBatch pauses the batch (role hr): no more offboardings start until ResumeBatch.
func (c *Client) PauseBatch(ctx context.Context, batchID, reason string) (workflows.BatchStatus, error) {
	return c.controlBatch(ctx, batchID, workflows.UpdatePauseBatch, reason)
}

// ResumeBatch resumes a paused batch (role hr).
func (c *Client) ResumeBatch(ctx context.Context, batchID, reason string) (workflows.BatchStatus, error) {
	return c.controlBatch(ctx, batchID, workflows.UpdateResumeBatch, reason)
}

// CancelBatch cancels the batch (role hr): the items not started are not started.
func (c *Client) CancelBatch(ctx context.Context, batchID, reason string) (workflows.BatchStatus, error) {
	return c.controlBatch(ctx, batchID, workflows.UpdateCancelBatch, reason)
}

func (c *Client) controlBatch(ctx context.Context, batchID, update, reason string) (workflows.BatchStatus, error) {
	var st workflows.BatchStatus
	err := c.call(ctx, http.MethodPost, batch(batchID, update), hrapi.ControlRequest{Reason: reason}, &st)
	return st, err
}

// batch is the path of the batch, or of one of its controls.
func batch(batchID, control string) string { return resource("/v1/batches/", batchID, control) }
