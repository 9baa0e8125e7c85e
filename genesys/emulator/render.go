package emulator

import (
	"fmt"
	"time"
)

type convJSON struct {
	ConversationID       string            `json:"conversationId"`
	ConversationStart    string            `json:"conversationStart"`
	ConversationEnd      string            `json:"conversationEnd,omitempty"` // none while ongoing
	DivisionIDs          []string          `json:"divisionIds"`
	OriginatingDirection string            `json:"originatingDirection"`
	Participants         []participantJSON `json:"participants"`
}

type participantJSON struct {
	ParticipantID   string        `json:"participantId"`
	ParticipantName string        `json:"participantName,omitempty"`
	Purpose         string        `json:"purpose"`
	UserID          string        `json:"userId,omitempty"`
	Sessions        []sessionJSON `json:"sessions"`
}

type sessionJSON struct {
	SessionID string        `json:"sessionId"`
	MediaType string        `json:"mediaType"`
	Direction string        `json:"direction"`
	Ani       string        `json:"ani,omitempty"`  // voice only: the calling number
	Dnis      string        `json:"dnis,omitempty"` // voice only: the number called
	Segments  []segmentJSON `json:"segments"`
	Metrics   []metricJSON  `json:"metrics"`
}

type segmentJSON struct {
	SegmentStart   string `json:"segmentStart"`
	SegmentEnd     string `json:"segmentEnd,omitempty"`
	SegmentType    string `json:"segmentType"`
	QueueID        string `json:"queueId,omitempty"`
	WrapUpCode     string `json:"wrapUpCode,omitempty"`
	DisconnectType string `json:"disconnectType,omitempty"`
}

type metricJSON struct {
	Name     string `json:"name"`
	Value    int64  `json:"value"`
	EmitDate string `json:"emitDate"`
}

var mediaTypes = []string{"voice", "voice", "voice", "voice", "voice", "voice", "chat", "chat", "email", "email"}

var disconnectTypes = []string{"client", "peer", "endpoint"}

// rendering is one conversation being rendered: its compact form, the clock, and the traits
// drawn from its key.
type rendering struct {
	ds         *dataset
	c          conv
	nowMs      int64
	media, dir string
	queue      string
	ani, dnis  string
}

// leg is one agent's part of a conversation; a transfer leg ends in a transfer to the next.
type leg struct {
	user     int32
	from, to int64
	transfer bool
}

// legTimes are the instants of an agent leg: alert until talkFrom, talk until talkTo (held for
// held of it), wrap-up (wrap long) until the leg ends.
type legTimes struct {
	alert, wrap      int64
	talkFrom, talkTo int64
	held             int64
}

// render derives the full analytics conversation from its compact form. Segments that have not
// ended by now carry no segmentEnd, and an ongoing conversation has no conversationEnd.
func (ds *dataset) render(c conv, now time.Time) convJSON {
	x := newRendering(ds, c, now)
	out := convJSON{
		ConversationID:       convID(c.key),
		ConversationStart:    tsMs(c.start),
		OriginatingDirection: x.dir,
		Participants:         []participantJSON{x.customer()},
	}
	if c.end <= x.nowMs {
		out.ConversationEnd = tsMs(c.end)
	}
	div := ds.divs[0]
	for i, l := range x.legs() {
		if l.from > x.nowMs {
			continue // the agent has not been reached yet
		}
		if i == 0 {
			div = ds.divs[int(mix(uint64(l.user))%uint64(len(ds.divs)))]
		}
		out.Participants = append(out.Participants, x.agent(i, l))
	}
	out.DivisionIDs = []string{div}
	return out
}

func newRendering(ds *dataset, c conv, now time.Time) rendering {
	x := rendering{ds: ds, c: c, nowMs: now.UnixMilli(), dir: "inbound"}
	x.media = mediaTypes[x.r(3, int64(len(mediaTypes)))]
	if x.r(4, 4) == 0 {
		x.dir = "outbound"
	}
	x.queue = ds.queues[x.r(5, int64(len(ds.queues)))]
	if x.media == "voice" {
		x.ani = fmt.Sprintf("tel:+1555%07d", x.r(7, 10_000_000))
		x.dnis = fmt.Sprintf("tel:+1800555%04d", x.r(8, 10_000))
	}
	return x
}

// r draws a number in [0, n) from the conversation's key and salt.
func (x *rendering) r(salt uint64, n int64) int64 { return int64(mix(x.c.key^salt) % uint64(n)) }

// seg is a segment from a to b; it has no end while b is after now.
func (x *rendering) seg(a, b int64, typ string) segmentJSON {
	s := segmentJSON{SegmentStart: tsMs(a), SegmentType: typ}
	if b <= x.nowMs {
		s.SegmentEnd = tsMs(b)
	}
	return s
}

// customer is the caller's side: one interaction for the whole conversation.
func (x *rendering) customer() participantJSON {
	k := x.c.key
	talk := x.seg(x.c.start, x.c.end, "interact")
	talk.DisconnectType = disconnectTypes[x.r(14, 3)]
	return participantJSON{
		ParticipantID:   seededUUIDFromKey(k, 10),
		ParticipantName: firstNames[x.r(11, int64(len(firstNames)))] + " " + lastNames[x.r(12, int64(len(lastNames)))],
		Purpose:         "customer",
		Sessions: []sessionJSON{{
			SessionID: seededUUIDFromKey(k, 13), MediaType: x.media, Direction: x.dir, Ani: x.ani, Dnis: x.dnis,
			Segments: []segmentJSON{talk},
			Metrics:  []metricJSON{},
		}},
	}
}

// legs are the agent legs after the IVR: one, or two split at a transfer point.
func (x *rendering) legs() []leg {
	c := x.c
	dur := c.end - c.start
	ivr := min(5000+x.r(6, 55000), max(dur/10, 1))
	if c.agents[1] < 0 {
		return []leg{{user: c.agents[0], from: c.start + ivr, to: c.end}}
	}
	mid := c.start + ivr + (dur-ivr)/2
	return []leg{{user: c.agents[0], from: c.start + ivr, to: mid, transfer: true}, {user: c.agents[1], from: mid, to: c.end}}
}

// agent renders the i-th agent leg with the segments started and the metrics emitted by now.
func (x *rendering) agent(i int, l leg) participantJSON {
	salt := uint64(20 + 10*i)
	part := max((l.to-l.from)/10, 1)
	t := legTimes{alert: min(3000+x.r(salt+1, 17000), part), wrap: min(10000+x.r(salt+2, 110000), part)}
	t.talkFrom, t.talkTo = l.from+t.alert, l.to-t.wrap
	segs := x.agentSegments(salt, l, &t)
	return participantJSON{
		ParticipantID:   seededUUIDFromKey(x.c.key, salt),
		ParticipantName: x.ds.names[l.user],
		Purpose:         "agent",
		UserID:          x.ds.userIDs[l.user],
		Sessions: []sessionJSON{{
			SessionID: seededUUIDFromKey(x.c.key, salt+9), MediaType: x.media, Direction: x.dir,
			Ani: x.ani, Dnis: x.dnis, Segments: segs, Metrics: x.agentMetrics(l, t),
		}},
	}
}

// agentSegments are a leg's alert, talk (in one leg in four held in its middle third, which
// sets t.held) and wrap-up, without those that have not started by now.
func (x *rendering) agentSegments(salt uint64, l leg, t *legTimes) []segmentJSON {
	segs := []segmentJSON{x.seg(l.from, t.talkFrom, "alert")}
	starts := []int64{l.from}
	if x.r(salt+3, 4) == 0 && t.talkTo-t.talkFrom > 4 {
		h1 := t.talkFrom + (t.talkTo-t.talkFrom)/3
		h2 := t.talkFrom + 2*(t.talkTo-t.talkFrom)/3
		t.held = h2 - h1
		segs = append(segs, x.seg(t.talkFrom, h1, "interact"), x.seg(h1, h2, "hold"), x.seg(h2, t.talkTo, "interact"))
		starts = append(starts, t.talkFrom, h1, h2)
	} else {
		segs = append(segs, x.seg(t.talkFrom, t.talkTo, "interact"))
		starts = append(starts, t.talkFrom)
	}
	last := &segs[len(segs)-1]
	last.DisconnectType = "transfer"
	if !l.transfer {
		last.DisconnectType = disconnectTypes[x.r(salt+4, 3)]
	}
	for j := range segs {
		segs[j].QueueID = x.queue
	}
	wu := x.seg(t.talkTo, l.to, "wrapup")
	wu.QueueID, wu.WrapUpCode = x.queue, x.ds.wrapUps[x.r(salt+5, int64(len(x.ds.wrapUps)))]
	segs = append(segs, wu)
	starts = append(starts, t.talkTo)
	n := 0
	for k, s := range segs {
		if starts[k] <= x.nowMs {
			segs[n] = s
			n++
		}
	}
	return segs[:n]
}

// agentMetrics are the leg's metrics emitted by now: tAlert when talk begins, tTalk and tHeld
// when it ends, tAcw when wrap-up ends.
func (x *rendering) agentMetrics(l leg, t legTimes) []metricJSON {
	metrics := []metricJSON{}
	if t.talkFrom <= x.nowMs {
		metrics = append(metrics, metricJSON{Name: "tAlert", Value: t.alert, EmitDate: tsMs(t.talkFrom)})
	}
	if t.talkTo <= x.nowMs {
		metrics = append(metrics, metricJSON{Name: "tTalk", Value: t.talkTo - t.talkFrom - t.held, EmitDate: tsMs(t.talkTo)})
		if t.held > 0 {
			metrics = append(metrics, metricJSON{Name: "tHeld", Value: t.held, EmitDate: tsMs(t.talkTo)})
		}
	}
	if l.to <= x.nowMs {
		metrics = append(metrics, metricJSON{Name: "tAcw", Value: t.wrap, EmitDate: tsMs(l.to)})
	}
	return metrics
}

const tsLayout = "2006-01-02T15:04:05.000Z"

// tsMs formats Unix milliseconds as tsLayout without time.Format's generality: rendering a
// page of conversations formats thousands of timestamps.
func tsMs(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	var b [24]byte
	put := func(i, v, n int) {
		for k := i + n - 1; k >= i; k-- {
			b[k] = byte('0' + v%10)
			v /= 10
		}
	}
	if y < 0 || y > 9999 {
		return t.Format(tsLayout)
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, int(mo), 2)
	b[7] = '-'
	put(8, d, 2)
	b[10] = 'T'
	put(11, h, 2)
	b[13] = ':'
	put(14, mi, 2)
	b[16] = ':'
	put(17, sec, 2)
	b[19] = '.'
	put(20, int(((ms%1000)+1000)%1000), 3)
	b[23] = 'Z'
	return string(b[:])
}

func seededUUIDFromKey(k, salt uint64) string { return convID(mix(k ^ (salt << 32))) }
