package genesys

import (
	"time"

	"golang.org/x/time/rate"
)

// The fleet's controller. Each process paces at (share + probeShare) of the rate that would spend
// what is left of the budget by the window's end, where share is its own requests in the window
// over the client's count. Busy processes converge on equal shares (the probe adds more to a small
// share, in proportion, than to a large one) and an idle one's share decays, so a busy process takes
// what an idle one leaves; probeShare is also the floor at which a new process starts. Pacing above the rate
// that is left makes the fleet spend faster, which shrinks the rate that is left: the count
// approaches the budget at the window's end rather than passing it, and reaching it pauses all.
const (
	probeShare = 0.1
	// priorFraction of the window's budget is the weight, in requests, of the share carried
	// over from the previous window, so that a window's first few responses do not swing it.
	priorFraction = 0.1
	// staleAfter windows without a reported count, the process goes back to its fallback rate.
	staleAfter = 2
	// A count older than a window / probeEvery and below nearBudget of the budget is read anew (one
	// request in that time) rather than projected to the budget: the others may have stopped.
	probeEvery = 20
	nearBudget = 0.9
)

// fleetWindow is what this process knows of the client's current rate-limit window.
type fleetWindow struct {
	end     time.Time // when the window resets; zero while unknown
	seen    time.Time // the last response that reported the count
	allowed int       // Genesys's allowance per window
	count   int       // the client's count in the window, the highest reported
	own     int       // this process's responses counted in the window
	share   float64   // this process's share of the previous windows' counts
}

// record takes in one response's count. A reset more than half a window after the known one
// starts the next window; within a window, the earliest end reported is the closest (Genesys
// rounds the seconds up).
func (w *fleetWindow) record(now, end time.Time, allowed, count int, length time.Duration, prior float64) {
	w.roll(now, prior)
	if w.end.IsZero() || end.Sub(w.end) > length/2 {
		w.next(prior)
		w.end = end
	} else if end.Before(w.end) {
		w.end = end
	}
	w.allowed, w.seen = allowed, now
	w.count = max(w.count, count)
	w.own++
}

// roll starts the next window once the known one has ended.
func (w *fleetWindow) roll(now time.Time, prior float64) {
	if !w.end.IsZero() && !now.Before(w.end) {
		w.next(prior)
	}
}

// next carries the share over into a window not seen yet.
func (w *fleetWindow) next(prior float64) {
	if w.count > 0 {
		w.share = w.shareOf(prior)
	}
	w.end, w.count, w.own = time.Time{}, 0, 0
}

// shareOf is this process's share of the count, weighing the carried share as prior requests.
func (w *fleetWindow) shareOf(prior float64) float64 {
	s := (float64(w.own) + prior*w.share) / (float64(w.count) + prior)
	return min(1, max(0, s))
}

// capacity is the window's cap on the client's count: the fleet's budget for a window, or
// Genesys's allowance when that is lower.
func (l *limiter) capacity(allowed int) int {
	budget := max(1, int(l.fleet*float64(l.length)/float64(time.Minute)))
	return min(budget, allowed)
}

func (l *limiter) priorWeight(allowed int) float64 {
	return max(1, priorFraction*float64(l.capacity(allowed)))
}

// estimate is the client's count now: the last one reported, plus what the other processes will
// have sent since at their rate in the window so far.
func (w *fleetWindow) estimate(now time.Time, length time.Duration) float64 {
	if w.end.IsZero() {
		return float64(w.count)
	}
	elapsed := max(w.seen.Sub(w.end.Add(-length)), 100*time.Millisecond)
	others := float64(w.count-w.own) / elapsed.Seconds()
	return float64(w.count) + others*now.Sub(w.seen).Seconds()
}

// pace is this process's rate now, the time left in the window (0 while unknown), and whether
// the budget is spent for the rest of it. Without a recent count the rate is the fallback; it
// never exceeds the fleet's rate.
func (l *limiter) pace(now time.Time) (r rate.Limit, left time.Duration, spent bool) {
	w := &l.win
	if w.seen.IsZero() || now.Sub(w.seen) > staleAfter*l.length {
		return l.fallback, 0, false
	}
	w.roll(now, l.priorWeight(w.allowed))
	span := l.length
	if !w.end.IsZero() {
		left = max(w.end.Sub(now), 10*time.Millisecond)
		span = left
	}
	capacity := float64(l.capacity(w.allowed))
	rest := capacity - w.estimate(now, l.length)
	if rest < 1 && !w.end.IsZero() {
		if now.Sub(w.seen) > l.length/probeEvery && float64(w.count) < nearBudget*capacity {
			// The projection rests on an old count far from the budget: one request reads it anew.
			return rate.Limit(probeEvery / l.length.Seconds()), left, false
		}
		return l.lim.Limit(), left, true
	}
	share := w.shareOf(l.priorWeight(w.allowed)) + probeShare
	perSecond := max(share*rest/span.Seconds(), 1/l.length.Seconds())
	return rate.Limit(min(perSecond, l.fleet/60)), left, false
}
