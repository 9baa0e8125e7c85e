package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/workflows"
)

// batchFigures are what the batch benchmark measures, each against its bound.
type batchFigures struct {
	items, failed int
	// calls are the Genesys API calls of the batch (logins aside), limited those answered 429,
	// access those outside analytics: the calls that end access, plus one verifying read a person.
	calls, limited, access int
	jobsLeft               int
	// wall is from the batch's submission to its last outcome; bound is calls at the rate limit,
	// the shortest wall the limit allows. accessEnded is when the last leaver's access had
	// ended, accessBound the access calls at the rate limit.
	wall, bound              time.Duration
	accessEnded, accessBound time.Duration
	// p50 and p95 are the times from submission to each person's outcome.
	p50, p95 time.Duration
}

// measureBatch computes the figures of a batch submitted at start, whose items ended as items
// say, from the emulator's call log and the limit in requests per minute.
func measureBatch(start time.Time, items []workflows.BatchItemStatus, calls []emulator.Call, perMinute int) batchFigures {
	f := batchFigures{items: len(items)}
	var finished []time.Duration
	var last time.Time
	for _, it := range items {
		if it.Outcome != workflows.ItemOutcome(workflows.OutcomeArchived) && it.Outcome != workflows.ItemOutcome(workflows.OutcomeDeleted) {
			f.failed++
		}
		if !it.FinishedAt.IsZero() {
			finished = append(finished, it.FinishedAt.Sub(start))
		}
		if it.AccessEndedAt.After(last) {
			last = it.AccessEndedAt
		}
	}
	slices.Sort(finished)
	if n := len(finished); n > 0 {
		f.wall = finished[n-1]
		f.p50, f.p95 = percentile(finished, 50), percentile(finished, 95)
	}
	if !last.IsZero() {
		f.accessEnded = last.Sub(start)
	}
	var batch []emulator.Call
	for _, c := range calls {
		if c.Time.Before(start) || c.Path == "/oauth/token" {
			continue
		}
		batch = append(batch, c)
		if !strings.Contains(c.Path, "/api/v2/analytics/") {
			f.access++
		}
	}
	var created, deleted int
	f.calls, f.limited, created, deleted = tally(batch)
	f.jobsLeft = created - deleted
	perCall := time.Minute / time.Duration(perMinute)
	f.bound, f.accessBound = time.Duration(f.calls)*perCall, time.Duration(f.access)*perCall
	return f
}

// percentile is the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// efficiency is how close the wall came to its bound: 1 is the rate limit's best.
func (f batchFigures) efficiency() float64 {
	if f.wall <= 0 {
		return 0
	}
	return f.bound.Seconds() / f.wall.Seconds()
}

// problems are the figures the acceptance refuses.
func (f batchFigures) problems() []string {
	var out []string
	if e := f.efficiency(); e < 0.9 {
		out = append(out, fmt.Sprintf("the batch took %v, %.2f of its bound %v: want at least 0.9", f.wall.Round(time.Second), e, f.bound.Round(time.Second)))
	}
	if pct := percent(f.limited, f.calls); pct > 1 {
		out = append(out, fmt.Sprintf("%.2f%% of the calls were answered 429: want at most 1%%", pct))
	}
	if f.failed > 0 {
		out = append(out, fmt.Sprintf("%d of %d people did not end archived or deleted", f.failed, f.items))
	}
	if f.jobsLeft != 0 {
		out = append(out, fmt.Sprintf("%d analytics jobs were left at Genesys", f.jobsLeft))
	}
	return out
}

// String is the benchmark's summary of the figures.
func (f batchFigures) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(time.Second) }
	return fmt.Sprintf("%d people, %d failed; wall %v against a bound of %v (%.2f); Genesys calls %d, 429s %.2f%%; analytics jobs left %d; "+
		"outcome p50 %v, p95 %v (%.0f%% and %.0f%% of the wall); last access ended at %v against a bound of %v (%d access calls)",
		f.items, f.failed, r(f.wall), r(f.bound), f.efficiency(), f.calls, percent(f.limited, f.calls), f.jobsLeft,
		r(f.p50), r(f.p95), share(f.p50, f.wall), share(f.p95, f.wall), r(f.accessEnded), r(f.accessBound), f.access)
}

func share(d, of time.Duration) float64 {
	if of <= 0 {
		return 0
	}
	return 100 * d.Seconds() / of.Seconds()
}
