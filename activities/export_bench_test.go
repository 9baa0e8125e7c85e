package activities_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
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
// peaks above an idle baseline (idleHeap) of:
//   - the heap: the bytes of heap objects, live or garbage not yet collected (MemStats.HeapAlloc);
//   - the heap in use (MemStats.HeapInuse): the heap plus the free slots in spans that hold
//     objects, which the Go docs call an upper bound on fragmentation;
//   - the live heap that the last GC marked.
type heapPeak struct {
	base            heapFigures
	peak, peakInUse atomic.Uint64
	peakLive        atomic.Uint64
	stop            chan struct{}
	done            sync.WaitGroup
}

// heapFigures are heap sizes in bytes: absolute for a baseline, above it for heapPeak's results.
type heapFigures struct {
	heap, inUse, live uint64
}

func heapSamples() []metrics.Sample {
	return []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}, {Name: "/gc/heap/live:bytes"}}
}

// readHeap returns the heap, the heap in use and the live heap.
func readHeap(s []metrics.Sample) (heap, inUse, live uint64) {
	metrics.Read(s)
	return s[0].Value.Uint64(), s[0].Value.Uint64() + s[1].Value.Uint64(), s[2].Value.Uint64()
}

// idleHeap collects garbage and returns the heap of the idle process: its own tables (about
// 3 MiB, mostly the SDKs') and whatever the client and store keep between runs.
//
// Collecting also resets the GC's pacing: its next goal becomes twice this idle heap, however
// much the export holds, so a run that follows it collects early. BenchmarkExport therefore
// takes the baseline once, after a warm-up export, as a worker that exports one user after
// another never starts from a collection; OFFBOARD_BENCH_COLD=1 takes it again before every run.
func idleHeap() heapFigures {
	// Twice: sync.Pools (the store's compressors) survive one collection, and a run's own
	// collections would drop them, which would put its working set below this baseline.
	runtime.GC()
	runtime.GC()
	heap, inUse, live := readHeap(heapSamples())
	return heapFigures{heap: heap, inUse: inUse, live: live}
}

func startHeapPeak(base heapFigures) *heapPeak {
	s := heapSamples()
	h := &heapPeak{base: base, stop: make(chan struct{})}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			heap, inUse, live := readHeap(s)
			h.peak.Store(max(h.peak.Load(), heap))
			h.peakInUse.Store(max(h.peakInUse.Load(), inUse))
			h.peakLive.Store(max(h.peakLive.Load(), live))
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// Stop returns the peaks above the baseline.
func (h *heapPeak) Stop() heapFigures {
	close(h.stop)
	h.done.Wait()
	var f heapFigures
	above := func(v, base uint64) uint64 { return v - min(v, base) }
	f.heap = above(h.peak.Load(), h.base.heap)
	f.inUse = above(h.peakInUse.Load(), h.base.inUse)
	f.live = above(h.peakLive.Load(), h.base.live)
	return f
}

// retainedEvery is how many conversations retainedHeap lets pass between collections.
const retainedEvery = 20

// retainedHeap measures what an export keeps: it wraps its client, and every few conversations
// the client hands over, it collects garbage in full and records the live heap. The largest is
// the export's working set, free of the garbage the GC would let accumulate between cycles.
type retainedHeap struct {
	genesys.Client
	every int64
	n     atomic.Int64
	peak  atomic.Uint64
}

func (r *retainedHeap) ConversationJobResults(ctx context.Context, jobID, cursor string, pageSize int, each genesys.EachConversation) (genesys.ResultsPage, error) {
	return r.Client.ConversationJobResults(ctx, jobID, cursor, pageSize, func(i int, c genesys.Conversation) error {
		if r.n.Add(1)%r.every == 0 {
			runtime.GC()
			_, _, live := readHeap(heapSamples())
			r.peak.Store(max(r.peak.Load(), live))
		}
		return each(i, c)
	})
}

// max keeps the larger of each figure.
func (f heapFigures) max(g heapFigures) heapFigures {
	return heapFigures{heap: max(f.heap, g.heap), inUse: max(f.inUse, g.inUse), live: max(f.live, g.live)}
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
// the export's and the raw paging's throughput and their ratio, and heap figures above the idle
// process's heap (see heapPeak):
//   - peak-heap-MiB, peak-inuse-MiB, peak-live-MiB: the timed export's, with the GC paced as
//     usual (GOGC=100). The heap then peaks where the GC's goal lies, which is set by the whole
//     process's live heap: about the idle heap plus twice the export's working set above it. A
//     run that allocates less than that ends before the first collection: at 1k conversations
//     the export allocates about 4 MB in all, so its peak is bounded by that, not by what it
//     keeps. raw-peak-heap-MiB, for paging that keeps one conversation at a time, shows the
//     same growth from 1k to 10k.
//   - working-set-MiB: the largest live heap of one more export after the timed ones, which
//     collects garbage in full every 20 conversations (retainedHeap): the memory the export
//     keeps, and the figure that shows whether it buffers.
//
// The emulator runs in a child process (startChildEmulator), so the heap figures are the
// export's process alone: the client, the SDK and the export, not the emulator's dataset or its
// rendering garbage. One raw paging pass and one export warm the client, its connections and
// the GC's pacing before the idle baseline is taken (see idleHeap). The emulator answers every
// job status poll FULFILLED and has no rate limit, so neither side waits: the ratio measures
// the export's own work (one job, availability check, count query and part per window, and
// compressing, hashing and writing every conversation), not Genesys's latency. Both sides share
// the 2 cores with the emulator's process. With a real org, job polling (PollInterval, doubling
// to 30s) and the rate limit dominate both.
func BenchmarkExport(b *testing.B) {
	cold := os.Getenv("OFFBOARD_BENCH_COLD") != ""
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("conversations=%d", n), func(b *testing.B) {
			// About 1000 conversations per 30-day job window at every size: the total grows 100x,
			// what one window holds does not, so a flat peak heap shows the export streams.
			days := n * 30 / 1000
			start, end := exportClock.AddDate(0, 0, -days-1), exportClock
			iv := genesys.Interval{Start: start, End: end}
			em := startChildEmulator(b, childEmulatorConfig{Seed: 11, Users: 1, Conversations: n,
				Span: time.Duration(days) * 24 * time.Hour, JobPolls: -1, CountStart: start, CountEnd: end})
			f := newBenchExportFixture(b, em)
			want := em.Count
			ctx := context.Background()
			require.GreaterOrEqual(b, rawPaging(b, f.g, f.user, iv, 1000), want)
			warm, err := f.a.ExportInteractions(ctx, f.input("warm-up", start, end))
			require.NoError(b, err)
			require.Equal(b, want, warm.Conversations)
			base := idleHeap()

			var exportTime, rawTime time.Duration
			var peak, rawPeak heapFigures
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				in := f.input(fmt.Sprintf("bench%d", i), start, end)
				if cold {
					base = idleHeap()
				}
				h := startHeapPeak(base)
				t0 := time.Now()
				sum, err := f.a.ExportInteractions(ctx, in)
				exportTime += time.Since(t0)
				peak = peak.max(h.Stop())
				require.NoError(b, err)
				require.Equal(b, want, sum.Conversations)

				if cold {
					base = idleHeap()
				}
				if cold {
					base = idleHeap()
				}
				h = startHeapPeak(base)
				t0 = time.Now()
				got := rawPaging(b, f.g, f.user, iv, 1000)
				rawTime += time.Since(t0)
				rawPeak = rawPeak.max(h.Stop())
				require.GreaterOrEqual(b, got, want)
			}
			b.StopTimer()
			// The working set: the same export once more, collecting every few conversations.
			// After the timed runs, so that its collections do not disturb them.
			rh := &retainedHeap{Client: f.g, every: retainedEvery}
			wa := *f.a
			wa.Genesys = rh
			ws, err := wa.ExportInteractions(ctx, f.input("working-set", start, end))
			require.NoError(b, err)
			require.Equal(b, want, ws.Conversations)
			workingSet := rh.peak.Load() - min(rh.peak.Load(), base.live)

			exportRate := float64(want*b.N) / exportTime.Seconds()
			rawRate := float64(want*b.N) / rawTime.Seconds()
			mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
			b.ReportMetric(exportRate, "conv/s")
			b.ReportMetric(rawRate, "raw-conv/s")
			b.ReportMetric(exportRate/rawRate, "export/raw")
			b.ReportMetric(mib(peak.heap), "peak-heap-MiB")
			b.ReportMetric(mib(peak.inUse), "peak-inuse-MiB")
			b.ReportMetric(mib(peak.live), "peak-live-MiB")
			b.ReportMetric(mib(rawPeak.heap), "raw-peak-heap-MiB")
			b.ReportMetric(mib(workingSet), "working-set-MiB")
		})
	}
}
