package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/config"
	postgresplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/offboard/offboard/devstack/defaults"
	"github.com/offboard/offboard/internal/pace"
)

// persistence is where the server keeps its runs and their visibility records.
type persistence struct {
	store, visibility *config.SQL
	shards            int32
	// clusterID is empty when the database itself keeps it (PostgreSQL).
	clusterID string
	// registerNamespace: the namespace is created through the frontend once it answers, because
	// only SQLite has a way to write it into the database before.
	registerNamespace bool
	// describe names the database for people, never with its password.
	describe string
}

// preparePersistence opens the PostgreSQL database of o.Database, or creates the SQLite schema in
// a new database file (or an in-memory database) with the namespace and its search attributes.
// An existing file is reused as it is.
func preparePersistence(o TemporalOptions, t *Temporal) (persistence, error) {
	if o.Database != "" {
		return postgresPersistence(o.Database)
	}
	conf, err := prepareSQLite(o, t)
	if err != nil {
		return persistence{}, err
	}
	id, err := clusterID(o.DataDir)
	if err != nil {
		return persistence{}, err
	}
	describe := "SQLite in memory"
	if t.DBPath != "" {
		describe = "SQLite " + t.DBPath
	}
	return persistence{store: conf, visibility: conf, shards: 1, clusterID: id, describe: describe}, nil
}

func prepareSQLite(o TemporalOptions, t *Temporal) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if o.DataDir == "" {
		// A unique name, so that two in-memory servers in one process do not share a database.
		conf.DatabaseName = "offboard-" + uuid.NewString()
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
	} else {
		if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create the data directory %s (choose another with --data-dir): %w", o.DataDir, err)
		}
		t.DBPath = filepath.Join(o.DataDir, DatabaseFile)
		conf.DatabaseName = t.DBPath
		conf.ConnectAttributes = map[string]string{"mode": "rwc", "journal_mode": "wal", "busy_timeout": "10000"}
		if _, err := os.Stat(t.DBPath); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(conf); err != nil {
				_ = os.Remove(t.DBPath)
				return nil, fmt.Errorf("create the Temporal schema in %s: %w", t.DBPath, err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("open the Temporal database %s: %w", t.DBPath, err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("prepare namespace %q: %w", o.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("create namespace %q in %s: %w", o.Namespace, conf.DatabaseName, err)
	}
	return conf, nil
}

func postgresPersistence(raw string) (persistence, error) {
	store, err := ParseDatabaseURL(raw)
	if err != nil {
		return persistence{}, err
	}
	visibility := *store
	visibility.DatabaseName += defaults.VisibilitySuffix
	return persistence{
		store: store, visibility: &visibility, shards: defaults.PostgresShards, registerNamespace: true,
		describe: fmt.Sprintf("PostgreSQL %s@%s/%s", store.User, store.ConnectAddr, store.DatabaseName),
	}, nil
}

// ParseDatabaseURL reads postgres://user[:password]@host:port/database[?attribute=value...] into
// the server's SQL config for the postgres12 plugin; query parameters (such as sslmode) become
// connect attributes. Its errors never show the URL, which may hold the password.
func ParseDatabaseURL(raw string) (*config.SQL, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("--db: "+format+" (want postgres://user:password@host:port/database)", args...)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the URL, password and all.
		return nil, fail("not a URL; percent-encode special characters of the password")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fail("scheme %q is not postgres or postgresql", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fail("no host")
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port < 1 || port > 65535 {
		return nil, fail("no port, or not a port number")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || strings.Contains(name, "/") {
		return nil, fail("no database name, or one with a slash")
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, fail("no user")
	}
	attrs := map[string]string{}
	for k, v := range u.Query() {
		if len(v) != 1 {
			return nil, fail("query parameter %q given %d times", k, len(v))
		}
		attrs[k] = v[0]
	}
	password, _ := u.User.Password()
	return &config.SQL{
		PluginName:        postgresplugin.PluginName,
		DatabaseName:      name,
		ConnectAddr:       net.JoinHostPort(u.Hostname(), strconv.Itoa(port)),
		ConnectProtocol:   "tcp",
		User:              u.User.Username(),
		Password:          password,
		ConnectAttributes: attrs,
		MaxConns:          20,
		MaxIdleConns:      20,
		MaxConnLifetime:   time.Hour,
	}, nil
}

// DatabaseURLWithPassword puts password into a database URL that names a user but no password,
// so that the password need not be on the command line (devstack reads it from PGPASSWORD). Any
// other URL is returned as it is, for ParseDatabaseURL to judge.
func DatabaseURLWithPassword(raw, password string) string {
	u, err := url.Parse(raw)
	if err != nil || password == "" || u.User == nil {
		return raw
	}
	if _, set := u.User.Password(); set {
		return raw
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

// clusterID is stable per data directory, so a restart matches the persisted cluster metadata.
func clusterID(dataDir string) (string, error) {
	if dataDir == "" {
		return uuid.NewString(), nil
	}
	path := filepath.Join(dataDir, "cluster-id")
	b, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the cluster ID %s: %w", path, err)
	}
	id := uuid.NewString()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write the cluster ID %s: %w", path, err)
	}
	return id, nil
}

// NamespaceRetention is how long a namespace created on PostgreSQL keeps closed runs, as
// compose's deploy/temporal/register.sh creates it.
const NamespaceRetention = 30 * 24 * time.Hour

// ensureNamespace registers the namespace unless it exists, and waits until the frontend
// serves it from its namespace cache (refreshed every second). DescribeNamespace reads the
// database and finds a namespace before the cache does; ListSearchAttributes, which the
// registration of the search attributes calls next, goes through the cache.
func ensureNamespace(ctx context.Context, c client.Client, namespace string) error {
	svc := c.WorkflowService()
	_, err := svc.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(NamespaceRetention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %q: %w", namespace, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var last error
	_, err = pace.Until(ctx, pace.Delays(100*time.Millisecond, time.Second, 0), pace.Sleep, func(ctx context.Context) (struct{}, bool, error) {
		_, last = c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
		return struct{}{}, last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("namespace %q is not served after registering it: %w", namespace, errors.Join(err, last))
	}
	return nil
}
