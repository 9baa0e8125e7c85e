package codec

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const (
	uiOrigin    = "http://localhost:8233"
	operatorTok = "operator-token-0123456789"
)

func testServer(t *testing.T) (http.Handler, *commonpb.Payload, []*commonpb.Payload) {
	t.Helper()
	c := mustCodec(t, "k1:"+testKey(1), Options{})
	h, err := NewServer(c, ServerOptions{AllowedOrigin: uiOrigin, Tokens: []string{"other-token", operatorTok}})
	require.NoError(t, err)
	plain := snapshotPayload(t, 40)
	enc, err := c.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	return h, plain, enc
}

func decodeRequest(t *testing.T, payloads []*commonpb.Payload, auth string) *http.Request {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/decode", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Namespace", "default")
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func Test_GivenAnAuthorisedCaller_ShouldDecodeThePayloads(t *testing.T) {
	h, plain, enc := testServer(t)
	w := httptest.NewRecorder()

	h.ServeHTTP(w, decodeRequest(t, enc, "Bearer "+operatorTok))

	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var got commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(w.Body.Bytes(), &got))
	require.Len(t, got.Payloads, 1)
	assert.True(t, proto.Equal(plain, got.Payloads[0]))
}

func Test_GivenAnAuthorisedCaller_ShouldEncodeWhatDecodeReadsBack(t *testing.T) {
	h, plain, _ := testServer(t)
	w := httptest.NewRecorder()
	r := decodeRequest(t, []*commonpb.Payload{plain}, "Bearer "+operatorTok)
	r.URL.Path = "/encode"

	h.ServeHTTP(w, r)

	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.NotContains(t, w.Body.String(), "Lovelace")
	var enc commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(w.Body.Bytes(), &enc))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, decodeRequest(t, enc.Payloads, "Bearer "+operatorTok))
	require.Equal(t, http.StatusOK, w.Code)
	var dec commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(w.Body.Bytes(), &dec))
	assert.True(t, proto.Equal(plain, dec.Payloads[0]))
}

func Test_GivenNoOrAWrongToken_ShouldAnswer401WithoutDecoding(t *testing.T) {
	for name, auth := range map[string]string{
		"none": "", "wrong": "Bearer nope", "prefix of a token": "Bearer operator-token",
		"not bearer": "Basic " + operatorTok, "bearer alone": "Bearer ",
	} {
		t.Run(name, func(t *testing.T) {
			h, _, enc := testServer(t)
			w := httptest.NewRecorder()

			h.ServeHTTP(w, decodeRequest(t, enc, auth))

			assert.Equal(t, http.StatusUnauthorized, w.Code)
			assert.Contains(t, w.Header().Get("WWW-Authenticate"), "Bearer")
			assert.NotContains(t, w.Body.String(), "Lovelace")
		})
	}
}

func preflight(origin string) *http.Request {
	r := httptest.NewRequest(http.MethodOptions, "/decode", nil)
	r.Header.Set("Origin", origin)
	r.Header.Set("Access-Control-Request-Method", http.MethodPost)
	r.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
	return r
}

func Test_GivenAPreflightFromTheUIOrigin_ShouldAllowIt(t *testing.T) {
	h, _, _ := testServer(t)
	w := httptest.NewRecorder()

	h.ServeHTTP(w, preflight(uiOrigin))

	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, uiOrigin, w.Header().Get("Access-Control-Allow-Origin"))
	allowHeaders := strings.ToLower(w.Header().Get("Access-Control-Allow-Headers"))
	for _, header := range []string{"authorization", "content-type", "x-namespace"} {
		assert.Contains(t, allowHeaders, header)
	}
	assert.Contains(t, w.Header().Get("Access-Control-Allow-Methods"), http.MethodPost)
}

func Test_GivenAPreflightFromAnotherOrigin_ShouldNotAllowIt(t *testing.T) {
	h, _, _ := testServer(t)
	w := httptest.NewRecorder()

	h.ServeHTTP(w, preflight("https://evil.example"))

	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))
	assert.Empty(t, w.Header().Get("Access-Control-Allow-Headers"))
}

func Test_GivenACallFromTheUIOrigin_ShouldCarryCORSHeadersEvenWhenRefused(t *testing.T) {
	h, _, enc := testServer(t)
	w := httptest.NewRecorder()
	r := decodeRequest(t, enc, "")
	r.Header.Set("Origin", uiOrigin)

	h.ServeHTTP(w, r)

	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, uiOrigin, w.Header().Get("Access-Control-Allow-Origin"), "so the UI can show the refusal")
}

func Test_GivenABadlyFormedBody_ShouldAnswer400(t *testing.T) {
	h, _, _ := testServer(t)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/decode", strings.NewReader("not json"))
	r.Header.Set("Authorization", "Bearer "+operatorTok)

	h.ServeHTTP(w, r)

	assert.Equal(t, http.StatusBadRequest, w.Code)
}

func Test_GivenAPayloadUnderAnUnknownKey_ShouldAnswer400NamingIt(t *testing.T) {
	h, _, _ := testServer(t)
	enc, err := mustCodec(t, "k9:"+testKey(9), Options{}).Encode([]*commonpb.Payload{credentialPayload(t)})
	require.NoError(t, err)
	w := httptest.NewRecorder()

	h.ServeHTTP(w, decodeRequest(t, enc, "Bearer "+operatorTok))

	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), "k9")
}

func Test_GivenNoTokens_ShouldRefuseToBuildTheServer(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1), Options{})
	for name, tokens := range map[string][]string{"none": nil, "an empty one": {"t", " "}} {
		t.Run(name, func(t *testing.T) {
			_, err := NewServer(c, ServerOptions{Tokens: tokens})

			assert.Error(t, err)
		})
	}
	_, err := NewServer(nil, ServerOptions{Tokens: []string{"t"}})
	assert.Error(t, err)
}
