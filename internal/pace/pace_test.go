package pace_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/internal/pace"
)

func Test_GivenNoJitter_ShouldDoubleUpToTheCap(t *testing.T) {
	d := pace.Delays(time.Second, 5*time.Second, 0)
	var got []time.Duration
	for range 5 {
		got = append(got, d.NextBackOff())
	}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}, got)
}

func Test_GivenNoCap_ShouldKeepDoubling(t *testing.T) {
	d := pace.Delays(time.Millisecond, 0, 0)
	for range 20 {
		d.NextBackOff()
	}
	assert.Equal(t, time.Millisecond<<20, d.NextBackOff())
}

func Test_GivenJitter_ShouldStayWithinItsBounds(t *testing.T) {
	d := pace.Delays(100*time.Millisecond, 0, 0.5)
	for i := range 6 {
		base := 100 * time.Millisecond << i
		got := d.NextBackOff()
		assert.GreaterOrEqual(t, got, base/2, "try %d", i)
		assert.LessOrEqual(t, got, base*3/2, "try %d", i)
	}
}

func Test_GivenTriesNotDone_ShouldWaitTheDelaysBetweenThem(t *testing.T) {
	var waited []time.Duration
	wait := func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }
	tries := 0
	v, err := pace.Until(context.Background(), pace.Delays(time.Second, 3*time.Second, 0), wait,
		func(context.Context) (int, bool, error) { tries++; return tries, tries == 4, nil })
	require.NoError(t, err)
	assert.Equal(t, 4, v)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, waited)
}

func Test_GivenATryFails_ShouldStopWithItsError(t *testing.T) {
	boom := errors.New("boom")
	_, err := pace.Until(context.Background(), pace.Delays(time.Millisecond, 0, 0), pace.Sleep,
		func(context.Context) (int, bool, error) { return 0, false, boom })
	assert.ErrorIs(t, err, boom)
}

func Test_GivenTheContextEndsWhileWaiting_ShouldReturnItsError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	tries := 0
	_, err := pace.Until(ctx, pace.Delays(time.Hour, 0, 0), pace.Sleep, func(context.Context) (int, bool, error) {
		tries++
		cancel()
		return 0, false, nil
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, tries)
}
