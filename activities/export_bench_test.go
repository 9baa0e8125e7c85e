package activities_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// heapPeak samples the heap every millisecond while it runs (through runtime/metrics, which
// reads without stopping the world, so sampling does not slow what it measures), and reports
// peaks above the baseline taken after a GC when it starts, of:
//   - the heap: the bytes of heap objects, live or garbage not yet collected (MemStats.HeapAlloc).
//     With GOGC=100 the GC lets garbage grow to about the live heap's size before it collects,
//     and the live heap includes the process's own (the SDKs' tables), so this peaks near the
//     baseline's size plus twice what the export holds;
//   - the heap in use (MemStats.HeapInuse): the heap plus the free slots in spans that hold
//     objects, which the Go docs call an upper bound on fragmentation;
//   - the live heap that the last GC marked.
//
// It also keeps the live heap after every GC cycle that ends while it runs: their median tells
// state that grows with the run (the median grows) from a peak that is the largest of more
// cycles (only the maximum grows).
type heapPeak struct {
	base, peak           atomic.Uint64
	baseInUse, peakInUse atomic.Uint64
	baseLive, peakLive   atomic.Uint64
	lives                []uint64 // live heap after each GC cycle; the sampler's until done
	stop                 chan struct{}
	done                 sync.WaitGroup
}

// heapFigures are heapPeak's results, in bytes above the baseline.
type heapFigures struct {
	heap, inUse, live, medianLive uint64
}

func heapSamples() []metrics.Sample {
	return []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}, {Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
}

// readHeap returns the heap, the heap in use, the live heap and the number of GC cycles so far.
func readHeap(s []metrics.Sample) (heap, inUse, live, cycles uint64) {
	metrics.Read(s)
	return s[0].Value.Uint64(), s[0].Value.Uint64() + s[1].Value.Uint64(), s[2].Value.Uint64(), s[3].Value.Uint64()
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	s := heapSamples()
	h := &heapPeak{stop: make(chan struct{})}
	heap, inUse, live, cycles := readHeap(s)
	h.base.Store(heap)
	h.peak.Store(heap)
	h.baseInUse.Store(inUse)
	h.peakInUse.Store(inUse)
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
				heap, inUse, live, c := readHeap(s)
				if c != cycles {
					cycles = c
					h.lives = append(h.lives, live-min(live, h.baseLive.Load()))
				}
				h.peak.Store(max(h.peak.Load(), heap))
				h.peakInUse.Store(max(h.peakInUse.Load(), inUse))
				h.peakLive.Store(max(h.peakLive.Load(), live))
			}
		}
	}()
	return h
}

// Stop returns the peaks above their baselines, and the median over the GC cycles of the live
// heap above its baseline.
func (h *heapPeak) Stop() heapFigures {
	close(h.stop)
	h.done.Wait()
	var f heapFigures
	if len(h.lives) > 0 {
		slices.Sort(h.lives)
		f.medianLive = h.lives[len(h.lives)/2]
	}
	f.heap = h.peak.Load() - h.base.Load()
	f.inUse = h.peakInUse.Load() - h.baseInUse.Load()
	f.live = h.peakLive.Load() - h.baseLive.Load()
	return f
}

// max keeps the larger of each figure.
func (f heapFigures) max(g heapFigures) heapFigures {
	return heapFigures{heap: max(f.heap, g.heap), inUse: max(f.inUse, g.inUse), live: max(f.live, g.live), medianLive: max(f.medianLive, g.medianLive)}
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
		p, err := g.ConversationJobResults(ctx, id, cursor, pageSize, func(int, genesys.Conversation) error { return nil })
		require.NoError(b, err)
		n += p.Conversations
		if p.Cursor == "" {
			return n
		}
		cursor = p.Cursor
	}
}

// newBenchExportFixture is newExportFixture's client, store and activities, against the
// emulator a child process serves at em.URL, with the benchmark's page and part sizes.
func newBenchExportFixture(b *testing.B, em childEmulatorReady) *exportFixture {
	b.Helper()
	ctx := context.Background()
	g, err := genesys.New(ctx, genesys.Config{ClientID: emulator.DevClientID, ClientSecret: emulator.DevClientSecret,
		APIURL: em.URL, RequestsPerMinute: 1 << 20}, genesys.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(b, err)
	dir := filepath.Join(b.TempDir(), "exports")
	store, err := bundle.Open(ctx, "file://"+dir)
	require.NoError(b, err)
	b.Cleanup(func() { _ = store.Close() })
	a := &activities.Activities{
		Genesys: g, Store: store, Now: func() time.Time { return exportClock },
		// PartConversations 0: the default part size.
		Export: activities.ExportOptions{PageSize: 1000, QueryPage: 1000, PollInterval: time.Millisecond},
	}
	return &exportFixture{g: g, a: a, dir: dir, store: store, user: em.User}
}

// BenchmarkExport exports one user's conversations from the emulator, through the SDK client,
// to a file:// store, and in the same run pages the same data raw through the same client: one
// job over the whole interval, the cursor followed as fast as the emulator answers. It reports
// the export's and the raw paging's throughput, their ratio, the export's peak heap in use and
// peak live heap, the export's median live heap over its GC cycles, and the raw paging's peak
// heap in use (see heapPeak).
//
// The emulator runs in a child process (startChildEmulator), so the heap figures are the
// export's process alone: the client, the SDK and the export, not the emulator's dataset or its
// rendering garbage. The baseline is taken after one raw paging pass has warmed the client and
// its connections; raw-peak-heap-MiB is what the SDK's per-request buffers alone cost. The
// emulator answers every job status poll FULFILLED and has no rate limit, so neither side
// waits: the ratio measures the export's own work (one job, availability check, count query
// and part per window, and compressing, hashing and writing every conversation), not Genesys's
// latency. Both sides share the 2 cores with the emulator's process. With a real
// org, job polling (PollInterval, doubling to 30s) and the rate limit dominate both.
func BenchmarkExport(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("conversations=%d", n), func(b *testing.B) {
			// About 1000 conversations per 30-day job window at every size: the total grows 100x,
			// what one window holds does not, so a flat peak heap shows the export streams. At 1k
			// there is one full window, so the page fetched ahead and the next window's first page
			// never hold a full page while one is written: 10k and 100k share a steady state 1k
			// does not reach, and 1k's peak is the largest of only a few GC cycles.
			days := n * 30 / 1000
			start, end := exportClock.AddDate(0, 0, -days-1), exportClock
			iv := genesys.Interval{Start: start, End: end}
			em := startChildEmulator(b, childEmulatorConfig{Seed: 11, Users: 1, Conversations: n,
				Span: time.Duration(days) * 24 * time.Hour, JobPolls: -1, CountStart: start, CountEnd: end})
			f := newBenchExportFixture(b, em)
			want := em.Count
			ctx := context.Background()
			require.GreaterOrEqual(b, rawPaging(b, f.g, f.user, iv, 1000), want) // warm up

			var exportTime, rawTime time.Duration
			var peak, rawPeak heapFigures
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				in := f.input(fmt.Sprintf("bench%d", i), start, end)
				h := startHeapPeak()
				t0 := time.Now()
				sum, err := f.a.ExportInteractions(ctx, in)
				exportTime += time.Since(t0)
				peak = peak.max(h.Stop())
				require.NoError(b, err)
				require.Equal(b, want, sum.Conversations)

				h = startHeapPeak()
				t0 = time.Now()
				got := rawPaging(b, f.g, f.user, iv, 1000)
				rawTime += time.Since(t0)
				rawPeak = rawPeak.max(h.Stop())
				require.GreaterOrEqual(b, got, want)
			}
			exportRate := float64(want*b.N) / exportTime.Seconds()
			rawRate := float64(want*b.N) / rawTime.Seconds()
			mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
			b.ReportMetric(exportRate, "conv/s")
			b.ReportMetric(rawRate, "raw-conv/s")
			b.ReportMetric(exportRate/rawRate, "export/raw")
			b.ReportMetric(mib(peak.heap), "peak-heap-MiB")
			b.ReportMetric(mib(peak.inUse), "peak-inuse-MiB")
			b.ReportMetric(mib(peak.live), "peak-live-MiB")
			b.ReportMetric(mib(peak.medianLive), "gc-live-p50-MiB")
			b.ReportMetric(mib(rawPeak.heap), "raw-peak-heap-MiB")
		})
	}
}
