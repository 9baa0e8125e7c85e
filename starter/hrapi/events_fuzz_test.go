package hrapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/time/rate"

	"github.com/offboard/offboard/internal/webhook"
)

// contractEventSecrets are the event secrets of a contract API in mode.
func contractEventSecrets(mode temporalMode) []webhook.Secret {
	if mode == eventsOff {
		return nil
	}
	return []webhook.Secret{currentSecret}
}

// eventCalls are the contract calls of POST /v1/events.
func eventCalls() []contractCall {
	call := func(name string, mode temporalMode, d delivery, code int) contractCall {
		return contractCall{name: name, mode: mode, method: "POST", path: eventsPath, body: d.body, header: d.header, code: code}
	}
	signed := func(d delivery) delivery { return d.signed(currentSecret, "msg-1", now) }
	unknown := delivery{header: map[string]string{"Content-Type": mediaCloudEvent}, body: structured(contractEvent, "com.offboard.employee.hired", eventData(uid))}
	text := structuredDelivery(contractEvent, uid)
	text.header = map[string]string{"Content-Type": "text/plain"}
	unsigned := call("event unsigned", absent, structuredDelivery(contractEvent, uid), 401)
	unsigned.nonconforming = true
	unknownType := call("event of unknown type", absent, signed(unknown), 422)
	unknownType.nonconforming = true
	limited := call("event rate limited", absent, structuredDelivery(contractEvent, uid).signed(strangeSecret, "msg-1", now), 429)
	limited.times = 3
	return []contractCall{
		call("event structured", absent, signed(structuredDelivery(contractEvent, uid)), 202),
		call("event binary", absent, signed(binaryDelivery(contractEvent, uid)), 202),
		call("event redelivered", eventRunning, signed(binaryDelivery(contractEvent, uid)), 200),
		call("event while another is in flight", running, signed(structuredDelivery("evt-2", uid)), 409),
		call("event badly signed", absent, structuredDelivery(contractEvent, uid).signed(strangeSecret, "msg-1", now), 401),
		unsigned, unknownType, limited,
		call("event malformed", absent, signed(structuredDelivery(contractEvent, "nope")), 400),
		call("event as text", absent, signed(text), 415),
		call("event Temporal down", down, signed(structuredDelivery(contractEvent, uid)), 503),
		call("events off", eventsOff, signed(structuredDelivery(contractEvent, uid)), 503),
	}
}

// FuzzEvents sends the endpoint arbitrary deliveries, signed or not. It must never panic,
// answer only its documented statuses, start exactly one run for a 2xx and none otherwise, and
// never start anything, nor ask Temporal anything, for a delivery that is not signed.
func FuzzEvents(f *testing.F) {
	good := structuredDelivery("evt-1", uid)
	bin := binaryDelivery("evt-1", uid)
	f.Add(mediaCloudEvent, "", good.body, true)
	f.Add(mediaCloudEvent, "", good.body, false)
	f.Add("application/json", "1.0", bin.body, true)
	f.Add("application/json", "0.3", bin.body, true)
	f.Add(mediaCloudEvent, "", structured("evt-1", "com.offboard.employee.hired", eventData(uid)), true)
	f.Add(mediaCloudEvent, "", strings.Replace(good.body, `"id":"evt-1",`, "", 1), true)
	f.Add(mediaCloudEvent, "", `{"specversion":"1.0","id":"x","source":"/s","type":"`+EventTypeTerminated+`","data_base64":"e30="}`, true)
	f.Add(mediaCloudEvent+"; charset=latin1", "", good.body, true)
	f.Add("text/plain", "", "", true)
	f.Add(mediaCloudEvent, "", `[{"id":1}]`, true)
	f.Fuzz(func(t *testing.T, contentType, specVersion, body string, sign bool) {
		h, temporal, _ := newEventAPI(t, func(o *Options) {
			o.AuthFailureLimit = RateLimit{Rate: rate.Inf}
			o.StartLimit = RateLimit{Rate: rate.Inf}
		})
		d := delivery{header: map[string]string{"Content-Type": contentType}, body: body}
		if specVersion != "" {
			for k, v := range bin.header {
				if strings.HasPrefix(k, "ce-") {
					d.header[k] = v
				}
			}
			d.header["ce-specversion"] = specVersion
		}
		if sign {
			d = d.signed(currentSecret, "msg-1", now)
		}

		a := d.send(h)

		assert.Contains(t, eventStatuses, a.code, a.body)
		started := temporal.count("ExecuteWorkflow")
		switch {
		case !sign:
			assert.Equal(t, http.StatusUnauthorized, a.code, a.body)
			assert.Zero(t, started+temporal.count("DescribeWorkflowExecution"), "an unsigned delivery reaches nothing")
		case a.code < 300:
			assert.Equal(t, 1, started, "a 2xx started exactly one run")
		default:
			assert.Zero(t, started, "a refusal started nothing")
			assert.Equal(t, "application/problem+json", a.header.Get("Content-Type"))
		}
	})
}
