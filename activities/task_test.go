package activities

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func Test_GivenAFinishedTask_ShouldTakeItsResultAndCancelItsContext(t *testing.T) {
	var workCtx context.Context
	tk := startTask(context.Background(), func(ctx context.Context) int { workCtx = ctx; return 42 })
	v, err := tk.take(context.Background(), time.Hour, func() { t.Error("no beat expected") })
	require.NoError(t, err)
	assert.Equal(t, 42, v)
	assert.Error(t, workCtx.Err(), "a taken task's context is cancelled, releasing its resources")
}

func Test_GivenASlowTask_ShouldBeatWhileTakingIt(t *testing.T) {
	release := make(chan struct{})
	tk := startTask(context.Background(), func(context.Context) string { <-release; return "done" })
	var beats atomic.Int32
	beat := func() {
		if beats.Add(1) == 3 {
			close(release)
		}
	}
	v, err := tk.take(context.Background(), time.Millisecond, beat)
	require.NoError(t, err)
	assert.Equal(t, "done", v)
	assert.GreaterOrEqual(t, beats.Load(), int32(3))
}

func Test_GivenTheCallersContextEnds_ShouldStopTakingAndLeaveTheTaskToDrop(t *testing.T) {
	tk := startTask(context.Background(), func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tk.take(ctx, time.Hour, func() {})
	require.ErrorIs(t, err, context.Canceled)
	select {
	case <-tk.done:
		t.Fatal("the task ended with the caller's context; only drop ends it")
	case <-time.After(10 * time.Millisecond):
	}
	assert.ErrorIs(t, tk.drop(), context.Canceled, "drop cancels the task and returns its result")
}

func Test_GivenARunningTask_ShouldCancelAndAwaitItOnDrop(t *testing.T) {
	var ended atomic.Bool
	tk := startTask(context.Background(), func(ctx context.Context) int {
		<-ctx.Done()
		ended.Store(true)
		return 7
	})
	assert.Equal(t, 7, tk.drop())
	assert.True(t, ended.Load(), "drop returns only once the goroutine has ended")
}

func Test_GivenAParentContextCancelled_ShouldCancelTheTask(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	tk := startTask(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	cancel()
	<-tk.done
	assert.ErrorIs(t, tk.drop(), context.Canceled)
}
