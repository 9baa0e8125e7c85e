package genesys_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// fleetLoad is how hard one worker process works: callers calls in flight, each waiting every
// between calls (0: back to back). No callers is an idle process.
type fleetLoad struct {
	callers int
	every   time.Duration
}

var (
	busy  = fleetLoad{callers: 6}
	light = fleetLoad{callers: 1, every: 500 * time.Millisecond}
	idle  = fleetLoad{}
)

// fleetScenario is worker processes (separate clients, as separate processes have) sharing one
// OAuth client of one emulator.
type fleetScenario struct {
	budget   int // the fleet's budget, requests a minute
	allowed  int // Genesys's allowance, requests a minute
	replicas int // the processes each is told share the budget; 0: unknown, each is given all of it
	loads    []fleetLoad
	windows  int // how long the run lasts
	// other is the requests a minute of another integration on the same OAuth client, which
	// paces itself at a fixed rate and knows nothing of the fleet.
	other int
}

// fleetFigures are what a run measured, over its complete rate-limit windows.
type fleetFigures struct {
	windows   int
	maxRatio  float64 // the most requests Genesys counted in a window, over the budget
	meanRatio float64
	tooMany   float64 // the fraction of the fleet's calls answered 429
	// atBudget windows saw the count reach the budget (or a 429); after the first process saw it,
	// the others sent at most late requests in the window, the last lag after.
	atBudget int
	late     int
	lag      time.Duration
}

// fleetWindow is the emulator's rate-limit window in these runs, so that a run sees many.
const fleetWindow = 4 * time.Second

func (sc fleetScenario) perWindow(perMinute int) int {
	return perMinute * int(fleetWindow/time.Millisecond) / int(time.Minute/time.Millisecond)
}

func runFleet(t testing.TB, sc fleetScenario) fleetFigures {
	t.Helper()
	emu := emulator.New(emulator.Options{RequestsPerMinute: sc.allowed, RateLimitWindow: fleetWindow,
		CallLog: 1 << 20, Conversations: 100})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	user := emu.SeedUsers()[0].ID
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(sc.windows)*fleetWindow)
	defer cancel()
	var wg sync.WaitGroup
	var logs []*sendLog
	for i, load := range sc.loads {
		log := &sendLog{process: i, next: cleanhttp.DefaultPooledTransport()}
		logs = append(logs, log)
		c, err := genesys.New(ctx, sc.config(srv.URL), genesys.WithRateLimitWindow(fleetWindow),
			genesys.WithTransientRetries(0), genesys.WithMaxRateLimitWait(fleetWindow),
			genesys.WithHTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: log}))
		require.NoError(t, err)
		for range load.callers {
			wg.Go(func() { work(ctx, c, user, load.every) })
		}
	}
	other := &sendLog{process: len(sc.loads), next: cleanhttp.DefaultPooledTransport()}
	if sc.other > 0 {
		wg.Go(func() { integrate(ctx, t, &http.Client{Transport: other}, srv.URL, user, sc.other) })
	}
	wg.Wait()
	return sc.figures(emu.Calls(), logs, other)
}

// integrate is another integration on the OAuth client: perMinute reads of user, paced by a ticker.
func integrate(ctx context.Context, t testing.TB, hc *http.Client, base, user string, perMinute int) {
	form := strings.NewReader("grant_type=client_credentials")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/oauth/token", form)
	req.SetBasicAuth(emulator.DevClientID, emulator.DevClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	_ = resp.Body.Close()
	tick := time.NewTicker(time.Minute / time.Duration(perMinute))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v2/users/"+user, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if resp, err := hc.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	}
}

func (sc fleetScenario) config(url string) genesys.Config {
	cfg := genesys.Config{ClientID: emulator.DevClientID, ClientSecret: emulator.DevClientSecret, APIURL: url,
		RequestsPerMinute: sc.budget, Timeout: 10 * time.Second}
	if sc.replicas > 0 {
		cfg.RequestsPerMinute, cfg.FleetRequestsPerMinute = sc.budget/sc.replicas, sc.budget
	}
	return cfg
}

// work reads one user over and over until ctx is done, as an activity would.
func work(ctx context.Context, c *genesys.SDKClient, user string, every time.Duration) {
	for ctx.Err() == nil {
		_, err := c.GetUser(ctx, user)
		wait := every
		if err != nil {
			wait = max(wait, 50*time.Millisecond) // a refused pause returns at once
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// sent is one request as a process saw it.
type sent struct {
	process    int
	at, answer time.Time
	status     int
	count      int // the count the response reported; -1 without one
}

// sendLog is a process's transport, which notes every request.
type sendLog struct {
	process int
	next    http.RoundTripper
	mu      sync.Mutex
	sent    []sent
}

func (l *sendLog) RoundTrip(r *http.Request) (*http.Response, error) {
	s := sent{process: l.process, at: time.Now(), count: -1}
	resp, err := l.next.RoundTrip(r)
	s.answer = time.Now()
	if resp != nil {
		s.status = resp.StatusCode
		if n, err := strconv.Atoi(resp.Header.Get("Inin-Ratelimit-Count")); err == nil {
			s.count = n
		}
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		l.mu.Lock()
		l.sent = append(l.sent, s)
		l.mu.Unlock()
	}
	return resp, err
}

// rateWindow is one of the emulator's windows: it starts with the first request after the last
// one ended.
type rateWindow struct {
	start, end       time.Time
	counted, refused int
}

// rateWindows replays the emulator's windows from its call log; the last, cut short by the
// run's end, is left out.
func rateWindows(calls []emulator.Call) []rateWindow {
	calls = slices.DeleteFunc(calls, func(c emulator.Call) bool { return !strings.HasPrefix(c.Path, "/api/") })
	slices.SortFunc(calls, func(a, b emulator.Call) int { return a.Time.Compare(b.Time) })
	var ws []rateWindow
	for _, c := range calls {
		if len(ws) == 0 || !c.Time.Before(ws[len(ws)-1].end) {
			ws = append(ws, rateWindow{start: c.Time, end: c.Time.Add(fleetWindow)})
		}
		w := &ws[len(ws)-1]
		if c.Status == http.StatusTooManyRequests {
			w.refused++
		} else {
			w.counted++
		}
	}
	if len(ws) > 0 {
		ws = ws[:len(ws)-1]
	}
	return ws
}

func (sc fleetScenario) figures(calls []emulator.Call, logs []*sendLog, other *sendLog) fleetFigures {
	var all []sent
	for _, l := range logs {
		all = append(all, l.sent...)
	}
	seen := append(slices.Clone(all), other.sent...)
	budget := sc.perWindow(sc.budget)
	capacity := min(budget, sc.perWindow(sc.allowed))
	var f fleetFigures
	var sum int
	for _, w := range rateWindows(calls) {
		f.windows++
		sum += w.counted
		f.maxRatio = max(f.maxRatio, float64(w.counted)/float64(budget))
		if late, lag, ok := slowdown(seen, w, capacity, other.process); ok {
			f.atBudget++
			f.late, f.lag = max(f.late, late), max(f.lag, lag)
		}
	}
	if f.windows > 0 {
		f.meanRatio = float64(sum) / float64(f.windows*budget)
	}
	refused := 0
	for _, s := range all {
		if s.status == http.StatusTooManyRequests {
			refused++
		}
	}
	if len(all) > 0 {
		f.tooMany = float64(refused) / float64(len(all))
	}
	return f
}

// slowdown is how many requests the other processes of the fleet sent in w after the first one
// (or the other integration) learnt that the count had reached capacity (a response at it, or a
// 429), and how long after they sent the last.
func slowdown(all []sent, w rateWindow, capacity, integration int) (int, time.Duration, bool) {
	first := sent{process: -1}
	for _, s := range all {
		inWindow := !s.answer.Before(w.start) && s.answer.Before(w.end)
		spent := s.count >= capacity || s.status == http.StatusTooManyRequests
		if inWindow && spent && (first.process < 0 || s.answer.Before(first.answer)) {
			first = s
		}
	}
	if first.process < 0 {
		return 0, 0, false
	}
	late, lag := 0, time.Duration(0)
	for _, s := range all {
		if s.process != first.process && s.process != integration && s.at.After(first.answer) && s.at.Before(w.end) {
			late++
			lag = max(lag, s.at.Sub(first.answer))
		}
	}
	return late, lag, true
}

func (f fleetFigures) String() string {
	return "windows " + strconv.Itoa(f.windows) + ", max " + strconv.FormatFloat(f.maxRatio, 'f', 3, 64) +
		", mean " + strconv.FormatFloat(f.meanRatio, 'f', 3, 64) + " of the budget, 429 " +
		strconv.FormatFloat(100*f.tooMany, 'f', 2, 64) + "%, at the budget in " + strconv.Itoa(f.atBudget) +
		" windows, then at most " + strconv.Itoa(f.late) + " requests by the others in " + f.lag.Round(time.Millisecond).String()
}

func Test_GivenThreeProcessesEachGivenTheWholeBudget_ShouldKeepTheirSumUnderIt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for several rate-limit windows")
	}
	sc := fleetScenario{budget: 2400, allowed: 3600, loads: []fleetLoad{busy, busy, busy}, windows: 6}

	f := runFleet(t, sc)

	t.Log(f)
	assert.LessOrEqual(t, f.maxRatio, 1.0, "the fleet's requests in a window, over its budget")
	assert.Zero(t, f.tooMany, "429s with the budget below Genesys's allowance")
}

func Test_GivenOneIdleAndTwoBusyProcesses_ShouldUseTheWholeBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for several rate-limit windows")
	}
	sc := fleetScenario{budget: 2400, allowed: 3600, replicas: 3, loads: []fleetLoad{idle, busy, busy}, windows: 6}

	f := runFleet(t, sc)

	t.Log(f)
	assert.GreaterOrEqual(t, f.meanRatio, 0.9, "the busy processes take what the idle one leaves")
	assert.LessOrEqual(t, f.maxRatio, 1.0)
}

// BenchmarkFleetBudget runs worker processes against one emulator's OAuth client for several of its
// (shortened) rate-limit windows, and reports per window the requests Genesys counted over the
// fleet's budget (max and mean), the fraction answered 429, and, in windows where the count reached
// the cap (the budget, or Genesys's allowance when lower), how many requests the other processes
// sent after the first one learnt it and how long after. Run it with -benchtime=1x.
func BenchmarkFleetBudget(b *testing.B) {
	for _, bc := range []struct {
		name string
		sc   fleetScenario
	}{
		{"1-busy", fleetScenario{budget: 2400, allowed: 3600, replicas: 1, loads: []fleetLoad{busy}}},
		{"3-busy-light-light", fleetScenario{budget: 2400, allowed: 3600, replicas: 3, loads: []fleetLoad{busy, light, light}}},
		{"3-idle-busy-busy", fleetScenario{budget: 2400, allowed: 3600, replicas: 3, loads: []fleetLoad{idle, busy, busy}}},
		{"3-busy", fleetScenario{budget: 2400, allowed: 3600, replicas: 3, loads: []fleetLoad{busy, busy, busy}}},
		{"3-busy-replicas-unknown", fleetScenario{budget: 2400, allowed: 3600, loads: []fleetLoad{busy, busy, busy}}},
		{"3-busy-over-allowance", fleetScenario{budget: 3600, allowed: 2400, replicas: 3, loads: []fleetLoad{busy, busy, busy}}},
		{"3-busy-other-integration", fleetScenario{budget: 2400, allowed: 2400, replicas: 3, loads: []fleetLoad{busy, busy, busy}, other: 1200}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bc.sc.windows = 8
			var f fleetFigures
			for range b.N {
				f = runFleet(b, bc.sc)
			}
			b.Log(f)
			b.ReportMetric(f.maxRatio, "max-of-budget")
			b.ReportMetric(f.meanRatio, "mean-of-budget")
			b.ReportMetric(100*f.tooMany, "429-%")
			b.ReportMetric(float64(f.late), "late-requests")
			b.ReportMetric(float64(f.lag.Milliseconds()), "late-ms")
		})
	}
}
