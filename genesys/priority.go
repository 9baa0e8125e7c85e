package genesys

import (
	"container/heap"
	"context"
	"sync"
)

// Priority orders a request among those waiting for the Genesys budget: the lower Key first
// (Temporal's PriorityKey: 1 is served first; 0 means the default, 3), then the lower Order, then
// the order of arrival. Order is the same for every request of one run (the worker gives its run
// ID, whose UUIDv7 form sorts by when the run began), so that of many runs at one priority the
// earliest go ahead and finish first, rather than all advancing in lockstep.
type Priority struct {
	Key   int
	Order string
}

// defaultPriorityKey is Temporal's default PriorityKey, which a zero Key stands for.
const defaultPriorityKey = 3

func (p Priority) key() int {
	if p.Key <= 0 {
		return defaultPriorityKey
	}
	return p.Key
}

type priorityKey struct{}

// WithPriority returns ctx whose Genesys requests wait for the budget at priority p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityOf is the priority of ctx's requests (the default when none was set).
func PriorityOf(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// admission lets waiting requests take the rate limiter's tokens one at a time, best priority
// first; requests of equal priority go in the order they arrived.
type admission struct {
	mu      sync.Mutex
	waiting waiters
	busy    bool
	changed chan struct{}
	arrived uint64
}

// admit waits until w is the best waiter and none is taking a token, then calls take (which
// blocks until the token is there). It fails with ctx's error if ctx ends first.
func (a *admission) admit(ctx context.Context, p Priority, take func(context.Context) error) error {
	a.mu.Lock()
	w := &waiter{key: p.key(), order: p.Order, seq: a.arrived}
	a.arrived++
	heap.Push(&a.waiting, w)
	for a.busy || a.waiting[0] != w {
		if a.changed == nil {
			a.changed = make(chan struct{})
		}
		ch := a.changed
		a.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			a.mu.Lock()
			heap.Remove(&a.waiting, w.index)
			a.notifyLocked()
			a.mu.Unlock()
			return ctx.Err()
		}
		a.mu.Lock()
	}
	heap.Pop(&a.waiting)
	a.busy = true
	a.mu.Unlock()

	err := take(ctx)

	a.mu.Lock()
	a.busy = false
	a.notifyLocked()
	a.mu.Unlock()
	return err
}

// queued is how many requests wait, for tests and diagnostics.
func (a *admission) queued() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.waiting)
}

// taking reports whether a request is taking its slot, for tests.
func (a *admission) taking() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.busy
}

func (a *admission) notifyLocked() {
	if a.changed != nil {
		close(a.changed)
		a.changed = nil
	}
}

type waiter struct {
	key   int
	order string
	seq   uint64
	index int
}

// waiters is a heap of waiters, best first.
type waiters []*waiter

func (h waiters) Len() int { return len(h) }
func (h waiters) Less(i, j int) bool {
	a, b := h[i], h[j]
	switch {
	case a.key != b.key:
		return a.key < b.key
	case a.order != b.order:
		return a.order < b.order
	}
	return a.seq < b.seq
}
func (h waiters) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waiters) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waiters) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return w
}
