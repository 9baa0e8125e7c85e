package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/devstack/defaults"
)

// Compose's Temporal (the temporalio/server image, its schema job) and devstack --db on
// deploy/postgres.sh agree on the plugin, the databases, the user, the port and the shard count.
func Test_GivenTheComposeTemporal_ShouldUseThePostgresSetupOfDevstackAndPostgresScript(t *testing.T) {
	c := load(t)
	server := c.Services["temporal"]
	require.Equal(t, "temporalio/server:"+serverVersion(t), interpolate(server.Image), "compose runs the server version whose config template this test reads")
	env := serverConfigDefaults(t)
	for k, v := range server.Environment {
		env[k] = v
	}
	require.Equal(t, defaults.PostgresPlugin, env["DB"])
	require.Equal(t, defaults.TemporalDatabase, env["DBNAME"])
	require.Equal(t, defaults.TemporalDatabase+defaults.VisibilitySuffix, env["VISIBILITY_DBNAME"])
	require.Equal(t, strconv.Itoa(defaults.PostgresShards), env["NUM_HISTORY_SHARDS"])
	require.Equal(t, defaults.PostgresUser, env["POSTGRES_USER"])
	require.Equal(t, "5432", env["DB_PORT"])
	require.Contains(t, c.Services, env["POSTGRES_SEEDS"], "the server's database host is the compose service")
	require.Equal(t, defaults.PostgresUser, c.Services["postgresql"].Environment["POSTGRES_USER"])
	require.Equal(t, defaults.PostgresUser, c.Services["temporal-schema"].Environment["POSTGRES_USER"])
	require.Equal(t, interpolate(c.Services["postgresql"].Environment["POSTGRES_PASSWORD"]), interpolate(server.Environment["POSTGRES_PWD"]))

	// One schema script for both: compose's schema job and deploy/postgres.sh schema.
	setup := readDeploy(t, "temporal", "setup-postgres.sh")
	m := regexp.MustCompile(`(?m)^for db in (.+); do$`).FindStringSubmatch(setup)
	require.NotNil(t, m, "setup-postgres.sh names its databases in a for loop")
	require.Equal(t, []string{defaults.TemporalDatabase, defaults.TemporalDatabase + defaults.VisibilitySuffix}, strings.Fields(m[1]))
	require.Contains(t, setup, "--plugin "+defaults.PostgresPlugin+" ")
	require.Contains(t, setup, "port=${DB_PORT:-"+env["DB_PORT"]+"}")
	require.Contains(t, c.Services["temporal-schema"].Command, "/offboard/setup-postgres.sh")

	script := readDeploy(t, "postgres.sh")
	require.Contains(t, script, "\nuser="+defaults.PostgresUser+"\n")
	require.Contains(t, script, `sh "$repo/deploy/temporal/setup-postgres.sh"`)
	require.Contains(t, script, "@127.0.0.1:$(cat \"$dir/port\")/"+defaults.TemporalDatabase+`"`, "postgres.sh url names the main database")
	require.Contains(t, script, "go build -o \"$tool\" go.temporal.io/server/cmd/tools/sql")
	goMod := readFile(t, filepath.Join(root, "go.mod"))
	require.Regexp(t, `(?m)^tool go.temporal.io/server/cmd/tools/sql$`, goMod, "go.mod pins the schema tool with the server")
}

// serverConfigDefaults reads the environment defaults of the server image's config template
// from the go.temporal.io/server module go.mod requires.
func serverConfigDefaults(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/server").Output()
	require.NoError(t, err)
	template := readFile(t, filepath.Join(strings.TrimSpace(string(out)), "docker", "config_template.yaml"))
	require.Contains(t, template, `eq $db "`+defaults.PostgresPlugin+`"`, "the image configures SQL persistence for the plugin")
	env := map[string]string{}
	for _, m := range regexp.MustCompile(`default \.Env\.([A-Z0-9_]+) "([^"]*)"`).FindAllStringSubmatch(template, -1) {
		if _, seen := env[m[1]]; !seen {
			env[m[1]] = m[2]
		}
	}
	require.NotEmpty(t, env["DBNAME"], "the template gives DBNAME a default")
	return env
}

func serverVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "go.temporal.io/server").Output()
	require.NoError(t, err)
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
}

func readDeploy(t *testing.T, path ...string) string {
	t.Helper()
	return readFile(t, filepath.Join(append([]string{root, "deploy"}, path...)...))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(raw)
}
