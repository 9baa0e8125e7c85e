package hrapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/internal/config"
)

// uiOrigin is the Temporal Web UI's origin in these tests.
const uiOrigin = "http://localhost:8233"

// testCodec encrypts with a test-only key.
var testCodec = func() converter.PayloadCodec {
	k, err := codec.ParseKeyring("test-1:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("t", codec.KeySize))))
	if err != nil {
		panic(err)
	}
	return codec.NewCodec(k)
}()

// withCodec gives the API the test codec and the UI's origin.
func withCodec(o *Options) { o.Codec, o.CodecOrigin = testCodec, uiOrigin }

// sealedJSON is the codec request body of one encrypted payload holding v.
func sealedJSON(t *testing.T, v any) string {
	t.Helper()
	p, err := config.DataConverter(testCodec).ToPayload(v)
	require.NoError(t, err)
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	require.NoError(t, err)
	return string(b)
}

func codecHeader(token string) map[string]string {
	h := map[string]string{"Content-Type": "application/json", "X-Namespace": "default"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return h
}

func preflightHeader(origin string) map[string]string {
	return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type,x-namespace"}
}

// codecContractCalls cover the codec server's routes for the contract test.
func codecContractCalls(t *testing.T) []contractCall {
	body := sealedJSON(t, map[string]string{"name": "Ada Lovelace"})
	return []contractCall{
		{name: "codec decode", method: "POST", path: "/codec/decode", body: body, header: codecHeader(auditorSecret), code: 200},
		{name: "codec decode garbage", method: "POST", path: "/codec/decode", body: `{"payloads":"no"}`, header: codecHeader(auditorSecret), code: 400},
		{name: "codec decode unauthenticated", method: "POST", path: "/codec/decode", body: body, header: codecHeader(""), code: 401},
		{name: "codec decode as hr", method: "POST", path: "/codec/decode", body: body, header: codecHeader(hrSecret), code: 403},
		{name: "codec encode", method: "POST", path: "/codec/encode", body: `{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"IngiCg=="}]}`, header: codecHeader(auditorSecret), code: 200},
		{name: "codec encode as approver", method: "POST", path: "/codec/encode", body: body, header: codecHeader(approverSecret), code: 200},
		{name: "codec encode unauthenticated", method: "POST", path: "/codec/encode", body: body, header: codecHeader(""), code: 401},
		{name: "codec preflight", method: "OPTIONS", path: "/codec/decode", header: preflightHeader(uiOrigin), code: 204},
		{name: "codec preflight other origin", method: "OPTIONS", path: "/codec/decode", header: preflightHeader("https://evil.example"), code: 403},
		{name: "codec encode preflight", method: "OPTIONS", path: "/codec/encode", header: preflightHeader(uiOrigin), code: 204},
	}
}

func Test_GivenAnAuditorToken_ShouldDecodeEncryptedPayloadsBackToTheirJSON(t *testing.T) {
	h, _, _ := newTestAPI(t, withCodec)
	header := codecHeader(auditorSecret)
	header["Origin"] = uiOrigin

	a := send(h, "POST", "/codec/decode", sealedJSON(t, map[string]string{"name": "Ada Lovelace"}), header)

	require.Equal(t, http.StatusOK, a.code, a.body)
	assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
	assert.Equal(t, uiOrigin, a.header.Get("Access-Control-Allow-Origin"), "the UI's browser may read the answer")
	var got commonpb.Payloads
	require.NoError(t, protojson.Unmarshal([]byte(a.body), &got))
	require.Len(t, got.Payloads, 1)
	assert.JSONEq(t, `{"name":"Ada Lovelace"}`, string(got.Payloads[0].GetData()))
}

func Test_GivenATokenThatMayNotReadPayloads_ShouldRefuseWithAProblem(t *testing.T) {
	body := sealedJSON(t, "Ada Lovelace")
	for name, c := range map[string]struct {
		token string
		code  int
	}{
		"none": {"", 401}, "wrong": {"wrong-token-0123456789", 401}, "hr": {hrSecret, 403}, "approver": {approverSecret, 403},
	} {
		t.Run(name, func(t *testing.T) {
			h, _, _ := newTestAPI(t, withCodec)

			a := send(h, "POST", "/codec/decode", body, codecHeader(c.token))

			require.Equal(t, c.code, a.code, a.body)
			assert.Equal(t, "application/problem+json", a.header.Get("Content-Type"))
			assert.NotContains(t, a.body, "Lovelace")
		})
	}
}

func Test_GivenAPreflight_ShouldAllowTheUIsOriginOnly(t *testing.T) {
	h, _, _ := newTestAPI(t, withCodec)

	a := send(h, "OPTIONS", "/codec/decode", "", preflightHeader(uiOrigin))
	require.Equal(t, http.StatusNoContent, a.code, a.body)
	assert.Equal(t, uiOrigin, a.header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, a.header.Get("Access-Control-Allow-Headers"), "Authorization")

	for _, origin := range []string{"https://evil.example", "", uiOrigin + ".evil.example"} {
		a := send(h, "OPTIONS", "/codec/decode", "", preflightHeader(origin))
		assert.Equal(t, http.StatusForbidden, a.code, origin)
		assert.Empty(t, a.header.Get("Access-Control-Allow-Origin"), origin)
	}

	noOrigin, _, _ := newTestAPI(t, func(o *Options) { o.Codec = testCodec })
	assert.Equal(t, http.StatusForbidden, send(noOrigin, "OPTIONS", "/codec/decode", "", preflightHeader(uiOrigin)).code, "no origin configured allows no browser")
}

func Test_GivenAnAPIWithoutACodec_ShouldAnswerThatTheCodecServerIsOff(t *testing.T) {
	h, _, _ := newTestAPI(t, nil)

	a := send(h, "POST", "/codec/decode", sealedJSON(t, "x"), codecHeader(auditorSecret))

	assert.Equal(t, http.StatusNotFound, a.code, a.body)
	assert.Contains(t, a.body, "codec server is off")
}

func Test_GivenAnyRolesToken_ShouldEncodeWhatOnlyAnAuditorDecodes(t *testing.T) {
	h, _, _ := newTestAPI(t, withCodec)
	plain := `{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"IkFkYSBMb3ZlbGFjZSI="}]}`

	for _, token := range []string{hrSecret, approverSecret, auditorSecret} {
		a := send(h, "POST", "/codec/encode", plain, codecHeader(token))
		require.Equal(t, http.StatusOK, a.code, "an update sent from the UI is encrypted for its sender: %s", a.body)
		assert.NotContains(t, a.body, "IkFkYSBMb3ZlbGFjZSI")
		assert.Equal(t, http.StatusForbidden, send(h, "POST", "/codec/decode", a.body, codecHeader(approverSecret)).code)
		assert.Equal(t, http.StatusOK, send(h, "POST", "/codec/decode", a.body, codecHeader(auditorSecret)).code)
	}
}

// encryptedMemoTemporal is the contract's running offboarding with its memo encrypted, as a
// worker with payload keys writes it.
type encryptedMemoTemporal struct{ contractTemporal }

func (f *encryptedMemoTemporal) DescribeWorkflowExecution(ctx context.Context, id, run string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	desc, err := f.contractTemporal.DescribeWorkflowExecution(ctx, id, run)
	if err != nil {
		return nil, err
	}
	fields := desc.WorkflowExecutionInfo.Memo.Fields
	sealed, err := testCodec.Encode([]*commonpb.Payload{fields[MemoHREventID]})
	if err != nil {
		return nil, err
	}
	fields[MemoHREventID] = sealed[0]
	return desc, nil
}

func Test_GivenAnEncryptedMemo_ShouldRecogniseARedeliveryOfTheSameHREvent(t *testing.T) {
	h, _, _ := newTestAPI(t, func(o *Options) {
		withCodec(o)
		o.Temporal = &encryptedMemoTemporal{}
	})

	a := send(h, "POST", "/v1/offboardings", startJSON(uid, "wd-1"), asHR())

	require.Equal(t, http.StatusOK, a.code, "the memo is read through the codec: %s", a.body)
	assert.Contains(t, a.body, `"existing":true`)
}
