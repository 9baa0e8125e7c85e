package activities_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// heapPeak samples the heap every millisecond while it runs (through runtime/metrics, which
// reads without stopping the world, so sampling does not slow what it measures), and reports
// peaks above the baseline taken after a GC when it starts: of the heap in use
// (MemStats.HeapInuse: spans holding objects, live or garbage not yet swept), which includes
// the garbage the GC lets accumulate (with GOGC=100, up to the live heap's size again), and of
// the live heap that the last GC marked, which does not.
type heapPeak struct {
	base, peak         atomic.Uint64
	baseLive, peakLive atomic.Uint64
	stop               chan struct{}
	done               sync.WaitGroup
}

func heapSamples() []metrics.Sample {
	return []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}, {Name: "/gc/heap/live:bytes"}}
}

// readHeap returns the heap in use and the live heap.
func readHeap(s []metrics.Sample) (inUse, live uint64) {
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64(), s[2].Value.Uint64()
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	s := heapSamples()
	h := &heapPeak{stop: make(chan struct{})}
	inUse, live := readHeap(s)
	h.base.Store(inUse)
	h.peak.Store(inUse)
	h.baseLive.Store(live)
	h.peakLive.Store(live)
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				inUse, live := readHeap(s)
				h.peak.Store(max(h.peak.Load(), inUse))
				h.peakLive.Store(max(h.peakLive.Load(), live))
			}
		}
	}()
	return h
}

// Stop returns the peaks of the heap in use and of the live heap above their baselines, in bytes.
func (h *heapPeak) Stop() (inUse, live uint64) {
	close(h.stop)
	h.done.Wait()
	return h.peak.Load() - h.base.Load(), h.peakLive.Load() - h.baseLive.Load()
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
// to a file:// store, and in the same run pages the same data raw through the same client: one
// job over the whole interval, the cursor followed as fast as the emulator answers. It reports
// the export's and the raw paging's throughput, their ratio, the export's peak heap in use and
// peak live heap, and the raw paging's peak heap in use (see heapPeak).
//
// The emulator runs in this process, so the baseline is taken after it has generated its data
// and served one raw paging pass (and the client has logged in): what remains in the figures is
// what the export (or the raw paging) adds, including the emulator's and the SDK's per-request
// buffers, which both pay. raw-peak-heap-MiB is that shared part. The emulator answers every
// job status poll FULFILLED and has no rate limit, so neither side waits: the ratio measures
// the export's own work (one job, availability check, count query and part per window, and
// compressing, hashing and writing every conversation), not Genesys's latency. With a real
// org, job polling (PollInterval, doubling to 30s) and the rate limit dominate both.
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
			require.GreaterOrEqual(b, rawPaging(b, f.g, f.user, iv, 1000), want) // warm up

			var exportTime, rawTime time.Duration
			var peak, peakLive, rawPeak uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				in := f.input(fmt.Sprintf("bench%d", i), start, end)
				h := startHeapPeak()
				t0 := time.Now()
				sum, err := f.a.ExportInteractions(ctx, in)
				exportTime += time.Since(t0)
				inUse, live := h.Stop()
				peak, peakLive = max(peak, inUse), max(peakLive, live)
				require.NoError(b, err)
				require.Equal(b, want, sum.Conversations)

				h = startHeapPeak()
				t0 = time.Now()
				got := rawPaging(b, f.g, f.user, iv, 1000)
				rawTime += time.Since(t0)
				inUse, _ = h.Stop()
				rawPeak = max(rawPeak, inUse)
				require.GreaterOrEqual(b, got, want)
			}
			exportRate := float64(want*b.N) / exportTime.Seconds()
			rawRate := float64(want*b.N) / rawTime.Seconds()
			b.ReportMetric(exportRate, "conv/s")
			b.ReportMetric(rawRate, "raw-conv/s")
			b.ReportMetric(exportRate/rawRate, "export/raw")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peakLive)/(1<<20), "peak-live-MiB")
			b.ReportMetric(float64(rawPeak)/(1<<20), "raw-peak-heap-MiB")
		})
	}
}
