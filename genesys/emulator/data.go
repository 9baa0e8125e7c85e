package emulator

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// mix is SplitMix64's finalizer: a cheap, well-spread hash that derives every generated
// attribute from (seed, index), so nothing but compact structs needs storing.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func mix2(a, b uint64) uint64 { return mix(mix(a) ^ b) }

var (
	firstNames = []string{"Ada", "Ben", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiroshi", "Ines", "Jamal",
		"Kara", "Liam", "Mei", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Sven", "Tara",
		"Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe", "Aoife", "Bruno", "Carmen", "Dev"}
	lastNames = []string{"Almeida", "Brennan", "Chen", "Dubois", "Eriksen", "Fischer", "García", "Haddad", "Ivanova", "Jensen",
		"Kowalski", "Larsen", "Moreau", "Nakamura", "O'Brien", "Patel", "Quinn", "Rossi", "Schmidt", "Tanaka",
		"Usman", "Varga", "Walsh", "Xu", "Yilmaz", "Zimmermann", "Okafor", "Lindqvist", "Moretti", "Novak"}
	titles        = []string{"Contact Center Agent", "Senior Agent", "Team Lead", "Supervisor", "Quality Analyst"}
	departments   = []string{"Customer Care", "Sales", "Technical Support", "Billing"}
	divisionNames = []string{"Home", "Sales", "Support"}
	queueNames    = []string{"General Enquiries", "Billing", "Technical Support", "Sales", "Retention"}
	wrapUpNames   = []string{"Resolved", "Follow-up Required", "Escalated", "Sale Completed", "Wrong Number", "Callback Scheduled"}
)

func divisionIDs(seed int64) []string {
	out := make([]string, len(divisionNames))
	for i, n := range divisionNames {
		out[i] = seededUUID(seed, "division:"+n)
	}
	return out
}

func queueIDs(seed int64) []string {
	out := make([]string, len(queueNames))
	for i, n := range queueNames {
		out[i] = seededUUID(seed, "queue:"+n)
	}
	return out
}

func wrapUpIDs(seed int64) []string {
	out := make([]string, len(wrapUpNames))
	for i, n := range wrapUpNames {
		out[i] = seededUUID(seed, "wrapup:"+n)
	}
	return out
}

// userRoles are the roles seeded users hold (not OAuth clients).
func userRoles(seed int64) []*role {
	return []*role{
		{id: seededUUID(seed, "role:user:agent"), name: "Agent", policies: []policy{
			{domain: "conversation", entity: "communication", actions: []string{"accept", "view"}},
			{domain: "routing", entity: "queue", actions: []string{"join"}},
		}},
		{id: seededUUID(seed, "role:user:supervisor"), name: "Supervisor", policies: []policy{
			{domain: "analytics", entity: "conversationDetail", actions: []string{"view"}},
			{domain: "directory", entity: "user", actions: []string{"view"}},
		}},
	}
}

// userRec is a user's mutable state.
type userRec struct {
	id, name, email, title, department string
	employeeID                         string // employerInfo.employeeId
	division                           int
	state                              string
	version                            int
	modified                           time.Time
	userAccess
}

// roleIDs lists the roles the user is granted in any division, each once.
func (u *userRec) roleIDs() []string {
	ids := []string{}
	for _, g := range u.grants {
		if !slices.Contains(ids, g.roleID) {
			ids = append(ids, g.roleID)
		}
	}
	return ids
}

// seedUsers makes the deterministic user population. Roughly one user in 13 is inactive and one
// in 29 deleted, so every state is present from 30 users up.
func seedUsers(o Options) []*userRec {
	used := map[string]int{}
	now := o.Now().UTC()
	users := make([]*userRec, o.Users)
	for i := range users {
		h := mix2(uint64(o.Seed), uint64(i)+1)
		first := firstNames[h%uint64(len(firstNames))]
		last := lastNames[(h>>16)%uint64(len(lastNames))]
		local := strings.ToLower(asciiFold(first) + "." + asciiFold(last))
		used[local]++
		if n := used[local]; n > 1 {
			local = fmt.Sprintf("%s%d", local, n)
		}
		u := &userRec{
			id:         seededUUID(o.Seed, fmt.Sprintf("user:%d", i)),
			employeeID: employeeIDFor(o.Seed, i),
			name:       first + " " + last,
			email:      local + "@example.com",
			title:      titles[(h>>24)%uint64(len(titles))],
			department: departments[(h>>32)%uint64(len(departments))],
			division:   int((h >> 40) % uint64(len(divisionNames))),
			state:      "active",
			version:    1 + int((h>>48)%5),
			modified:   now.Add(-time.Duration((h>>8)%(90*24)) * time.Hour).Truncate(time.Second),
		}
		switch {
		case i%29 == 28:
			u.state = "deleted"
		case i%13 == 12:
			u.state = "inactive"
		}
		users[i] = u
	}
	for i, u := range users {
		seedAccess(o.Seed, i, u, users, now)
	}
	return users
}

func asciiFold(s string) string {
	r := strings.NewReplacer("é", "e", "í", "i", "'", "")
	return r.Replace(s)
}

// conv is one conversation, compactly. Everything else (ID, media, queue, names, segments) is
// derived from key when the conversation is rendered.
type conv struct {
	start, end int64 // Unix milliseconds; end is the planned end even while ongoing
	key        uint64
	agents     [2]int32 // user indexes; agents[1] is -1 without a transfer
}

// dataset is the immutable conversation store. AddConversation and Reset swap in a new one.
type dataset struct {
	seed    int64
	convs   []conv    // sorted by (start, key)
	byUser  [][]int32 // per user index, positions in convs, ascending
	maxDur  int64     // longest conversation, ms: bounds the overlap scan
	userIDs []string
	names   []string
	divs    []string
	queues  []string
	wrapUps []string
}

func convLess(a, b conv) int {
	if c := cmp.Compare(a.start, b.start); c != 0 {
		return c
	}
	return cmp.Compare(a.key, b.key)
}

// generate derives the seeded conversations. Durations are mostly minutes, about 3% last hours,
// and about 1% start shortly before UTC midnight, so lifetime-overlap semantics are exercised.
func generate(o Options) *dataset {
	users := seedUsers(o)
	ds := &dataset{seed: o.Seed, divs: divisionIDs(o.Seed), queues: queueIDs(o.Seed), wrapUps: wrapUpIDs(o.Seed)}
	for _, u := range users {
		ds.userIDs = append(ds.userIDs, u.id)
		ds.names = append(ds.names, u.name)
	}
	nowMs := o.Now().UnixMilli()
	spanMs := o.Span.Milliseconds()
	nu := uint64(len(users))
	ds.convs = make([]conv, o.Conversations)
	for i := range ds.convs {
		h := mix2(uint64(o.Seed)^0x5bd1e995, uint64(i))
		start := nowMs - spanMs + int64(h%uint64(spanMs))
		h2 := mix(h)
		var dur int64
		switch p := h2 % 100; {
		case p < 3:
			dur = int64(2*3600_000 + (h2>>8)%(6*3600_000)) // 2 to 8 hours
		default:
			dur = int64(60_000 + (h2>>8)%(40*60_000)) // 1 to 41 minutes
		}
		if i%97 == 0 { // start between 23:30 and 23:59 UTC and last at least 40 minutes
			day := start - start%86_400_000
			start = day + 23*3600_000 + 30*60_000 + int64((h2>>20)%(29*60_000))
			dur = max(dur, 40*60_000)
		}
		if start+dur > nowMs && start > nowMs-dur && i%2 == 0 {
			start = nowMs - dur - 1000 // most recent ones have ended
		}
		h3 := mix(h2)
		a1 := int32(h3 % nu)
		a2 := int32(-1)
		if nu > 1 && (h3>>20)%5 == 0 {
			a2 = int32((uint64(a1) + 1 + (h3>>24)%(nu-1)) % nu)
		}
		ds.convs[i] = conv{start: start, end: start + dur, key: mix(h3), agents: [2]int32{a1, a2}}
	}
	ds.index()
	return ds
}

// index sorts the conversations and rebuilds the per-user index.
func (ds *dataset) index() {
	slices.SortFunc(ds.convs, convLess)
	ds.byUser = make([][]int32, len(ds.userIDs))
	counts := make([]int, len(ds.userIDs))
	ds.maxDur = 0
	for _, c := range ds.convs {
		for _, a := range c.agents {
			if a >= 0 {
				counts[a]++
			}
		}
		ds.maxDur = max(ds.maxDur, c.end-c.start)
	}
	for u, n := range counts {
		ds.byUser[u] = make([]int32, 0, n)
	}
	for p, c := range ds.convs {
		ds.byUser[c.agents[0]] = append(ds.byUser[c.agents[0]], int32(p))
		if c.agents[1] >= 0 && c.agents[1] != c.agents[0] {
			ds.byUser[c.agents[1]] = append(ds.byUser[c.agents[1]], int32(p))
		}
	}
}

// ConversationSpec describes a conversation added by AddConversation.
type ConversationSpec struct {
	// Start and End bound the conversation; a zero End, or one after the emulator's now, makes
	// it ongoing (no conversationEnd) until the clock passes it.
	Start, End time.Time
	// UserIDs are the agents who handled it: one, or two for a transfer. They must be seeded users.
	UserIDs []string
}

// AddConversation adds a conversation (a test hook) and returns its ID. It panics if the spec
// names no user, more than two, or a user that is not seeded, or if End is before Start.
func (e *Emulator) AddConversation(c ConversationSpec) string {
	if len(c.UserIDs) == 0 || len(c.UserIDs) > 2 {
		panic(fmt.Sprintf("emulator: AddConversation needs 1 or 2 user IDs, got %d", len(c.UserIDs)))
	}
	end := c.End
	if end.IsZero() {
		end = c.Start.Add(100 * 365 * 24 * time.Hour)
	}
	if end.Before(c.Start) {
		panic("emulator: AddConversation: End is before Start")
	}
	e.mu.Lock()
	e.seq++
	key := mix2(uint64(e.opts.Seed)^0xadd, e.seq)
	e.mu.Unlock()

	e.dataMu.Lock()
	defer e.dataMu.Unlock()
	old := e.data
	nc := conv{start: c.Start.UnixMilli(), end: end.UnixMilli(), key: key, agents: [2]int32{-1, -1}}
	for i, id := range c.UserIDs {
		u := slices.Index(old.userIDs, id)
		if u < 0 {
			panic("emulator: AddConversation: " + id + " is not a seeded user")
		}
		nc.agents[i] = int32(u)
	}
	ds := *old
	ds.convs = append(slices.Clip(old.convs), nc)
	ds.index()
	e.data = &ds
	return convID(key)
}

func convID(key uint64) string {
	var b [16]byte
	a, c := mix(key^1), mix(key^2)
	for i := range 8 {
		b[i] = byte(a >> (8 * i))
		b[8+i] = byte(c >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}
