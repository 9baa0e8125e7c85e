package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/internal/webhook"
)

const (
	eventSecretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	eventSecretB = "whsec_b2ZmYm9hcmQtZGV2LXdlYmhvb2stc2VjcmV0LTAx"
)

func Test_GivenNoEventSecret_ShouldTakeNoEventsWithoutAnError(t *testing.T) {
	ev, err := Source{Env: MapEnv{}}.Events()
	require.NoError(t, err)
	assert.Empty(t, ev.Secrets)
	assert.Equal(t, webhook.DefaultTolerance, ev.Tolerance)
}

func Test_GivenEventSecretsInTheEnvironmentOrAFile_ShouldReadThemAllInOrder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "event-secrets")
	require.NoError(t, os.WriteFile(file, []byte("# current first\n"+eventSecretB+"\n"+eventSecretA+"\n"), 0o600))
	for name, env := range map[string]MapEnv{
		"environment": {EnvEventSecrets: eventSecretB + "," + eventSecretA, EnvEventTolerance: "90s"},
		"file":        {EnvEventSecretsFile: file, EnvEventTolerance: "90s"},
	} {
		ev, err := Source{Env: env}.Events()
		require.NoError(t, err, name)
		require.Len(t, ev.Secrets, 2, name)
		assert.Equal(t, eventSecretB, ev.Secrets[0].Text(), "%s: the first is the current", name)
		assert.Equal(t, eventSecretA, ev.Secrets[1].Text(), name)
		assert.Equal(t, 90*time.Second, ev.Tolerance, name)
	}
}

func Test_GivenTheEventFlags_ShouldWinOverTheEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "event-secrets")
	require.NoError(t, os.WriteFile(file, []byte(eventSecretA), 0o600))
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	AddFlags(fs, EnvEventSecretsFile, EnvEventTolerance)
	require.NoError(t, fs.Parse([]string{"--event-secrets-file", file, "--event-tolerance", "2m"}))

	ev, err := Source{Env: MapEnv{EnvEventTolerance: "10m"}, Flags: fs}.Events()

	require.NoError(t, err)
	require.Len(t, ev.Secrets, 1)
	assert.Equal(t, 2*time.Minute, ev.Tolerance)
}

func Test_GivenBadEventSettings_ShouldFailNamingTheSettingAndNeverTheSecret(t *testing.T) {
	file := filepath.Join(t.TempDir(), "event-secrets")
	require.NoError(t, os.WriteFile(file, []byte(eventSecretA+"\nwhsec_c2hvcnQ=\n"), 0o600))
	for name, c := range map[string]struct {
		env  MapEnv
		want string
	}{
		"not whsec_":     {MapEnv{EnvEventSecrets: "hunter2-hunter2-hunter2-hunter2"}, EnvEventSecrets + ": secret 1"},
		"second bad":     {MapEnv{EnvEventSecrets: eventSecretA + ",whsec_!!!notbase64"}, EnvEventSecrets + ": secret 2"},
		"short in file":  {MapEnv{EnvEventSecretsFile: file}, EnvEventSecretsFile + "=" + file + ": secret 2"},
		"missing file":   {MapEnv{EnvEventSecretsFile: file + ".gone"}, EnvEventSecretsFile},
		"both":           {MapEnv{EnvEventSecrets: eventSecretA, EnvEventSecretsFile: file}, "both set"},
		"only comments":  {MapEnv{EnvEventSecrets: "# none"}, EnvEventSecrets},
		"bad tolerance":  {MapEnv{EnvEventSecrets: eventSecretA, EnvEventTolerance: "five minutes"}, EnvEventTolerance},
		"zero tolerance": {MapEnv{EnvEventSecrets: eventSecretA, EnvEventTolerance: "0s"}, EnvEventTolerance},
	} {
		_, err := Source{Env: c.env}.Events()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.want, name)
		for _, secret := range []string{"hunter2", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "c2hvcnQ", "notbase64"} {
			assert.NotContains(t, err.Error(), secret, "%s: no secret in errors", name)
		}
	}
}
