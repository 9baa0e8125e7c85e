package stack

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/internal/config"
)

func Test_GivenACodecEndpoint_ShouldConfigureTheWebUIWithIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	port, err := freePort(DefaultHost)
	require.NoError(t, err)
	ui, err := StartUI(ctx, UIOptions{Port: port, TemporalAddress: "127.0.0.1:1", CodecEndpoint: "http://127.0.0.1:9/devstack/ui-codec"})
	require.NoError(t, err)
	defer ui.Stop()

	resp, err := http.Get(ui.URL + "/api/v1/settings")
	require.NoError(t, err)
	defer resp.Body.Close()
	var settings struct {
		Codec struct {
			Endpoint        string
			PassAccessToken bool
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))

	assert.Equal(t, "http://127.0.0.1:9/devstack/ui-codec", settings.Codec.Endpoint, "the browser decodes payloads through it")
	assert.False(t, settings.Codec.PassAccessToken, "the devstack UI has no sign-in, so no token to pass")
}

func Test_GivenTheUIsCodecCall_ShouldReachTheHRAPIsCodecWithTheAuditorTokenForTheUIsOriginOnly(t *testing.T) {
	const origin = "http://127.0.0.1:8233"
	var got *http.Request
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r })
	h := UICodec(api, origin)
	call := func(method, path, from string) *http.Request {
		got = nil
		r := httptest.NewRequest(method, path, strings.NewReader("{}"))
		if from != "" {
			r.Header.Set("Origin", from)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		require.NotNil(t, got)
		return got
	}

	r := call("POST", UICodecPath+"/decode", origin)
	assert.Equal(t, "/codec/decode", r.URL.Path)
	assert.Equal(t, "Bearer "+TokenAuditor, r.Header.Get("Authorization"))

	r = call("POST", UICodecPath+"/encode", "https://evil.example")
	assert.Equal(t, "/codec/encode", r.URL.Path)
	assert.Empty(t, r.Header.Get("Authorization"), "another origin gets no token, so the HR API refuses it")
	assert.Empty(t, call("POST", UICodecPath+"/decode", "").Header.Get("Authorization"), "nor does a caller that names no origin")
	assert.Empty(t, call("OPTIONS", UICodecPath+"/decode", origin).Header.Get("Authorization"), "a preflight needs none")

	assert.Equal(t, "/codec/decode", call("POST", "/codec/decode", origin).URL.Path, "the HR API's own codec is untouched")
	assert.Empty(t, call("POST", "/codec/decode", origin).Header.Get("Authorization"))
	assert.Equal(t, UICodecPath+"/other", call("POST", UICodecPath+"/other", origin).URL.Path)
}

func Test_GivenAStackBeyondLoopback_ShouldGiveTheUINoTokenAddingCodecEndpoint(t *testing.T) {
	ls := &listeners{api: mustListen(t)}
	assert.NotEmpty(t, uiCodecEndpoint(Options{Host: "127.0.0.1"}, ls))
	assert.NotEmpty(t, uiCodecEndpoint(Options{Host: "::1"}, ls))
	assert.Empty(t, uiCodecEndpoint(Options{Host: "0.0.0.0"}, ls))
	assert.Empty(t, uiCodecEndpoint(Options{Host: "192.168.1.20"}, ls))
	assert.Empty(t, uiCodecEndpoint(Options{Host: "127.0.0.1", NoUI: true}, ls))
}

func Test_GivenAFreshDataDir_ShouldMakeAPayloadKeyringOnceAndKeepIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")

	path, first, err := devPayloadKeys(dir, config.MapEnv{})
	require.NoError(t, err)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	sealed, err := config.DataConverter(first).ToPayload("Ada Lovelace")
	require.NoError(t, err)

	again, second, err := devPayloadKeys(dir, config.MapEnv{})
	require.NoError(t, err)
	assert.Equal(t, path, again)
	var back string
	require.NoError(t, config.DataConverter(second).FromPayload(sealed, &back), "a restart reads the runs of the last start")
	assert.Equal(t, "Ada Lovelace", back)

	require.NoError(t, os.WriteFile(path, []byte("dev-1:short\n"), 0o600))
	_, _, err = devPayloadKeys(dir, config.MapEnv{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "delete")
}

func Test_GivenTheOperatorsPayloadKeys_ShouldUseThemInsteadOfTheDataDirs(t *testing.T) {
	dir := t.TempDir()
	keys := "ops-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

	path, pc, err := devPayloadKeys(dir, config.MapEnv{config.EnvPayloadKeys: keys})

	require.NoError(t, err)
	assert.Empty(t, path)
	assert.NoFileExists(t, filepath.Join(dir, payloadKeysFile))
	sealed, err := config.DataConverter(pc).ToPayload("x")
	require.NoError(t, err)
	assert.Equal(t, "ops-1", string(sealed.GetMetadata()["encryption-key-id"]))
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln
}
