package genesys

import (
	"strings"
	"time"
	"unicode"
)

// Observer is told about every request the client sends and every wait of its rate limiter, so
// that a worker can export them as metrics without this package knowing how. It must be safe for
// concurrent use and quick: it runs on every request.
type Observer interface {
	// Request reports one HTTP request: its endpoint (see Endpoint), the response's status (0
	// when none came) and how long it took.
	Request(endpoint string, status int, took time.Duration)
	// LimiterWait reports how long the limiter held a request before it could be sent: reason is
	// "rate" for the request rate, "retry-after" for a pause after a 429 or for the rest of a
	// window whose budget the fleet has spent.
	LimiterWait(reason string, held time.Duration)
}

// WithObserver sets the observer of requests and limiter waits (default, or nil: none).
func WithObserver(o Observer) Option {
	if o == nil {
		o = nopObserver{}
	}
	return func(c *SDKClient) { c.observer, c.limiter.observer = o, o }
}

// Limiter wait reasons, as LimiterWait reports them.
const (
	WaitRate       = "rate"
	WaitRetryAfter = "retry-after"
)

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) Request(string, int, time.Duration) {}
func (nopObserver) LimiterWait(string, time.Duration)  {}

// Endpoint names a request by its method and path with every identifier replaced by {id}, e.g.
// "GET /api/v2/users/{id}": a name of few values, fit for a metric label, that never carries a
// user's or a job's ID.
func Endpoint(method, path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if isIdentifier(s) {
			segs[i] = "{id}"
		}
	}
	return method + " " + strings.Join(segs, "/")
}

// isIdentifier tells a path segment that names one thing (a UUID, a number, a job ID) from one of
// the API's words ("users", "v2", "me"): Genesys's words have no digit, or are short.
func isIdentifier(s string) bool {
	if len(s) < 4 {
		return s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) }) < 0
	}
	return strings.ContainsFunc(s, unicode.IsDigit)
}
