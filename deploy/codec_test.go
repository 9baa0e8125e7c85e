package deploy_test

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/internal/config"
)

// Every payload the compose stack writes is encrypted, with one keyring for the worker and the
// HR API, and the UI decodes through the HR API's codec server.
func Test_GivenTheComposeFile_ShouldEncryptPayloadsAndPointTheUIAtTheCodecServer(t *testing.T) {
	c := load(t)
	for _, svc := range []string{"worker", "hr-api"} {
		s := c.Services[svc]
		require.Equal(t, "/run/secrets/payload-keys", s.Environment[config.EnvPayloadKeysFile], svc)
		require.Contains(t, s.Secrets, "payload-keys", svc)
		assert.NotContains(t, s.Environment, config.EnvPayloadKeys, "%s: the keyring is a secret file, never a variable in this file", svc)
	}
	keys := filepath.Join(root, interpolate(c.Secrets["payload-keys"].File))
	_, err := config.Source{Env: config.MapEnv{config.EnvPayloadKeysFile: keys}}.PayloadCodec()
	require.NoError(t, err, "the example keyring is one the processes accept")
	raw, err := os.ReadFile(keys)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "EXAMPLE VALUE ONLY")

	// The browser calls the codec endpoint: it is the HR API as published, under /codec.
	ui := c.Services["temporal-ui"]
	endpoint, err := url.Parse(interpolate(ui.Environment["TEMPORAL_CODEC_ENDPOINT"]))
	require.NoError(t, err)
	api := publishedPorts(t, c, "hr-api")[0]
	assert.Equal(t, api.ip.String(), endpoint.Hostname())
	assert.Equal(t, strconv.Itoa(api.host), endpoint.Port())
	assert.Equal(t, "/codec", endpoint.Path)
	assert.Equal(t, "true", ui.Environment["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"], "the UI forwards its user's token; the HR API checks it")

	// The UI image reads those variables.
	template, err := os.ReadFile(filepath.Join(uiServerDir(t), "config", "docker.yaml"))
	require.NoError(t, err)
	for _, v := range []string{"TEMPORAL_CODEC_ENDPOINT", "TEMPORAL_CODEC_PASS_ACCESS_TOKEN"} {
		assert.Regexp(t, regexp.MustCompile(`\{\{ env "`+v+`"`), string(template), v)
	}

	// The codec server allows the UI's origin as the browser sees it, and only that.
	origin, err := config.Source{Env: config.MapEnv{config.EnvCodecOrigin: interpolate(c.Services["hr-api"].Environment[config.EnvCodecOrigin])}}.CodecOrigin()
	require.NoError(t, err)
	uiPort := publishedPorts(t, c, "temporal-ui")[0]
	assert.Equal(t, "http://"+uiPort.ip.String()+":"+strconv.Itoa(uiPort.host), origin)
}
