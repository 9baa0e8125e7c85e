package activities_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// heapPeak samples the heap in use while it runs and reports the peak above the baseline taken
// (after a GC) when it starts.
type heapPeak struct {
	base, peak atomic.Uint64
	stop       chan struct{}
	done       sync.WaitGroup
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapPeak{stop: make(chan struct{})}
	h.base.Store(ms.HeapInuse)
	h.peak.Store(ms.HeapInuse)
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > h.peak.Load() {
					h.peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	return h
}

// Stop returns the peak heap in use above the baseline, in bytes.
func (h *heapPeak) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak.Load() - h.base.Load()
}

// rawPaging reads every result of one job over the window through the client, as fast as the
// emulator and client allow: the ceiling for the export.
func rawPaging(b *testing.B, g genesys.Client, user string, iv genesys.Interval, pageSize int) int {
	ctx := context.Background()
	id, err := g.CreateConversationJob(ctx, user, iv)
	require.NoError(b, err)
	defer func() { _ = g.DeleteConversationJob(ctx, id) }()
	for {
		st, err := g.ConversationJob(ctx, id)
		require.NoError(b, err)
		if st.State == genesys.JobFulfilled {
			break
		}
	}
	n, cursor := 0, ""
	for {
		p, err := g.ConversationJobResults(ctx, id, cursor, pageSize)
		require.NoError(b, err)
		n += len(p.Conversations)
		if p.Cursor == "" {
			return n
		}
		cursor = p.Cursor
	}
}

// BenchmarkExport exports one user's conversations from the emulator, through the SDK client,
// to a file:// store, and in the same run pages the same data raw through the client. It reports
// export and raw throughput, their ratio, and the export's peak heap above the baseline.
func BenchmarkExport(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("conversations=%d", n), func(b *testing.B) {
			// About 1000 conversations per 30-day job window at every size: the total grows 100x,
			// what one window holds does not, so a flat peak heap shows the export streams.
			days := n * 30 / 1000
			f := newExportFixture(b, emulator.Options{Seed: 11, Users: 1, Conversations: n, Span: time.Duration(days) * 24 * time.Hour, JobPolls: -1})
			f.a.Export.PageSize = 1000
			f.a.Export.QueryPage = 1000
			f.a.Export.PartConversations = 0 // defaults
			start, end := exportClock.AddDate(0, 0, -days-1), exportClock
			iv := genesys.Interval{Start: start, End: end}
			want := f.em.ConversationCount(f.user, start, end)
			ctx := context.Background()

			var exportTime, rawTime time.Duration
			var peak uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				in := f.input(fmt.Sprintf("bench%d", i), start, end)
				h := startHeapPeak()
				t0 := time.Now()
				sum, err := f.a.ExportInteractions(ctx, in)
				exportTime += time.Since(t0)
				peak = max(peak, h.Stop())
				require.NoError(b, err)
				require.Equal(b, want, sum.Conversations)

				t0 = time.Now()
				got := rawPaging(b, f.g, f.user, iv, 1000)
				rawTime += time.Since(t0)
				require.GreaterOrEqual(b, got, want)
			}
			exportRate := float64(want*b.N) / exportTime.Seconds()
			rawRate := float64(want*b.N) / rawTime.Seconds()
			b.ReportMetric(exportRate, "conv/s")
			b.ReportMetric(rawRate, "raw-conv/s")
			b.ReportMetric(exportRate/rawRate, "export/raw")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
