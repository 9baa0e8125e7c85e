package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/offboard/offboard/devstack/stack"
	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// rawHistory is a run's history as a Temporal client without the codec reads it, and its
// payloads, search attributes aside.
func rawHistory(t *testing.T, workflowID string) (*historypb.History, []*commonpb.Payload) {
	t.Helper()
	ctx := context.Background()
	plain, err := client.DialContext(ctx, client.Options{HostPort: stk.Temporal.Address, Namespace: stk.Temporal.Namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	require.NoError(t, err)
	defer plain.Close()
	var h historypb.History
	iter := plain.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	var payloads []*commonpb.Payload
	require.NoError(t, proxy.VisitPayloads(ctx, &h, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			payloads = append(payloads, p...)
			return p, nil
		},
	}))
	return &h, payloads
}

// postCodec posts payloads to a codec endpoint and returns the status and body.
func postCodec(t *testing.T, url string, payloads []*commonpb.Payload, header map[string]string) (int, []byte) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", stk.Temporal.Namespace)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

// decodedText is the data of every payload a decode answered, one after the other.
func decodedText(t *testing.T, body []byte) string {
	t.Helper()
	var got commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &got), "%s", body)
	var b strings.Builder
	for _, p := range got.GetPayloads() {
		b.Write(p.GetData())
		b.WriteByte('\n')
	}
	return b.String()
}

func Test_GivenAFinishedRun_ShouldKeepNameAndEmailOutOfTheRawHistoryAndDecodeThemForAnAuditorOnly(t *testing.T) {
	t.Parallel()
	u := users.take(t)
	rec, ok := stk.Emulator.User(u.ID)
	require.True(t, ok)
	require.NotEmpty(t, rec.Name)
	require.NotEmpty(t, rec.Email)
	wfID, _ := startOffboarding(t, hrapi.OffboardingRequest{UserID: u.ID, Disposition: "archive", Reason: "left", HREventID: "e2e-codec"})
	waitStage(t, u.ID, workflows.OutcomeArchived)

	h, payloads := rawHistory(t, wfID)
	// As `temporal workflow show -o json` prints it, payloads in clear shown as their JSON.
	raw, err := temporalproto.CustomJSONMarshalOptions{Indent: "  ", Metadata: map[string]any{commonpb.EnablePayloadShorthandMetadataKey: true}}.Marshal(h)
	require.NoError(t, err)
	encrypted := 0
	for _, p := range payloads {
		if string(p.GetMetadata()["encoding"]) == codec.EncodingEncrypted {
			encrypted++
		}
		for _, secret := range []string{rec.Name, rec.Email} {
			require.NotContains(t, string(p.GetData()), secret, "a payload holds personal data in clear")
		}
	}
	for _, secret := range []string{rec.Name, rec.Email, strings.ToLower(rec.Email)} {
		assert.NotContains(t, string(raw), secret, "the raw history holds personal data")
	}
	assert.Equal(t, len(payloads), encrypted, "every payload is encrypted")
	t.Logf("raw history: %d events, %d bytes of JSON, %d payloads all encrypted; neither %q nor %q appears", len(h.Events), len(raw), len(payloads), rec.Name, rec.Email)

	auditor := map[string]string{"Authorization": "Bearer " + stack.TokenAuditor}
	code, body := postCodec(t, stk.CodecURL+"/decode", payloads, auditor)
	require.Equal(t, http.StatusOK, code, "%s", body)
	text := decodedText(t, body)
	assert.Contains(t, text, rec.Name, "an auditor reads the payloads back")
	assert.Contains(t, text, rec.Email)
	var snapshot struct {
		User struct{ Name, Email string }
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, rec.Email) && json.Unmarshal([]byte(line), &snapshot) == nil && snapshot.User.Email != "" {
			break
		}
	}
	assert.Equal(t, rec.Name, snapshot.User.Name, "the decoded snapshot is the JSON the worker wrote")

	for name, c := range map[string]struct {
		header map[string]string
		code   int
	}{
		"no token":    {nil, http.StatusUnauthorized},
		"wrong token": {map[string]string{"Authorization": "Bearer not-a-dev-token-0123"}, http.StatusUnauthorized},
		"hr token":    {map[string]string{"Authorization": "Bearer " + stack.TokenHR}, http.StatusForbidden},
	} {
		code, body := postCodec(t, stk.CodecURL+"/decode", payloads, c.header)
		assert.Equal(t, c.code, code, "%s: %s", name, body)
		assert.NotContains(t, string(body), rec.Email, name)
	}

	// The Web UI's endpoint decodes for the UI's origin, without a token of its own.
	require.NotEmpty(t, stk.UICodecURL, "the e2e stack runs its UI on loopback")
	code, body = postCodec(t, stk.UICodecURL+"/decode", payloads[:1], map[string]string{"Origin": stk.Temporal.UIURL})
	require.Equal(t, http.StatusOK, code, "%s", body)
	preflight := func(origin string) *http.Response {
		req, err := http.NewRequest(http.MethodOptions, stk.UICodecURL+"/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	ok204 := preflight(stk.Temporal.UIURL)
	assert.Equal(t, http.StatusNoContent, ok204.StatusCode)
	assert.Equal(t, stk.Temporal.UIURL, ok204.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, http.StatusForbidden, preflight("https://evil.example").StatusCode, "another origin may not")
}
