package stack

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/devstack/defaults"
)

func Test_GivenAPostgresURL_ShouldConfigureThePostgres12PluginAndItsVisibilityDatabase(t *testing.T) {
	db, err := postgresPersistence("postgresql://temporal:s%40cret@db.example:6432/offboard?sslmode=verify-full")
	require.NoError(t, err)
	require.Equal(t, defaults.PostgresPlugin, db.store.PluginName)
	require.Equal(t, "db.example:6432", db.store.ConnectAddr)
	require.Equal(t, "tcp", db.store.ConnectProtocol)
	require.Equal(t, "temporal", db.store.User)
	require.Equal(t, "s@cret", db.store.Password)
	require.Equal(t, "offboard", db.store.DatabaseName)
	require.Equal(t, map[string]string{"sslmode": "verify-full"}, db.store.ConnectAttributes)
	require.Equal(t, "offboard_visibility", db.visibility.DatabaseName)
	require.Equal(t, db.store.ConnectAddr, db.visibility.ConnectAddr)
	require.Empty(t, db.clusterID, "the database keeps the cluster ID")
	require.True(t, db.registerNamespace)
	require.Equal(t, int32(defaults.PostgresShards), db.shards)
	require.NotContains(t, db.describe, "s@cret")
	require.NotContains(t, db.describe, "s%40cret")
}

func Test_GivenAMalformedPostgresURL_ShouldSayWhatIsMissingWithoutThePassword(t *testing.T) {
	for raw, want := range map[string]string{
		"mysql://u:hunter2@h:5432/temporal":     `scheme "mysql"`,
		"postgres://u:hunter2@:5432/temporal":   "no host",
		"postgres://u:hunter2@h/temporal":       "no port",
		"postgres://u:hunter2@h:99999/temporal": "no port",
		"postgres://u:hunter2@h:5432":           "no database name",
		"postgres://u:hunter2@h:5432/a/b":       "no database name",
		"postgres://h:5432/temporal":            "no user",
		"postgres://u:hunter2@h:5432/t?x=1&x=2": `"x" given 2 times`,
		"postgres://u:hunter2%zz@h:5432/t":      "not a URL",
		"postgres://u:hunter2@h:port/t":         "not a URL",
	} {
		_, err := ParseDatabaseURL(raw)
		require.Error(t, err, raw)
		require.Contains(t, err.Error(), want, raw)
		require.Contains(t, err.Error(), "--db", raw)
		require.NotContains(t, err.Error(), "hunter2", raw)
	}
}

func Test_GivenAURLWithoutPassword_ShouldTakeTheOneGivenApart(t *testing.T) {
	got := DatabaseURLWithPassword("postgres://temporal@h:5432/temporal?sslmode=require", "p@ss word")
	conf, err := ParseDatabaseURL(got)
	require.NoError(t, err)
	require.Equal(t, "p@ss word", conf.Password)
	require.Equal(t, map[string]string{"sslmode": "require"}, conf.ConnectAttributes)

	for _, raw := range []string{"postgres://temporal:own@h:5432/temporal", "postgres://h:5432/temporal", "%zz"} {
		require.Equal(t, raw, DatabaseURLWithPassword(raw, "other"), "a URL with a password, without a user or malformed stays as it is")
	}
	require.Equal(t, "postgres://temporal@h:5432/temporal", DatabaseURLWithPassword("postgres://temporal@h:5432/temporal", ""))
}
