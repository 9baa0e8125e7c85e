package emulator

import (
	"fmt"
	"slices"
	"time"
)

// The access a user holds beyond their state: grants, queues, routing, station, forwarding,
// manager. All of it is seeded from (seed, user index) like the rest of the user.

// Routing statuses (RoutingStatus.status).
const (
	routingOffQueue    = "OFF_QUEUE"
	routingIdle        = "IDLE"
	routingInteracting = "INTERACTING"
)

// Station types, as GET /users/{id}/station names them.
const (
	stationWebRTC = "inin_webrtc_softphone"
	stationRemote = "inin_remote"
	stationPhone  = "inin_phone"
)

// Member types of a queue membership (QueueMember.memberBy).
const (
	memberByUser  = "user"
	memberByGroup = "group"
)

var (
	skillNames    = []string{"Billing Disputes", "Technical Troubleshooting", "Sales Upsell", "Retention Offers", "Escalations"}
	languageNames = []string{"English", "Spanish", "French", "German"}
	// groupQueue is the queue (index into queueNames) whose members some users are through a
	// group, groupName.
	groupQueue = len(queueNames) - 1
)

const groupName = "Retention Team"

// grantRec is a role granted in a division.
type grantRec struct {
	roleID, divisionID string
	madeAt             time.Time
}

// proficiencyRec is a routing skill or language of a user.
type proficiencyRec struct {
	id, name    string
	proficiency float64
}

// forwardingRec is a user's call forwarding.
type forwardingRec struct {
	enabled     bool
	phoneNumber string
	calls       [][]targetRec
	voicemail   string
	modified    time.Time
}

type targetRec struct{ kind, value string }

// memberRec is one user's membership of a queue.
type memberRec struct {
	userID   string
	joined   bool
	memberBy string
}

// queueRec is a routing queue and its members, in the order they joined.
type queueRec struct {
	id, name string
	division int
	members  []*memberRec
}

func (q *queueRec) member(userID string) *memberRec {
	for _, m := range q.members {
		if m.userID == userID {
			return m
		}
	}
	return nil
}

// stationRec is a station; associatedUser is whoever is using it ("" for none).
type stationRec struct {
	id, name, kind string
	associatedUser string
	associatedAt   time.Time
	version        int
}

// userAccess is the part of userRec that ending access changes.
type userAccess struct {
	grants         []grantRec
	manager        string // user ID, "" for none
	routingStatus  string
	routingSince   time.Time
	skills         []proficiencyRec
	languages      []proficiencyRec
	station        string // associated station ID
	defaultStation string
	lastStation    string // the station associated before the current one
	// lagging is what station reads show while lagReads (a StationLag fault) lasts.
	lagging      stationView
	lagReads     int
	forwarding   forwardingRec
	stateReason  string
	stateChanged time.Time
}

func skillID(seed int64, name string) string    { return seededUUID(seed, "skill:"+name) }
func languageID(seed int64, name string) string { return seededUUID(seed, "language:"+name) }
func groupID(seed int64) string                 { return seededUUID(seed, "group:"+groupName) }
func stationID(seed int64, i int) string        { return seededUUID(seed, fmt.Sprintf("station:%d", i)) }

// managerIndex is the seeded manager of user i: team leads (every 8th user) report to user 0,
// everyone else to the team lead before them; user 0 has none.
func managerIndex(i int) int {
	switch {
	case i == 0:
		return -1
	case i%8 == 0:
		return 0
	}
	return i - i%8
}

// seedAccess gives user i of users (already seeded with state and division) its access.
func seedAccess(seed int64, i int, u *userRec, users []*userRec, now time.Time) {
	roles := userRoles(seed)
	divs := divisionIDs(seed)
	h := mix2(uint64(seed)^0xacce55, uint64(i))
	made := now.Add(-time.Duration(h%(400*24)) * time.Hour).Truncate(time.Second)
	u.grants = []grantRec{{roleID: roles[0].id, divisionID: divs[u.division], madeAt: made}}
	if i%7 == 3 {
		u.grants = append(u.grants, grantRec{roleID: roles[1].id, divisionID: divs[0], madeAt: made})
		if i%14 == 3 {
			u.grants = append(u.grants, grantRec{roleID: roles[1].id, divisionID: divs[1], madeAt: made})
		}
	}
	if m := managerIndex(i); m >= 0 && m < len(users) {
		u.manager = users[m].id
	}
	u.routingStatus, u.routingSince = routingOffQueue, made
	if u.state == "active" {
		switch i % 10 {
		case 1:
			u.routingStatus = routingIdle
		case 2:
			u.routingStatus = routingInteracting
		}
	}
	for k, name := range skillNames {
		if (h>>(k+8))&3 == 0 || k == i%len(skillNames) {
			u.skills = append(u.skills, proficiencyRec{id: skillID(seed, name), name: name, proficiency: float64(1 + (h>>(2*k+16))%5)})
		}
	}
	u.languages = []proficiencyRec{{id: languageID(seed, languageNames[0]), name: languageNames[0], proficiency: 5}}
	if i%3 == 1 {
		name := languageNames[1+(h>>30)%uint64(len(languageNames)-1)]
		u.languages = append(u.languages, proficiencyRec{id: languageID(seed, name), name: name, proficiency: float64(2 + (h>>34)%4)})
	}
	u.forwarding = seedForwarding(i, made)
}

// seedForwarding is user i's call forwarding: one in five forwards to a mobile number, and
// one in five has a number set up but forwarding off.
func seedForwarding(i int, at time.Time) forwardingRec {
	f := forwardingRec{modified: at}
	number := fmt.Sprintf("+13175550%03d", i%1000)
	switch i % 5 {
	case 2:
		f.enabled, f.phoneNumber, f.voicemail = true, number, "PURECLOUD"
		f.calls = [][]targetRec{{{kind: "PHONENUMBER", value: number}}}
	case 4:
		f.phoneNumber, f.voicemail = number, "LASTCALL"
		f.calls = [][]targetRec{{{kind: "PHONENUMBER", value: number}}}
	}
	return f
}

// seedQueues makes the queues and their members: every user who is not deleted is a member of
// one to all of them, one in five memberships unjoined, and one user in six is in the last queue
// through a group.
func seedQueues(seed int64, users []*userRec) []*queueRec {
	ids := queueIDs(seed)
	queues := make([]*queueRec, len(ids))
	for k, id := range ids {
		queues[k] = &queueRec{id: id, name: queueNames[k], division: k % len(divisionNames)}
	}
	for i, u := range users {
		if u.state == "deleted" {
			continue
		}
		h := mix2(uint64(seed)^0x9ee9e, uint64(i))
		for k, q := range queues {
			via := k == groupQueue && i%6 == 0
			if !via && (h>>k)&1 == 0 && k != i%len(queues) {
				continue
			}
			m := &memberRec{userID: u.id, joined: (h>>(k+8))%5 != 0, memberBy: memberByUser}
			if via {
				m.memberBy = memberByGroup
			}
			q.members = append(q.members, m)
		}
	}
	return queues
}

// seedStations makes a station for three users in four who are not deleted (associated and
// their default; one in three WebRTC), and three spare stations nobody uses.
func seedStations(seed int64, users []*userRec, now time.Time) []*stationRec {
	var stations []*stationRec
	for i, u := range users {
		if u.state == "deleted" || i%4 == 3 {
			continue
		}
		s := &stationRec{id: stationID(seed, i), version: 1 + i%3, associatedUser: u.id, associatedAt: now.Add(-time.Duration(i+1) * time.Hour)}
		switch i % 3 {
		case 0:
			s.kind, s.name = stationWebRTC, "WebRTC - "+u.name
		case 1:
			s.kind, s.name = stationPhone, fmt.Sprintf("Desk Phone %04d", 1000+i)
		default:
			s.kind, s.name = stationRemote, fmt.Sprintf("Remote %04d", 1000+i)
		}
		u.station, u.defaultStation = s.id, s.id
		stations = append(stations, s)
	}
	for k := range 3 {
		n := len(users) + k
		stations = append(stations, &stationRec{id: stationID(seed, n), name: fmt.Sprintf("Desk Phone %04d", 1000+n), kind: stationPhone, version: 1})
	}
	return stations
}

// stationLocked finds a station by ID.
func (e *Emulator) stationLocked(id string) *stationRec {
	i := slices.IndexFunc(e.stations, func(s *stationRec) bool { return s.id == id })
	if i < 0 {
		return nil
	}
	return e.stations[i]
}

// queueLocked finds a queue by ID.
func (e *Emulator) queueLocked(id string) *queueRec {
	i := slices.IndexFunc(e.queues, func(q *queueRec) bool { return q.id == id })
	if i < 0 {
		return nil
	}
	return e.queues[i]
}
