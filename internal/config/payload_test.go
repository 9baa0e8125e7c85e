package config

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/internal/codec"
)

// testKeyring is a keyring of one key, k1 (test only).
var testKeyring = "k1:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", codec.KeySize)))

func Test_GivenNoPayloadKeys_ShouldRefuseToBuildTheTemporalOptionsSayingHowToMakeOne(t *testing.T) {
	_, err := Source{Env: MapEnv{"TEMPORAL_CONFIG_FILE": "/nonexistent"}}.Temporal()

	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvPayloadKeysFile)
	assert.Contains(t, err.Error(), EnvPayloadKeys)
	assert.Contains(t, err.Error(), "starter keys payload")
}

func Test_GivenMalformedPayloadKeys_ShouldNameTheSettingAndNeverShowTheKey(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("sixteen-byte-key"))
	file := filepath.Join(t.TempDir(), "payload-keys")
	require.NoError(t, os.WriteFile(file, []byte("# rotated 2026-12\nk2:"+short+"\n"), 0o600))
	for name, c := range map[string]struct {
		env  MapEnv
		want string
	}{
		"short key in the variable": {MapEnv{EnvPayloadKeys: "k1:" + short}, EnvPayloadKeys},
		"short key in the file":     {MapEnv{EnvPayloadKeysFile: file}, EnvPayloadKeysFile + "=" + file},
		"not base64":                {MapEnv{EnvPayloadKeys: "k1:" + short + "!!"}, EnvPayloadKeys},
		"both set":                  {MapEnv{EnvPayloadKeys: testKeyring, EnvPayloadKeysFile: file}, "both set"},
		"missing file":              {MapEnv{EnvPayloadKeysFile: file + ".gone"}, EnvPayloadKeysFile},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Source{Env: c.env}.PayloadCodec()

			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), short, "errors never show key material")
		})
	}
}

func Test_GivenPayloadKeys_ShouldDialWithAConverterThatEncryptsPayloadsButNotSearchAttributes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "payload-keys")
	require.NoError(t, os.WriteFile(file, []byte(testKeyring+"\n"), 0o600))
	for name, env := range map[string]MapEnv{
		"file": {EnvPayloadKeysFile: file}, "variable": {EnvPayloadKeys: testKeyring},
	} {
		t.Run(name, func(t *testing.T) {
			env["TEMPORAL_CONFIG_FILE"] = "/nonexistent"
			opts, err := Source{Env: env}.Temporal()
			require.NoError(t, err)
			require.NotNil(t, opts.DataConverter)

			p, err := opts.DataConverter.ToPayload(map[string]string{"name": "Ada Lovelace"})

			require.NoError(t, err)
			assert.Equal(t, codec.EncodingEncrypted, string(p.GetMetadata()[converter.MetadataEncoding]))
			assert.Equal(t, "k1", string(p.GetMetadata()[codec.MetadataKeyID]))
			assert.NotContains(t, string(p.GetData()), "Lovelace")
			var back map[string]string
			require.NoError(t, opts.DataConverter.FromPayload(p, &back))
			assert.Equal(t, "Ada Lovelace", back["name"])
		})
	}
}

func Test_GivenAPayloadInClear_ShouldDecodeItThroughTheConverter(t *testing.T) {
	pc, err := Source{Env: MapEnv{EnvPayloadKeys: testKeyring}}.PayloadCodec()
	require.NoError(t, err)
	plain, err := converter.GetDefaultDataConverter().ToPayloads("recorded before encryption")
	require.NoError(t, err)

	var got string
	require.NoError(t, DataConverter(pc).FromPayloads(&commonpb.Payloads{Payloads: plain.Payloads}, &got))

	assert.Equal(t, "recorded before encryption", got, "histories recorded in clear still replay")
}

func Test_GivenACodecOrigin_ShouldTakeOnlyAnOriginWithoutAPath(t *testing.T) {
	got, err := Source{Env: MapEnv{EnvCodecOrigin: "https://temporal-ui.example.com:8443/"}}.CodecOrigin()
	require.NoError(t, err)
	assert.Equal(t, "https://temporal-ui.example.com:8443", got)

	for _, bad := range []string{"temporal-ui.example.com", "ftp://ui", "https://ui/namespaces", "https://ui?x=1", "https://user@ui", "https://"} {
		_, err := Source{Env: MapEnv{EnvCodecOrigin: bad}}.CodecOrigin()
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), EnvCodecOrigin, bad)
	}
}

func Test_GivenOptionsWithoutADataConverter_ShouldRefuseToConnect(t *testing.T) {
	dialled := false
	dial := func(context.Context, client.Options) (client.Client, error) {
		dialled = true
		return nil, errors.New("unreachable")
	}

	_, err := ConnectTemporal(context.Background(), client.Options{HostPort: "localhost:7233"}, dial)

	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvPayloadKeysFile)
	assert.False(t, dialled, "refused before dialling")
}
