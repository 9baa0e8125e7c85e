package emulator

import (
	"fmt"
	"time"
)

type convJSON struct {
	ConversationID       string            `json:"conversationId"`
	ConversationStart    string            `json:"conversationStart"`
	ConversationEnd      string            `json:"conversationEnd,omitempty"`
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
	Ani       string        `json:"ani,omitempty"`
	Dnis      string        `json:"dnis,omitempty"`
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

// render derives the full analytics conversation from its compact form. Segments that have not
// ended by now carry no segmentEnd, and an ongoing conversation has no conversationEnd.
func (ds *dataset) render(c conv, now time.Time) convJSON {
	nowMs := now.UnixMilli()
	k := c.key
	r := func(salt uint64, n int64) int64 { return int64(mix(k^salt) % uint64(n)) }
	media := mediaTypes[r(3, int64(len(mediaTypes)))]
	dir := "inbound"
	if r(4, 4) == 0 {
		dir = "outbound"
	}
	queue := ds.queues[r(5, int64(len(ds.queues)))]
	dur := c.end - c.start
	tenth := max(dur/10, 1)
	ivr := min(5000+r(6, 55000), tenth)
	cid := convID(k)

	out := convJSON{
		ConversationID:       cid,
		ConversationStart:    tsMs(c.start),
		OriginatingDirection: dir,
	}
	if c.end <= nowMs {
		out.ConversationEnd = tsMs(c.end)
	}
	seg := func(a, b int64, typ string) segmentJSON {
		s := segmentJSON{SegmentStart: tsMs(a), SegmentType: typ}
		if b <= nowMs {
			s.SegmentEnd = tsMs(b)
		}
		return s
	}
	ani, dnis := "", ""
	if media == "voice" {
		ani = fmt.Sprintf("tel:+1555%07d", r(7, 10_000_000))
		dnis = fmt.Sprintf("tel:+1800555%04d", r(8, 10_000))
	}
	custDir := dir
	cust := participantJSON{
		ParticipantID:   seededUUIDFromKey(k, 10),
		ParticipantName: fmt.Sprintf("%s %s", firstNames[r(11, int64(len(firstNames)))], lastNames[r(12, int64(len(lastNames)))]),
		Purpose:         "customer",
		Sessions: []sessionJSON{{
			SessionID: seededUUIDFromKey(k, 13), MediaType: media, Direction: custDir, Ani: ani, Dnis: dnis,
			Segments: []segmentJSON{seg(c.start, c.end, "interact")},
			Metrics:  []metricJSON{},
		}},
	}
	cust.Sessions[0].Segments[0].DisconnectType = []string{"client", "peer", "endpoint"}[r(14, 3)]
	out.Participants = append(out.Participants, cust)

	// Agent legs: one, or two split at a transfer point.
	type leg struct {
		user     int32
		from, to int64
		transfer bool
	}
	legs := []leg{{user: c.agents[0], from: c.start + ivr, to: c.end}}
	if c.agents[1] >= 0 {
		mid := c.start + ivr + (dur-ivr)/2
		legs = []leg{{user: c.agents[0], from: c.start + ivr, to: mid, transfer: true}, {user: c.agents[1], from: mid, to: c.end}}
	}
	div := ds.divs[0]
	for i, l := range legs {
		salt := uint64(20 + 10*i)
		span := l.to - l.from
		part := max(span/10, 1)
		alert := min(3000+r(salt+1, 17000), part)
		wrap := min(10000+r(salt+2, 110000), part)
		talkFrom, talkTo := l.from+alert, l.to-wrap
		segs := []segmentJSON{seg(l.from, talkFrom, "alert")}
		starts := []int64{l.from}
		var held int64
		if r(salt+3, 4) == 0 && talkTo-talkFrom > 4 {
			h1 := talkFrom + (talkTo-talkFrom)/3
			h2 := talkFrom + 2*(talkTo-talkFrom)/3
			held = h2 - h1
			segs = append(segs, seg(talkFrom, h1, "interact"), seg(h1, h2, "hold"), seg(h2, talkTo, "interact"))
			starts = append(starts, talkFrom, h1, h2)
		} else {
			segs = append(segs, seg(talkFrom, talkTo, "interact"))
			starts = append(starts, talkFrom)
		}
		last := &segs[len(segs)-1]
		if l.transfer {
			last.DisconnectType = "transfer"
		} else {
			last.DisconnectType = []string{"client", "peer", "endpoint"}[r(salt+4, 3)]
		}
		for j := range segs {
			segs[j].QueueID = queue
		}
		wu := seg(talkTo, l.to, "wrapup")
		wu.QueueID = queue
		wu.WrapUpCode = ds.wrapUps[r(salt+5, int64(len(ds.wrapUps)))]
		segs = append(segs, wu)
		starts = append(starts, talkTo)
		// Drop segments that have not started yet.
		n := 0
		for k, s := range segs {
			if starts[k] <= nowMs {
				segs[n] = s
				n++
			}
		}
		segs = segs[:n]
		var metrics []metricJSON
		if talkFrom <= nowMs {
			metrics = append(metrics, metricJSON{Name: "tAlert", Value: alert, EmitDate: tsMs(talkFrom)})
		}
		if talkTo <= nowMs {
			metrics = append(metrics, metricJSON{Name: "tTalk", Value: talkTo - talkFrom - held, EmitDate: tsMs(talkTo)})
			if held > 0 {
				metrics = append(metrics, metricJSON{Name: "tHeld", Value: held, EmitDate: tsMs(talkTo)})
			}
		}
		if l.to <= nowMs {
			metrics = append(metrics, metricJSON{Name: "tAcw", Value: wrap, EmitDate: tsMs(l.to)})
		}
		if metrics == nil {
			metrics = []metricJSON{}
		}
		if l.from > nowMs {
			continue
		}
		if i == 0 {
			div = ds.divs[int(mix(uint64(l.user))%uint64(len(ds.divs)))]
		}
		out.Participants = append(out.Participants, participantJSON{
			ParticipantID:   seededUUIDFromKey(k, salt),
			ParticipantName: ds.names[l.user],
			Purpose:         "agent",
			UserID:          ds.userIDs[l.user],
			Sessions: []sessionJSON{{
				SessionID: seededUUIDFromKey(k, salt+9), MediaType: media, Direction: dir,
				Ani: ani, Dnis: dnis, Segments: segs, Metrics: metrics,
			}},
		})
	}
	out.DivisionIDs = []string{div}
	return out
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
