package genesys

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Requests that queue for the budget are served best priority first, then the oldest run's, and a
// request whose context ends leaves the queue without blocking the others.
func Test_GivenRequestsQueuedForTheBudget_ShouldServeAccessBeforeExportsAndOlderExportsFirst(t *testing.T) {
	var a admission
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	take := func(name string) func(context.Context) error {
		return func(context.Context) error {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			<-release
			return nil
		}
	}
	// The first request holds the token while the others queue behind it.
	first := make(chan error, 1)
	go func() { first <- a.admit(context.Background(), Priority{Key: 4}, take("first")) }()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 1 }, time.Second, time.Millisecond)

	// Run IDs in UUIDv7 form sort by when the run began.
	queue := []struct {
		name string
		p    Priority
	}{
		{"export-young", Priority{Key: 4, Order: "019ad6f0-0000-7000-8000-000000000002"}},
		{"export-old", Priority{Key: 4, Order: "019ad6f0-0000-7000-8000-000000000001"}},
		{"default", Priority{}},
		{"access", Priority{Key: 1, Order: "019ad6f0-0000-7000-8000-000000000009"}},
	}
	var wg sync.WaitGroup
	for _, q := range queue {
		wg.Add(1)
		go func() { defer wg.Done(); assert.NoError(t, a.admit(context.Background(), q.p, take(q.name))) }()
		require.Eventually(t, func() bool { return a.queued() >= 1 }, time.Second, time.Millisecond)
	}
	require.Eventually(t, func() bool { return a.queued() == len(queue) }, time.Second, time.Millisecond)

	gone, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() { left <- a.admit(gone, Priority{Key: 1}, take("cancelled")) }()
	require.Eventually(t, func() bool { return a.queued() == len(queue)+1 }, time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-left, context.Canceled)

	close(release)
	wg.Wait()
	require.NoError(t, <-first)
	assert.Equal(t, []string{"first", "access", "default", "export-old", "export-young"}, order)
	assert.Zero(t, a.queued())
}

// The limiter itself serves its waiting requests in that order: an access-ending request that
// comes last goes before an export's that waited longer.
func Test_GivenALimiterWithRequestsWaiting_ShouldGiveTheNextSlotToTheBestPriority(t *testing.T) {
	l := newLimiter(60, 60) // a slot a second and no burst beyond one, before Genesys reports a count
	ctx := context.Background()
	require.NoError(t, l.wait(ctx, "first", time.Minute)) // the burst
	var mu sync.Mutex
	var order []string
	done := make(chan struct{}, 3)
	send := func(name string, key int) {
		go func() {
			assert.NoError(t, l.wait(WithPriority(ctx, Priority{Key: key}), name, time.Minute))
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			done <- struct{}{}
		}()
	}
	send("export-1", 4)
	require.Eventually(t, func() bool { return l.queue.queued() == 0 && l.queue.taking() }, time.Second, time.Millisecond)
	send("export-2", 4)
	require.Eventually(t, func() bool { return l.queue.queued() == 1 }, time.Second, time.Millisecond)
	send("access", 1)
	require.Eventually(t, func() bool { return l.queue.queued() == 2 }, time.Second, time.Millisecond)
	for range 3 {
		<-done
	}
	assert.Equal(t, []string{"export-1", "access", "export-2"}, order)
}
