package hrapi

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is a token bucket: Burst events at once, then Rate events a second. rate.Inf
// switches the limit off.
type RateLimit struct {
	Rate  rate.Limit
	Burst int
}

// Default rate limits, used where Options leaves a limit zero.
var (
	// DefaultAuthFailureLimit allows a client address 10 failed authentications a minute,
	// 5 at once.
	DefaultAuthFailureLimit = RateLimit{Rate: rate.Every(6 * time.Second), Burst: 5}
	// DefaultStartLimit allows a token identity 600 starts a minute, 100 at once.
	DefaultStartLimit = RateLimit{Rate: rate.Every(100 * time.Millisecond), Burst: 100}
)

// maxLimited bounds the clients one limiter set remembers.
const maxLimited = 10_000

// limiters holds a token bucket per key, such as a client address. A bucket that has filled
// up again is as good as a new one, so it is forgotten when room is needed.
type limiters struct {
	mu    sync.Mutex
	limit RateLimit
	byKey map[string]*rate.Limiter
}

func newLimiters(l RateLimit, fallback RateLimit) *limiters {
	if l == (RateLimit{}) {
		l = fallback
	}
	return &limiters{limit: l, byKey: map[string]*rate.Limiter{}}
}

// take counts one event of key at now. When none is allowed it answers how long to wait.
func (l *limiters) take(key string, now time.Time) time.Duration {
	if l.limit.Rate == rate.Inf {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.byKey[key]
	if lim == nil {
		l.makeRoom(now)
		lim = rate.NewLimiter(l.limit.Rate, l.limit.Burst)
		l.byKey[key] = lim
	}
	if lim.AllowN(now, 1) {
		return 0
	}
	return l.delay(lim, now)
}

// wait is how long key must wait at now before its next event, without counting one.
func (l *limiters) wait(key string, now time.Time) time.Duration {
	if l.limit.Rate == rate.Inf {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim := l.byKey[key]; lim != nil {
		return l.delay(lim, now)
	}
	return 0
}

func (l *limiters) delay(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	if l.limit.Rate <= 0 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(missing / float64(l.limit.Rate) * float64(time.Second))
}

// makeRoom forgets full buckets once the set is full, then arbitrary ones if it still is.
func (l *limiters) makeRoom(now time.Time) {
	if len(l.byKey) < maxLimited {
		return
	}
	for k, lim := range l.byKey {
		if lim.TokensAt(now) >= float64(l.limit.Burst) {
			delete(l.byKey, k)
		}
	}
	for k := range l.byKey {
		if len(l.byKey) < maxLimited {
			break
		}
		delete(l.byKey, k)
	}
}

// clientAddress is the address the failed-authentication limit counts against: the host of
// r.RemoteAddr, or with trustForwardedFor the last X-Forwarded-For entry, which the proxy in
// front of the API wrote. An IPv6 client counts by its /64, which one client usually owns.
func clientAddress(r *http.Request, trustForwardedFor bool) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if fwd := r.Header.Values("X-Forwarded-For"); trustForwardedFor && len(fwd) > 0 {
		entries := strings.Split(fwd[len(fwd)-1], ",")
		host = strings.TrimSpace(entries[len(entries)-1])
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if addr = addr.Unmap(); addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// tooMany answers 429 with Retry-After in whole seconds.
func tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration, detail string) {
	secs := max(1, int64(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	writeProblem(w, r, newProblem(TypeTooManyRequests, fmt.Sprintf("%s; retry in %d s", detail, secs)))
}
