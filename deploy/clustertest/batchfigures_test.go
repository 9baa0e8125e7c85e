package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/workflows"
)

func Test_GivenABatchAndItsCalls_ShouldMeasureItAgainstItsBounds(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	archived := workflows.ItemOutcome(workflows.OutcomeArchived)
	var items []workflows.BatchItemStatus
	for i := 1; i <= 10; i++ {
		items = append(items, workflows.BatchItemStatus{Line: i, Outcome: archived, AccessEndedAt: at(i), FinishedAt: at(10 * i)})
	}
	items[9].Outcome = workflows.ItemOutcome(workflows.OutcomeFailed)
	calls := []emulator.Call{
		{Time: at(-1), Method: "GET", Path: "/api/v2/users/u0", Status: 200}, // before the batch
		{Time: at(1), Method: "POST", Path: "/oauth/token", Status: 200},
		{Time: at(1), Method: "PATCH", Path: "/api/v2/users/u1", Status: 200},
		{Time: at(2), Method: "GET", Path: "/api/v2/users/u1", Status: 429},
		{Time: at(3), Method: "POST", Path: "/api/v2/analytics/conversations/details/jobs", Status: 202},
		{Time: at(4), Method: "GET", Path: "/api/v2/analytics/conversations/details/jobs/j1", Status: 200},
	}

	f := measureBatch(t0, items, calls, 60)

	assert.Equal(t, 4, f.calls)
	assert.Equal(t, 1, f.limited)
	assert.Equal(t, 2, f.access)
	assert.Equal(t, 1, f.jobsLeft, "a job created and never deleted")
	assert.Equal(t, 1, f.failed)
	assert.Equal(t, 100*time.Second, f.wall)
	assert.Equal(t, 4*time.Second, f.bound)
	assert.Equal(t, 2*time.Second, f.accessBound)
	assert.Equal(t, 10*time.Second, f.accessEnded)
	assert.Equal(t, 50*time.Second, f.p50)
	assert.Equal(t, 100*time.Second, f.p95)
	assert.Len(t, f.problems(), 4, "efficiency, 429s, a failure and a job left: %v", f.problems())
}
