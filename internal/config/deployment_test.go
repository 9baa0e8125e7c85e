package config

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func Test_GivenNoBuildID_ShouldBeAnUnversionedWorkerOfTheDefaultDeployment(t *testing.T) {
	d, err := Source{Env: MapEnv{EnvBuildID: "  "}}.Deployment()

	require.NoError(t, err)
	assert.Equal(t, Deployment{Name: DefaultDeploymentName}, d)
	assert.False(t, d.Versioned())
	assert.Equal(t, "unversioned", d.String())
}

func Test_GivenABuildIDAndAName_ShouldBeThatVersionWithTheFlagWinning(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs, EnvBuildID, EnvDeploymentName)
	require.NoError(t, fs.Parse([]string{"--build-id", "1.4.2+3f2a9c1"}))

	d, err := Source{Flags: fs, Env: MapEnv{EnvBuildID: "1.4.1", EnvDeploymentName: "offboard-eu"}}.Deployment()

	require.NoError(t, err)
	assert.Equal(t, Deployment{Name: "offboard-eu", BuildID: "1.4.2+3f2a9c1"}, d)
	assert.True(t, d.Versioned())
	assert.Equal(t, "offboard-eu:1.4.2+3f2a9c1", d.String())
}

func Test_GivenABuildIDOrNameTemporalOrAShellWouldMangle_ShouldRefuseItNamingTheSettingAndTheCharacter(t *testing.T) {
	for _, c := range []struct{ env, value, want string }{
		{EnvBuildID, "v 2", `' ' at position 2`},
		{EnvBuildID, "v2\t", ""}, // trimmed: fine
		{EnvBuildID, "__v2", `'_' at position 1`},
		{EnvBuildID, "-v2", `'-' at position 1`},
		{EnvBuildID, "v2:x", `':' at position 3`},
		{EnvBuildID, "v2'", `'\'' at position 3`},
		{EnvBuildID, "v\u00e92", `'é' at position 2`},
		{EnvBuildID, strings.Repeat("a", maxVersionField+1), "1 to 480 characters"},
		{EnvDeploymentName, "offboard.eu", `'.' at position 9`},
		{EnvDeploymentName, "offboard:eu", `':' at position 9`},
		{EnvDeploymentName, "off board", `' ' at position 4`},
	} {
		_, err := Source{Env: MapEnv{c.env: c.value}}.Deployment()
		if c.want == "" {
			assert.NoError(t, err, c.value)
			continue
		}
		require.Error(t, err, c.value)
		assert.Contains(t, err.Error(), c.env, c.value)
		assert.Contains(t, err.Error(), c.want, c.value)
	}
}

func Test_GivenAFlaggedBuildID_ShouldNameTheFlagInTheError(t *testing.T) {
	err := CheckBuildID("--build-id", "v.2 ")

	require.Error(t, err)
	assert.Contains(t, err.Error(), `--build-id="v.2 "`)
	assert.Contains(t, err.Error(), "letters, digits, - _ . and +")
}
