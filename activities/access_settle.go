package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/internal/pace"
)

// AccessOptions tunes how the access steps wait for Genesys to show their changes; zero values
// mean the defaults.
type AccessOptions struct {
	// ReadBacks bounds the reads of one step within one attempt (default 6); past it the step
	// fails with the retryable ErrNotYetConsistent and Temporal tries again with backoff.
	ReadBacks int
	// ReadBackDelay is the first wait between reads, doubled up to 4 s (default 250 ms).
	ReadBackDelay time.Duration
}

const (
	defaultReadBacks     = 6
	defaultReadBackDelay = 250 * time.Millisecond
	maxReadBackDelay     = 4 * time.Second
)

// goal is one step's part of a user's access: how to read it, whether a reading shows what the
// step wants, and the change that gets there from a reading. Changes are computed from the
// reading, so that only what differs is changed.
type goal[T any] struct {
	read   func(context.Context) (T, error)
	done   func(T) bool
	change func(context.Context, T) error
	// what names the goal for messages ("user u1 off queue").
	what string
}

// outcome is what settling a goal found: the first and last readings, and whether it changed
// anything.
type outcome[T any] struct {
	before, after T
	changed       bool
	reads         int
}

// settle reads the part, changes it unless it already shows the goal, and reads it back until it
// does, within a bounded number of reads. A version conflict on the change (Genesys station
// endpoints are eventually consistent) is retried from a fresh reading; a change that succeeded
// is not repeated while the reading lags. When the reads run out it fails with the retryable
// ErrNotYetConsistent: the step is never reported done unless a reading shows it.
func settle[T any](ctx context.Context, a *Activities, g goal[T]) (outcome[T], error) {
	var out outcome[T]
	reads := cmpOr(a.Access.ReadBacks, defaultReadBacks)
	delays := pace.Delays(cmpOr(a.Access.ReadBackDelay, defaultReadBackDelay), maxReadBackDelay, 0.2)
	pending := true // the change is still to be made (or made again after a conflict)
	var lastConflict error
	for out.reads < reads {
		cur, err := g.read(ctx)
		if err != nil {
			return out, asTemporalError(wrapf(err, "read %s", g.what))
		}
		if out.reads == 0 {
			out.before = cur
		}
		out.reads++
		out.after = cur
		if g.done(cur) {
			return out, nil
		}
		if pending {
			err := g.change(ctx, cur)
			switch {
			case genesys.KindOf(err) == genesys.KindConflict:
				lastConflict = err
			case err != nil:
				return out, asTemporalError(wrapf(err, "change %s", g.what))
			default:
				pending, out.changed = false, true
			}
		}
		if out.reads < reads {
			if err := pace.Sleep(ctx, delays.NextBackOff()); err != nil {
				return out, err
			}
		}
	}
	msg := fmt.Sprintf("Genesys Cloud does not show %s after %d reads; the step is retried", g.what, out.reads)
	if lastConflict != nil {
		msg += fmt.Sprintf(" (the last change met a version conflict: %v)", lastConflict)
	}
	return out, failure(ErrNotYetConsistent, nil, msg, out.after)
}

// result turns an outcome into the step's result, with before and after as JSON.
func result[T any](a *Activities, step AccessStep, o outcome[T], view func(T) any, how string) StepResult {
	return StepResult{
		Step: step, Changed: o.changed,
		Before: rawJSON(view(o.before)), After: rawJSON(view(o.after)),
		Verification: how, VerifiedAt: a.now(),
	}
}

// rawJSON encodes v, which is always one of this package's plain data types.
func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("activities: encode step state: " + err.Error())
	}
	return b
}

// same is the identity view, for parts whose reading is already what the audit records.
func same[T any](v T) any { return v }
