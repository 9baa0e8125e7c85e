package hrapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"golang.org/x/time/rate"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/webhook"
	"github.com/offboard/offboard/workflows"
)

// testSecret is a whsec_ secret of 32 bytes of b.
func testSecret(b byte) webhook.Secret {
	s, err := webhook.ParseSecret("whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)))
	if err != nil {
		panic(err)
	}
	return s
}

// The events' secrets: the current one, an old one still accepted, and one nobody configured.
var (
	currentSecret = testSecret(1)
	oldSecret     = testSecret(2)
	strangeSecret = testSecret(3)
)

const (
	eventsPath  = "/v1/events"
	eventSource = "https://hr.example.com/workday"
	otherUID    = "9b2d5c1e-7a4f-4e21-8c3b-5d6e7f8a9b0c"
)

// eventTemporal remembers what it started, and describes the latest run of each ID as running,
// started by the HR event in its memo.
type eventTemporal struct {
	fakeTemporal
	started []client.StartWorkflowOptions
	reqs    []workflows.Request
}

func (f *eventTemporal) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	run, err := f.fakeTemporal.ExecuteWorkflow(ctx, o, wf, args...)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, o)
	f.reqs = append(f.reqs, args[0].(workflows.Request))
	return run, err
}

func (f *eventTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.called("DescribeWorkflowExecution")
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.started) - 1; i >= 0; i-- {
		if o := f.started[i]; o.ID == id {
			memo, _ := converter.GetDefaultDataConverter().ToPayload(o.Memo[MemoHREventID])
			return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
				Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-1"}, FirstRunId: "run-1",
				Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{MemoHREventID: memo}},
			}}, nil
		}
	}
	return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
}

// newEventAPI is the test API taking events signed by currentSecret or oldSecret.
func newEventAPI(t testing.TB, change func(*Options)) (http.Handler, *eventTemporal, *testClock) {
	t.Helper()
	temporal := &eventTemporal{}
	h, _, clock := newTestAPI(t, func(o *Options) {
		o.Temporal = temporal
		o.EventSecrets = []webhook.Secret{currentSecret, oldSecret}
		if change != nil {
			change(o)
		}
	})
	return h, temporal, clock
}

// eventData is the data of a valid event for user.
func eventData(user string) string {
	return `{"genesysUserId":"` + user + `","disposition":"delete","retention":"P30D","effectiveAt":"2030-01-16T17:00:00Z","reason":"resigned"}`
}

// structured is a structured-mode event of type typ with id and data.
func structured(id, typ, data string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"` + eventSource + `","type":"` + typ + `","datacontenttype":"application/json","data":` + data + `}`
}

// delivery is one signed HTTP delivery of an event: its headers and body.
type delivery struct {
	header map[string]string
	body   string
}

// structuredDelivery is the terminated event id for user in structured mode.
func structuredDelivery(id, user string) delivery {
	return delivery{header: map[string]string{"Content-Type": mediaCloudEvent}, body: structured(id, EventTypeTerminated, eventData(user))}
}

// binaryDelivery is the terminated event id for user in binary mode.
func binaryDelivery(id, user string) delivery {
	return delivery{header: map[string]string{"Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": id,
		"ce-source": eventSource, "ce-type": EventTypeTerminated}, body: eventData(user)}
}

// signed is d signed with secret at as the delivery webhookID.
func (d delivery) signed(secret webhook.Secret, webhookID string, at time.Time) delivery {
	h := http.Header{}
	webhook.Sign(h, secret, webhookID, at, []byte(d.body))
	out := delivery{header: map[string]string{}, body: d.body}
	for k, v := range d.header {
		out.header[k] = v
	}
	for _, k := range []string{webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature} {
		out.header[k] = h.Get(k)
	}
	return out
}

func (d delivery) send(h http.Handler) answer { return send(h, "POST", eventsPath, d.body, d.header) }

func startResultOf(t *testing.T, a answer) StartResult {
	t.Helper()
	var res StartResult
	require.NoError(t, json.Unmarshal([]byte(a.body), &res), a.body)
	return res
}

func Test_GivenSignedEventsInBothModes_ShouldStartExactlyOneRunEach(t *testing.T) {
	for mode, d := range map[string]delivery{"structured": structuredDelivery("evt-1", uid), "binary": binaryDelivery("evt-1", uid)} {
		t.Run(mode, func(t *testing.T) {
			h, temporal, _ := newEventAPI(t, nil)

			a := d.signed(currentSecret, "msg-1", now).send(h)

			require.Equal(t, http.StatusAccepted, a.code, a.body)
			assert.Equal(t, StartResult{WorkflowID: workflows.WorkflowID(uid), RunID: "run-1"}, startResultOf(t, a))
			assert.Equal(t, "/v1/offboardings/"+uid, a.header.Get("Location"))
			require.Len(t, temporal.reqs, 1, "exactly one run")
			req := temporal.reqs[0]
			assert.Equal(t, uid, req.UserID)
			assert.Nil(t, req.IdentifiedBy)
			assert.Equal(t, workflows.DispositionDelete, req.Disposition)
			assert.Equal(t, 30*24*time.Hour, time.Duration(*req.Retention))
			assert.Equal(t, time.Date(2030, 1, 16, 17, 0, 0, 0, time.UTC), req.EffectiveAt)
			assert.Equal(t, "resigned", req.Reason)
			assert.Equal(t, EventRequester, req.RequestedBy, "the requester is the HR system the secret authenticates")
			assert.Equal(t, eventSource+"#evt-1", req.HREventID, "source and id are the idempotency key")
			assert.Equal(t, now, req.RequestedAt)
			assert.NotEmpty(t, req.Credential, "the start carries the start credential")
		})
	}
}

func Test_GivenUnsignedBadlySignedOrExpiredEvents_ShouldAnswer401AndStartNothing(t *testing.T) {
	d := structuredDelivery("evt-1", uid)
	tampered := d.signed(currentSecret, "msg-1", now)
	tampered.body = strings.Replace(tampered.body, "resigned", "resignee", 1)
	badTimestamp := d.signed(currentSecret, "msg-1", now)
	badTimestamp.header[webhook.HeaderTimestamp] = "yesterday"
	for name, c := range map[string]struct {
		d    delivery
		want error
	}{
		"unsigned":             {d, webhook.ErrUnsigned},
		"unknown secret":       {d.signed(strangeSecret, "msg-1", now), webhook.ErrBadSignature},
		"tampered body":        {tampered, webhook.ErrBadSignature},
		"expired in the past":  {d.signed(currentSecret, "msg-1", now.Add(-5*time.Minute-time.Second)), webhook.ErrExpired},
		"expired in future":    {d.signed(currentSecret, "msg-1", now.Add(5*time.Minute+time.Second)), webhook.ErrExpired},
		"timestamp not a time": {badTimestamp, webhook.ErrBadTimestamp},
		"unsigned, too large":  {delivery{d.header, strings.Repeat(" ", MaxBodyBytes+1)}, webhook.ErrUnsigned},
		"expired, too large":   {delivery{d.header, strings.Repeat(" ", MaxBodyBytes+1)}.signed(currentSecret, "msg-1", now.Add(-time.Hour)), webhook.ErrExpired},
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			h, temporal, _ := newEventAPI(t, func(o *Options) { o.Logger = slogTo(&logs) })

			a := c.d.send(h)

			require.Equal(t, http.StatusUnauthorized, a.code, a.body)
			p := problemOf(t, a)
			assert.Equal(t, TypeEventSignature, p.Type)
			assert.Contains(t, p.Detail, c.want.Error())
			assert.Zero(t, temporal.count("ExecuteWorkflow"), "nothing started")
			assert.Zero(t, temporal.count("DescribeWorkflowExecution"), "Temporal is not even asked")
			for _, s := range []webhook.Secret{currentSecret, oldSecret} {
				assert.NotContains(t, a.body+logs.String(), strings.TrimPrefix(s.Text(), "whsec_"), "no secret in answers or logs")
			}
		})
	}
}

func Test_GivenTheEdgesOfTheReplayWindow_ShouldAcceptTimestampsWithinItEitherWay(t *testing.T) {
	for _, at := range []time.Time{now.Add(-5 * time.Minute), now.Add(5 * time.Minute)} {
		h, temporal, _ := newEventAPI(t, nil)
		a := structuredDelivery("evt-1", uid).signed(currentSecret, "msg-1", at).send(h)
		require.Equal(t, http.StatusAccepted, a.code, a.body)
		assert.Equal(t, 1, temporal.count("ExecuteWorkflow"))
	}
}

func Test_GivenAConfiguredTolerance_ShouldUseItAsTheReplayWindow(t *testing.T) {
	h, temporal, _ := newEventAPI(t, func(o *Options) { o.EventTolerance = 30 * time.Second })
	a := structuredDelivery("evt-1", uid).signed(currentSecret, "msg-1", now.Add(-time.Minute)).send(h)
	require.Equal(t, http.StatusUnauthorized, a.code, a.body)
	assert.Contains(t, problemOf(t, a).Detail, "30s")
	assert.Zero(t, temporal.count("ExecuteWorkflow"))
}

func Test_GivenFailedEventSignatures_ShouldSpendTheAddressesFailedAuthenticationLimit(t *testing.T) {
	h, temporal, _ := newEventAPI(t, func(o *Options) { o.AuthFailureLimit = RateLimit{Rate: rate.Every(time.Hour), Burst: 2} })
	d := structuredDelivery("evt-1", uid)
	for range 2 {
		require.Equal(t, http.StatusUnauthorized, d.signed(strangeSecret, "msg-1", now).send(h).code)
	}

	signed := d.signed(currentSecret, "msg-1", now).send(h)
	bearer := send(h, "GET", "/v1/offboardings", "", asHR())

	assert.Equal(t, http.StatusTooManyRequests, signed.code, "even a good signature waits: %s", signed.body)
	assert.NotEmpty(t, signed.header.Get("Retry-After"))
	assert.Equal(t, http.StatusTooManyRequests, bearer.code, "the limit is the one bearer tokens spend")
	assert.Zero(t, temporal.count("ExecuteWorkflow"))
}

func Test_GivenARedeliveredEvent_ShouldAnswer200WithTheExistingRunAndStartNothing(t *testing.T) {
	h, temporal, clock := newEventAPI(t, nil)
	d := binaryDelivery("evt-1", uid)
	require.Equal(t, http.StatusAccepted, d.signed(currentSecret, "msg-1", now).send(h).code)
	clock.Add(time.Minute)

	a := d.signed(currentSecret, "msg-1", clock.Now()).send(h)

	require.Equal(t, http.StatusOK, a.code, a.body)
	assert.Equal(t, StartResult{WorkflowID: workflows.WorkflowID(uid), RunID: "run-1", Existing: true}, startResultOf(t, a))
	assert.Equal(t, 1, temporal.count("ExecuteWorkflow"), "no second start")
}

func Test_GivenAnotherEventForAPersonInFlight_ShouldAnswer409(t *testing.T) {
	h, temporal, _ := newEventAPI(t, nil)
	require.Equal(t, http.StatusAccepted, structuredDelivery("evt-1", uid).signed(currentSecret, "msg-1", now).send(h).code)

	a := structuredDelivery("evt-2", uid).signed(currentSecret, "msg-2", now).send(h)

	require.Equal(t, http.StatusConflict, a.code, a.body)
	assert.Equal(t, TypeConflict, problemOf(t, a).Type)
	assert.Equal(t, 1, temporal.count("ExecuteWorkflow"))
}

func Test_GivenARotatedSecret_ShouldAcceptEventsSignedWithTheOldAndTheNew(t *testing.T) {
	h, temporal, _ := newEventAPI(t, nil)

	byNew := structuredDelivery("evt-1", uid).signed(currentSecret, "msg-1", now).send(h)
	byOld := structuredDelivery("evt-2", otherUID).signed(oldSecret, "msg-2", now).send(h)

	assert.Equal(t, http.StatusAccepted, byNew.code, byNew.body)
	assert.Equal(t, http.StatusAccepted, byOld.code, byOld.body)
	assert.Equal(t, 2, temporal.count("ExecuteWorkflow"))
}

func Test_GivenAnUnknownEventType_ShouldAnswer422AndStartNothing(t *testing.T) {
	h, temporal, _ := newEventAPI(t, nil)
	d := delivery{header: map[string]string{"Content-Type": mediaCloudEvent}, body: structured("evt-1", "com.offboard.employee.hired", eventData(uid))}

	a := d.signed(currentSecret, "msg-1", now).send(h)

	require.Equal(t, http.StatusUnprocessableEntity, a.code, a.body)
	p := problemOf(t, a)
	assert.Equal(t, TypeUnknownEventType, p.Type)
	assert.Contains(t, p.Detail, "com.offboard.employee.hired")
	assert.Contains(t, p.Detail, EventTypeTerminated)
	assert.Zero(t, temporal.count("ExecuteWorkflow"))
}

func Test_GivenMalformedCloudEvents_ShouldAnswerA4xxNamingWhatIsWrongAndStartNothing(t *testing.T) {
	ce := map[string]string{"Content-Type": mediaCloudEvent}
	bin := binaryDelivery("evt-1", uid).header
	with := func(h map[string]string, k, v string) map[string]string {
		out := map[string]string{}
		for key, val := range h {
			out[key] = val
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	good := structured("evt-1", EventTypeTerminated, eventData(uid))
	data := func(d string) string { return structured("evt-1", EventTypeTerminated, d) }
	for name, c := range map[string]struct {
		d     delivery
		code  int
		field string // the field errors names, or else a text of detail
		text  string
	}{
		"spec version 0.3":       {delivery{ce, strings.Replace(good, `"1.0"`, `"0.3"`, 1)}, 400, "specversion", ""},
		"spec version 2.0":       {delivery{ce, strings.Replace(good, `"1.0"`, `"2.0"`, 1)}, 400, "specversion", ""},
		"binary spec version":    {delivery{with(bin, "ce-specversion", "0.3"), eventData(uid)}, 400, "specversion", ""},
		"no id":                  {delivery{ce, strings.Replace(good, `"id":"evt-1",`, "", 1)}, 400, "id", ""},
		"no source":              {delivery{ce, strings.Replace(good, `"source":"`+eventSource+`",`, "", 1)}, 400, "source", ""},
		"no type":                {delivery{ce, strings.Replace(good, `"type":"`+EventTypeTerminated+`",`, "", 1)}, 400, "type", ""},
		"binary no id":           {delivery{with(bin, "ce-id", ""), eventData(uid)}, 400, "id", ""},
		"id given twice":         {delivery{ce, strings.Replace(good, `"id":"evt-1",`, `"id":"evt-1","id":"evt-2",`, 1)}, 400, "id", ""},
		"misspelt attribute":     {delivery{ce, strings.Replace(good, `"datacontenttype"`, `"datacontentype"`, 1)}, 400, "datacontentype", ""},
		"miscased attribute":     {delivery{ce, strings.Replace(good, `"id"`, `"ID"`, 1)}, 400, "ID", ""},
		"binary extension":       {delivery{with(bin, "ce-foo", "bar"), eventData(uid)}, 400, "ce-foo", ""},
		"id not a string":        {delivery{ce, strings.Replace(good, `"evt-1"`, `7`, 1)}, 400, "", "not a CloudEvent in JSON"},
		"not JSON":               {delivery{ce, "not json"}, 400, "", "not a CloudEvent"},
		"no data":                {delivery{ce, strings.Replace(good, `,"data":`+eventData(uid), "", 1)}, 400, "data", ""},
		"xml data":               {delivery{ce, strings.Replace(good, `"application/json"`, `"application/xml"`, 1)}, 415, "", "datacontenttype"},
		"text body":              {delivery{map[string]string{"Content-Type": "text/plain"}, good}, 415, "", mediaCloudEvent},
		"batch":                  {delivery{map[string]string{"Content-Type": "application/cloudevents-batch+json"}, "[" + good + "]"}, 415, "", mediaCloudEvent},
		"binary as text":         {delivery{with(bin, "Content-Type", "text/plain"), eventData(uid)}, 415, "", "application/json"},
		"unknown data field":     {delivery{ce, data(`{"genesysUserId":"` + uid + `","disposition":"archive","manager":"bob"}`)}, 400, "data.manager", ""},
		"binary unknown field":   {delivery{bin, `{"genesysUserId":"` + uid + `","disposition":"archive","manager":"bob"}`}, 400, "data.manager", ""},
		"no person":              {delivery{ce, data(`{"disposition":"archive"}`)}, 400, "data.genesysUserId", ""},
		"two ways to name":       {delivery{ce, data(`{"genesysUserId":"` + uid + `","email":"jane@example.com","disposition":"archive"}`)}, 400, "data.genesysUserId", ""},
		"bad user ID":            {delivery{ce, data(`{"genesysUserId":"jane","disposition":"archive"}`)}, 400, "data.genesysUserId", ""},
		"bad email":              {delivery{ce, data(`{"email":"Jane <jane@example.com>","disposition":"archive"}`)}, 400, "data.email", ""},
		"no disposition":         {delivery{ce, data(`{"genesysUserId":"` + uid + `"}`)}, 400, "data.disposition", ""},
		"bad retention":          {delivery{ce, data(`{"genesysUserId":"` + uid + `","disposition":"delete","retention":"30 days"}`)}, 400, "data.retention", ""},
		"bad effectiveAt":        {delivery{ce, data(`{"genesysUserId":"` + uid + `","disposition":"archive","effectiveAt":"tomorrow"}`)}, 400, "data.effectiveAt", ""},
		"control char in reason": {delivery{ce, data(`{"genesysUserId":"` + uid + `","disposition":"archive","reason":"a\u0007"}`)}, 400, "data.reason", ""},
		"body too large":         {delivery{ce, data(`{"genesysUserId":"` + uid + `","disposition":"archive","reason":"` + strings.Repeat("x", MaxBodyBytes) + `"}`)}, 400, "", "larger than"},
	} {
		t.Run(name, func(t *testing.T) {
			h, temporal, _ := newEventAPI(t, nil)

			a := c.d.signed(currentSecret, "msg-1", now).send(h)

			require.Equal(t, c.code, a.code, a.body)
			p := problemOf(t, a)
			if c.field != "" {
				var fields []string
				for _, f := range p.Errors {
					fields = append(fields, f.Field)
				}
				assert.Contains(t, fields, c.field, "%+v", p)
			} else {
				assert.Contains(t, p.Detail, c.text)
			}
			assert.NotContains(t, a.body, "jane@example.com", "an email is personal data: never repeated")
			assert.Zero(t, temporal.count("ExecuteWorkflow"), "nothing started")
		})
	}
}

func Test_GivenDataInBase64WithTracing_ShouldStartAsFromJSONData(t *testing.T) {
	h, temporal, _ := newEventAPI(t, nil)
	body := `{"specversion":"1.0","id":"evt-1","source":"` + eventSource + `","type":"` + EventTypeTerminated + `","subject":"termination","time":"2030-01-15T11:59:00Z",` +
		`"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","data_base64":"` + base64.StdEncoding.EncodeToString([]byte(eventData(uid))) + `"}`

	a := delivery{map[string]string{"Content-Type": mediaCloudEvent + "; charset=utf-8"}, body}.signed(currentSecret, "msg-1", now).send(h)

	require.Equal(t, http.StatusAccepted, a.code, a.body)
	require.Len(t, temporal.reqs, 1)
	assert.Equal(t, uid, temporal.reqs[0].UserID)
}

func Test_GivenEventsNamingThePersonByEmailOrEmployeeID_ShouldAskStartToResolveThem(t *testing.T) {
	for _, c := range []struct{ data, by, value string }{
		{`{"email":"jane.doe@example.com","disposition":"archive"}`, workflows.IdentifyByEmail, "jane.doe@example.com"},
		{`{"employeeId":"E-4711","disposition":"archive"}`, workflows.IdentifyByEmployeeID, "E-4711"},
	} {
		h := http.Header{"Content-Type": {mediaCloudEvent}}
		ev, p := readEvent(h, []byte(structured("evt-1", EventTypeTerminated, c.data)))
		require.Nil(t, p)

		req, err := eventRequest(ev, now, testPolicy())

		require.NoError(t, err)
		assert.Empty(t, req.UserID, "Start resolves the user")
		assert.Equal(t, &workflows.Identification{By: c.by, Value: c.value}, req.IdentifiedBy)
		assert.Equal(t, eventReason, req.Reason, "an event without a reason gets its type's")
		assert.Equal(t, EventRequester, req.RequestedBy)
	}
}

func Test_GivenAProtectedUser_ShouldRefuseTheEvent(t *testing.T) {
	h, temporal, _ := newEventAPI(t, func(o *Options) { o.Policy.ProtectedUserIDs = []string{uid} })
	a := structuredDelivery("evt-1", uid).signed(currentSecret, "msg-1", now).send(h)
	require.Equal(t, http.StatusBadRequest, a.code, a.body)
	assert.Equal(t, "data.genesysUserId", problemOf(t, a).Errors[0].Field)
	assert.Zero(t, temporal.count("ExecuteWorkflow"))
}

func Test_GivenNoEventSecret_ShouldAnswer503EventsOffAndStartNothing(t *testing.T) {
	h, temporal, _ := newTestAPI(t, nil)
	a := structuredDelivery("evt-1", uid).signed(currentSecret, "msg-1", now).send(h)
	require.Equal(t, http.StatusServiceUnavailable, a.code, a.body)
	p := problemOf(t, a)
	assert.Equal(t, TypeEventsOff, p.Type)
	assert.Contains(t, p.Detail, config.EnvEventSecrets)
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	assert.Zero(t, temporal.count("ExecuteWorkflow"))
}

func Test_GivenATokenBoundToTheEventsIdentity_ShouldRefuseToBuildTheAPI(t *testing.T) {
	_, err := New(Options{Temporal: &fakeTemporal{}, Policy: testPolicy(), Signer: testSigner, EventSecrets: []webhook.Secret{currentSecret},
		Tokens: append(testTokens(), config.NewToken("events-token-0123456789", config.RoleApprover, EventRequester))})
	require.Error(t, err)
	assert.Contains(t, err.Error(), EventRequester)
	assert.NotContains(t, err.Error(), "events-token-0123456789", "no token in errors")
}

func Test_GivenEventSourcesAndIDs_ShouldDeriveDistinctKeysWithinTheRequestLimit(t *testing.T) {
	assert.Equal(t, "https://hr.example.com/workday#evt-1", EventKey("https://hr.example.com/workday", "evt-1"), "readable when short")
	assert.NotEqual(t, EventKey("a#b", "c"), EventKey("a", "b#c"), "a # in the source cannot make two events one")
	assert.NotEqual(t, EventKey("a%23b", "c"), EventKey("a#b", "c"))
	long := EventKey(eventSource, strings.Repeat("é", 300))
	assert.True(t, strings.HasPrefix(long, "ce-sha256:"), long)
	assert.NotEqual(t, long, EventKey(eventSource, strings.Repeat("é", 301)))
	req := workflows.Request{UserID: uid, Disposition: workflows.DispositionArchive, RequestedBy: EventRequester, HREventID: long}
	assert.NoError(t, workflows.ValidateRequest(req, testPolicy(), now), "a derived key passes the request's limits")
	req.HREventID = EventKey(eventSource, strings.Repeat("x", maxEventIDLen-len(eventSource)-1))
	assert.NoError(t, workflows.ValidateRequest(req, testPolicy(), now))
}

func Test_GivenTheEventBodies_ShouldDocumentExactlyTheAttributesAndFieldsTheAPITakes(t *testing.T) {
	doc := loadOpenAPI(t)
	op := doc.Paths.Find(eventsPath).Post
	require.NotNil(t, op)
	for media, typ := range map[string]reflect.Type{mediaCloudEvent: reflect.TypeFor[StructuredEvent](), mediaJSON: reflect.TypeFor[EventData]()} {
		body := op.RequestBody.Value.Content.Get(media)
		require.NotNil(t, body, media)
		assert.Empty(t, schemaDrift(media, typ, body.Schema.Value), "openapi.yaml's %s body of POST /v1/events against %s", media, typ)
	}
}

func Test_GivenASignedEventNamingThePersonByEmail_ShouldStartTheResolvedUserOrAnswer422(t *testing.T) {
	h, temporal, clock := newTestAPI(t, func(o *Options) { o.EventSecrets = []webhook.Secret{currentSecret} })
	temporal.resolve = resolveKnown
	at := clock.Now()
	byEmail := func(id, email string) delivery {
		return delivery{header: map[string]string{"Content-Type": mediaCloudEvent},
			body: structured(id, EventTypeTerminated, `{"email":"`+email+`","disposition":"archive"}`)}
	}

	a := byEmail("evt-email-1", "jane.doe@example.com").signed(currentSecret, "msg_e1", at).send(h)

	require.Equal(t, http.StatusAccepted, a.code, a.body)
	assert.Equal(t, "/v1/offboardings/"+uid, a.header.Get("Location"))
	require.Len(t, temporal.started, 1)
	assert.Equal(t, uid, temporal.started[0].UserID)
	assert.Equal(t, workflows.IdentifyByEmail, temporal.started[0].IdentifiedBy.By)

	a = byEmail("evt-email-2", "unknown@example.com").signed(currentSecret, "msg_e2", at).send(h)

	require.Equal(t, http.StatusUnprocessableEntity, a.code, a.body)
	assert.Contains(t, a.body, TypeUnknownPerson)
	assert.NotContains(t, a.body, "unknown@example.com", "the answer never echoes the email")
	assert.Len(t, temporal.started, 1, "nothing more started")
}
