package emulator

import (
	"testing"
	"time"
)

func Test_GivenUnixMilliseconds_ShouldFormatThemLikeTimeFormat(t *testing.T) {
	for _, ms := range []int64{0, 1, 999, 1_700_000_000_123, 1_709_251_199_999, 253_402_300_799_999} {
		if got, want := tsMs(ms), time.UnixMilli(ms).UTC().Format(tsLayout); got != want {
			t.Errorf("tsMs(%d) = %s, want %s", ms, got, want)
		}
	}
}
