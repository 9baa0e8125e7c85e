// Package emulator is a local Genesys Cloud Platform API for development, demos and tests.
//
// It serves the subset of the API that Offboard uses (see docs/genesys.md) byte-compatibly
// with the official Go SDK v157: OAuth client credentials, OAuth clients with roles and
// permissions, the users state machine and users search (seeded employee IDs, one shared by a
// rehire: AmbiguousRehireIndex), analytics conversation-details queries and jobs, the
// access a user holds (grants, queues, skills and languages, routing status, stations, call
// forwarding, manager, tokens) and how it ends, a per-client rate limit and injectable faults,
// conforming to the SDK's swagger.json. Its data are generated
// deterministically from a seed and rendered as JSON on demand, so a million conversations fit
// in a few tens of megabytes. An inspection and fault surface lives under /emulator/v1/,
// apart from the Genesys paths.
package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Built-in OAuth clients. Their secrets are fixed and public: they only ever unlock the emulator.
const (
	// DevClientID is an OAuth client holding every permission Offboard needs.
	DevClientID = "offboard-dev"
	// DevClientSecret is DevClientID's secret.
	DevClientSecret = "offboard-dev-secret"
	// ReadOnlyClientID is an OAuth client that may read users and analytics (and its own client
	// and roles) but may not edit or delete users.
	ReadOnlyClientID = "offboard-readonly"
	// ReadOnlyClientSecret is ReadOnlyClientID's secret.
	ReadOnlyClientSecret = "offboard-readonly-secret"
)

// Permissions the emulator enforces, as Genesys names them (domain:entity:action).
const (
	PermUserView           = "directory:user:view"
	PermUserEdit           = "directory:user:edit"
	PermUserDelete         = "directory:user:delete"
	PermConversationDetail = "analytics:conversationDetail:view"
	PermOAuthClientView    = "oauth:client:view"
	PermRoleView           = "authorization:role:view"

	PermGrantView              = "authorization:grant:view"
	PermGrantDelete            = "authorization:grant:delete"
	PermGrantAdd               = "authorization:grant:add"
	PermQueueView              = "routing:queue:view"
	PermQueueEdit              = "routing:queue:edit"
	PermQueueJoin              = "routing:queue:join"
	PermQueueMemberManage      = "routing:queueMember:manage"
	PermCallForwardingEdit     = "conversation:callForwarding:edit"
	PermStationDisassociate    = "telephony:station:disassociate"
	PermStationAssociationView = "telephony:otherStationAssociation:view"
	PermPhoneAssign            = "telephony:phone:assign"
	PermPluginAll              = "telephony:plugin:all"
	PermTokenDelete            = "oauth:token:delete"
	PermUserStateView          = "directory:userStateChange:view"
)

// devPermissions are DevClientID's: everything Offboard does, including ending and restoring
// a user's access.
var devPermissions = []string{PermUserView, PermUserEdit, PermUserDelete, PermConversationDetail, PermOAuthClientView, PermRoleView,
	PermGrantView, PermGrantDelete, PermGrantAdd, PermQueueView, PermQueueMemberManage, PermCallForwardingEdit,
	PermStationDisassociate, PermStationAssociationView, PermPhoneAssign, PermTokenDelete, PermUserStateView}

// readOnlyPermissions are ReadOnlyClientID's: it may read everything an offboarding reads, and
// change nothing.
var readOnlyPermissions = []string{PermUserView, PermConversationDetail, PermOAuthClientView, PermRoleView,
	PermGrantView, PermQueueView, PermStationAssociationView, PermUserStateView}

// The dataset Options gives by default.
const (
	DefaultSeed          = 1
	DefaultUsers         = 50
	DefaultConversations = 5000
)

// Options configures an Emulator. The zero value gives the defaults documented on each field.
type Options struct {
	// Seed makes the dataset (user IDs, names, conversations) reproducible. Default DefaultSeed.
	Seed int64
	// Users is the number of seeded users. Default DefaultUsers.
	Users int
	// Conversations is the number of seeded conversations. Default DefaultConversations.
	Conversations int
	// Now is the emulator's clock. Default time.Now.
	Now func() time.Time
	// Span is how far back the seeded conversations reach from Now(). Default 3 years.
	Span time.Duration
	// TokenTTL is how long issued access tokens live. Default 86399 s, like Genesys.
	TokenTTL time.Duration
	// RequestsPerMinute is the per-client rate limit. Default 300; negative disables it.
	RequestsPerMinute int
	// RateLimitWindow is the length of the rate limit's fixed windows, each allowing its part of
	// RequestsPerMinute. Default a minute, as Genesys; tests shorten it to see many windows.
	RateLimitWindow time.Duration
	// CallLog is how many calls the call log keeps, newest last; older calls are dropped first.
	// Default DefaultCallLog.
	CallLog int
	// JobPolls is how many polls an analytics job answers QUEUED or PENDING before FULFILLED.
	// Default 2 (one QUEUED, one PENDING); negative means FULFILLED on the first poll.
	JobPolls int
	// Logger receives one debug line per request (never tokens or secrets). Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Users <= 0 {
		o.Users = DefaultUsers
	}
	if o.Conversations < 0 {
		o.Conversations = 0
	} else if o.Conversations == 0 {
		o.Conversations = DefaultConversations
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Span <= 0 {
		o.Span = 3 * 365 * 24 * time.Hour
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 86399 * time.Second
	}
	if o.RequestsPerMinute == 0 {
		o.RequestsPerMinute = 300
	}
	if o.RateLimitWindow <= 0 {
		o.RateLimitWindow = time.Minute
	}
	if o.CallLog <= 0 {
		o.CallLog = DefaultCallLog
	}
	if o.JobPolls == 0 {
		o.JobPolls = 2
	} else if o.JobPolls < 0 {
		o.JobPolls = 0
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Faults are failures injected into Genesys paths (/api/v2/** and /oauth/token), switchable at
// run time with SetFaults or PUT /emulator/v1/faults. The zero value injects nothing.
type Faults struct {
	// ErrorRate is the fraction (0..1) of Genesys requests answered 500 or 503 at random,
	// drawn from an RNG seeded by Options.Seed.
	ErrorRate float64 `json:"errorRate,omitempty"`

	Burst5xx       int           `json:"burst5xx,omitempty"`       // the next N Genesys requests answer 503
	RateLimitBurst int           `json:"rateLimitBurst,omitempty"` // the next N Genesys requests answer 429 with RetryAfter
	RetryAfter     int           `json:"retryAfter,omitempty"`     // seconds, of injected 429s; default 1
	Latency        time.Duration `json:"latency,omitempty"`        // added to every Genesys request

	// RequestsPerMinute overrides the per-client rate limit; 0 leaves Options.RequestsPerMinute.
	RequestsPerMinute int `json:"requestsPerMinute,omitempty"`
	// TokenTTL overrides the lifetime of tokens issued from now on; 0 leaves Options.TokenTTL.
	TokenTTL time.Duration `json:"tokenTTL,omitempty"`
	// ExpireTokens expires every token issued so far. It acts once, when set, and reads back false.
	ExpireTokens bool `json:"expireTokens,omitempty"`
	FailJobs     int  `json:"failJobs,omitempty"` // the next N analytics jobs end FAILED
	// AvailabilityLag holds dataAvailabilityDate at now minus the lag; jobs see no conversation
	// that started after it.
	AvailabilityLag time.Duration `json:"availabilityLag,omitempty"`
	// StationLag makes station changes apply eventually: after a station write, the next N
	// reads of that user's stations still show them as they were.
	StationLag int `json:"stationLag,omitempty"`
	// StationConflicts answers the next N station writes 409 (the station's version moved on).
	StationConflicts int `json:"stationConflicts,omitempty"`
	// FreezeSearch makes the users search answer from the users as they were when it was set,
	// like a search index that has not caught up; reads by ID show every change since.
	FreezeSearch bool `json:"freezeSearch,omitempty"`
}

// Emulator is a local Genesys Cloud API. It implements http.Handler and is safe for concurrent use.
type Emulator struct {
	opts Options
	mux  *http.ServeMux
	// operations are the Genesys operations registered on mux, in registration order.
	operations []string

	dataMu sync.RWMutex
	data   *dataset // conversations; rebuilt by AddConversation and Reset

	mu       sync.Mutex
	users    []*userRec
	userIdx  map[string]int
	clients  map[string]*client
	roles    map[string]*role
	queues   []*queueRec
	stations []*stationRec
	tokens   map[string]*token
	// searchIndex is what the users search sees while the freezeSearch fault holds; nil is the users.
	searchIndex []*userRec
	limits      map[string]*window
	jobs        map[string]*job
	faults      Faults
	rng         *rand.Rand
	calls       []Call
	callNext    int
	seq         uint64 // for IDs of jobs and added conversations
}

// New builds an emulator with its seeded dataset and the built-in OAuth clients.
func New(opts Options) *Emulator {
	e := &Emulator{opts: opts.withDefaults()}
	e.mux = http.NewServeMux()
	e.routes()
	e.Reset()
	return e
}

// Reset returns the emulator to its seeded state: users, conversations, clients, tokens and jobs
// as New made them, faults cleared and the call log emptied.
func (e *Emulator) Reset() {
	ds := generate(e.opts)
	e.dataMu.Lock()
	e.data = ds
	e.dataMu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	e.users = seedUsers(e.opts)
	e.userIdx = make(map[string]int, len(e.users))
	for i, u := range e.users {
		e.userIdx[u.id] = i
	}
	e.queues = seedQueues(e.opts.Seed, e.users)
	e.stations = seedStations(e.opts.Seed, e.users, e.opts.Now().UTC())
	e.roles = map[string]*role{}
	e.clients = map[string]*client{}
	for _, r := range userRoles(e.opts.Seed) {
		e.roles[r.id] = r
	}
	e.addClientLocked(DevClientID, DevClientSecret, "Offboard Operator", devPermissions...)
	e.addClientLocked(ReadOnlyClientID, ReadOnlyClientSecret, "Offboard Auditor", readOnlyPermissions...)
	e.seedUserClientsLocked()
	e.tokens = map[string]*token{}
	e.limits = map[string]*window{}
	e.jobs = map[string]*job{}
	e.faults = Faults{}
	e.searchIndex = nil
	e.rng = rand.New(rand.NewPCG(uint64(e.opts.Seed), 0x6a09e667f3bcc909))
	e.calls = nil
	e.callNext = 0
	e.seq = 0
}

// SetFaults replaces the injected faults. ExpireTokens, when set, expires every issued token now.
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f.ExpireTokens {
		now := e.opts.Now()
		for _, t := range e.tokens {
			t.expires = now
		}
		f.ExpireTokens = false
	}
	e.freezeSearchLocked(f.FreezeSearch)
	e.faults = f
}

// Faults returns the faults in force, with bursts reduced by the requests they already hit.
func (e *Emulator) Faults() Faults {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.faults
}

// Serve listens on addr and serves the emulator until ctx is done, then shuts down gracefully.
func (e *Emulator) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("emulator: address %s is already in use; stop whatever listens there or choose another address: %w", addr, err)
		}
		return fmt.Errorf("emulator: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("emulator: serve on %s: %w", addr, err)
	case <-ctx.Done():
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutCtx); err != nil {
			return fmt.Errorf("emulator: shut down %s: %w", addr, err)
		}
		return nil
	}
}

// ServeHTTP routes a request. Genesys paths get a correlation ID, faults, authentication and the
// rate limit; /emulator/v1/ paths get none of them.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mux.ServeHTTP(w, r)
}

// faultsJSON is Faults on the wire: its durations, which shadow those of the embedded Faults,
// as Go duration strings ("250ms").
type faultsJSON struct {
	plainFaults
	Latency         jsonDuration `json:"latency,omitempty"`
	TokenTTL        jsonDuration `json:"tokenTTL,omitempty"`
	AvailabilityLag jsonDuration `json:"availabilityLag,omitempty"`
}

// plainFaults is Faults without its JSON methods.
type plainFaults Faults

// MarshalJSON writes durations as Go duration strings such as "250ms".
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{plainFaults(f), jsonDuration(f.Latency), jsonDuration(f.TokenTTL), jsonDuration(f.AvailabilityLag)})
}

// UnmarshalJSON reads durations as Go duration strings ("1.5s") or integer nanoseconds, and
// rejects unknown fields so that a typo does not silently inject nothing.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	if j.ErrorRate < 0 || j.ErrorRate > 1 {
		return fmt.Errorf("faults: errorRate %v must be between 0 and 1", j.ErrorRate)
	}
	*f = Faults(j.plainFaults)
	f.Latency, f.TokenTTL, f.AvailabilityLag = time.Duration(j.Latency), time.Duration(j.TokenTTL), time.Duration(j.AvailabilityLag)
	return nil
}

type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w (write e.g. \"250ms\" or \"2m\")", s, err)
		}
		*d = jsonDuration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration %s must be a string such as \"250ms\" or integer nanoseconds", b)
	}
	*d = jsonDuration(n)
	return nil
}
