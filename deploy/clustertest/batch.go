package main

import (
	"context"
	"fmt"
	"time"

	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// runBatchBenchmark is the batch workload: one batch of archives through the HR API, no faults,
// measured against the rate limit's bounds (batchFigures). It returns the summary line, and an
// error when a figure misses the acceptance.
func runBatchBenchmark(ctx context.Context, c *cluster, users []emulator.UserSummary) (string, error) {
	req := hrapi.BatchRequest{MaxInFlight: c.s.maxInFlight}
	for _, u := range users {
		req.Items = append(req.Items, hrapi.OffboardingRequest{UserID: u.ID, Disposition: string(workflows.DispositionArchive),
			Reason: "batch benchmark", HREventID: "batch-" + u.ID})
	}
	start := time.Now()
	res, err := c.hr[0].CreateBatch(ctx, req, "")
	if err != nil {
		return "", fmt.Errorf("submit the batch: %w", err)
	}
	fmt.Printf("%s  batch %s of %d archives submitted\n", time.Now().UTC().Format("15:04:05"), res.BatchID, res.Total)
	if err := c.awaitBatch(ctx, res.BatchID); err != nil {
		return "", err
	}
	items, err := c.batchItems(ctx, res.BatchID)
	if err != nil {
		return "", err
	}
	calls, err := c.calls(ctx)
	if err != nil {
		return "", err
	}
	f := measureBatch(start, items, calls, c.s.rateLimit)
	line := fmt.Sprintf("batch benchmark (workers %d, %d requests/minute, budget %d): %v", len(c.workers), c.s.rateLimit, c.s.budget, f)
	if p := f.problems(); len(p) > 0 {
		for _, s := range p {
			fmt.Println("FAIL:", s)
		}
		return line, fmt.Errorf("%d figures miss the acceptance", len(p))
	}
	return line, nil
}

// awaitBatch polls the batch until it has completed, printing its progress every half minute.
func (c *cluster) awaitBatch(ctx context.Context, id string) error {
	var shown time.Time
	for {
		v, err := c.audit[0].Batch(ctx, id, hrapi.BatchQuery{PageSize: 1})
		switch {
		case err == nil && v.Status.State == workflows.BatchCompleted:
			return nil
		case err == nil && time.Since(shown) >= 30*time.Second:
			shown = time.Now()
			fmt.Printf("%s  %d of %d started, %d in flight, access ended for %d, items %v\n", shown.UTC().Format("15:04:05"),
				v.Status.Started, v.Status.Total, v.Status.InFlight, v.Status.AccessEnded, v.Status.Items)
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("the batch did not complete: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the batch did not complete in time: %w", ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

// batchItems reads every item of the batch, page by page.
func (c *cluster) batchItems(ctx context.Context, id string) ([]workflows.BatchItemStatus, error) {
	var items []workflows.BatchItemStatus
	q := hrapi.BatchQuery{PageSize: workflows.MaxBatchItemsPage}
	for {
		v, err := c.audit[0].Batch(ctx, id, q)
		if err != nil {
			return nil, fmt.Errorf("read the batch's items: %w", err)
		}
		items = append(items, v.Items...)
		if v.NextPageToken == "" {
			return items, nil
		}
		q.PageToken = v.NextPageToken
	}
}
