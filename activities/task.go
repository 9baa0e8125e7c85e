package activities

import (
	"context"
	"time"
)

// task is work the export runs beside its own goroutine: it runs under a context of its own,
// derived from the one it was started with, and ends in one of two ways. take awaits its
// result and then cancels its context; drop cancels it and awaits it. Its result is written
// by its goroutine before done closes and read only after, so it needs no lock.
type task[T any] struct {
	cancel context.CancelFunc
	done   chan struct{}
	result T
}

// startTask runs work in a new goroutine under a cancellable child of ctx.
func startTask[T any](ctx context.Context, work func(context.Context) T) *task[T] {
	ctx, cancel := context.WithCancel(ctx)
	t := &task[T]{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		t.result = work(ctx)
	}()
	return t
}

// take waits for the task's result, calling beat every interval meanwhile, so that an activity
// keeps heartbeating. If ctx ends first, it returns ctx's error and the task runs on: drop it.
func (t *task[T]) take(ctx context.Context, every time.Duration, beat func()) (T, error) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			t.cancel()
			return t.result, nil
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-tick.C:
			beat()
		}
	}
}

// drop cancels the task, waits for its goroutine to end and returns what it produced, for the
// caller to release.
func (t *task[T]) drop() T {
	t.cancel()
	<-t.done
	return t.result
}
