package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"

	"github.com/offboard/offboard/devstack/defaults"
	"github.com/offboard/offboard/workflows"
)

// Default addresses of the local stack.
const (
	DefaultHost         = defaults.Host
	DefaultTemporalPort = defaults.TemporalPort
	DefaultUIPort       = defaults.UIPort
	DefaultNamespace    = defaults.Namespace
	// DatabaseFile is the SQLite file under the data directory.
	DatabaseFile = "temporal.db"
	clusterName  = "active"
)

// TemporalOptions configures StartTemporal.
type TemporalOptions struct {
	// DataDir holds the SQLite database (DatabaseFile) and the cluster ID. Empty keeps everything
	// in memory, for tests.
	DataDir string
	// Database, when set, is a PostgreSQL URL (ParseDatabaseURL) whose database and its
	// defaults.VisibilitySuffix twin hold the schemas of deploy/postgres.sh schema; DataDir is then unused.
	Database string
	// Host is the IP every listener binds (default 127.0.0.1).
	Host string
	// Port is the frontend gRPC port; 0 picks a free one.
	Port int
	// HTTPPort is the frontend HTTP API port; 0 picks a free one.
	HTTPPort int
	// UIPort is the Web UI port; 0 picks a free one. NoUI turns the UI off.
	UIPort int
	NoUI   bool
	// Namespace is created if missing (default "default").
	Namespace string
	// SearchAttributes to register; nil means workflows.SearchAttributes().
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's own logs at ServerLogLevel and above (default warn).
	Logger         *slog.Logger
	ServerLogLevel *slog.Level
	// PortFlag and UIPortFlag name the flags that move the ports, for the "port in use" message.
	PortFlag, UIPortFlag string
	// DataConverter is the data converter of the clients Dial returns; nil is the SDK's default.
	DataConverter converter.DataConverter
	// UICodecEndpoint is the Web UI's codec endpoint (UIOptions.CodecEndpoint).
	UICodecEndpoint string
}

// Temporal is a running in-process Temporal server, and optionally its Web UI.
type Temporal struct {
	// Address is the frontend's host:port, for TEMPORAL_ADDRESS.
	Address string
	// HTTPAddress is the frontend's HTTP API host:port.
	HTTPAddress string
	// UIURL is the Web UI's base URL, empty without UI.
	UIURL string
	// Namespace is the registered namespace.
	Namespace string
	// DBPath is the SQLite file, empty when in memory or on PostgreSQL.
	DBPath string
	// Persistence names the database for people, without a password.
	Persistence string

	server        temporal.Server
	ui            *UI
	dataConverter converter.DataConverter
	logLevel      *slog.LevelVar
	once          sync.Once
	err           error
}

// StartTemporal starts a Temporal server in process, registers the namespace and the search
// attributes, and returns once the frontend answers. Restarting on the same DataDir keeps every
// run: the schema is created only when the database file does not exist yet.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkPortFree(o.Host, o.Port, "Temporal frontend gRPC", o.PortFlag); err != nil {
		return nil, err
	}
	if err := checkPortFree(o.Host, o.HTTPPort, "Temporal frontend HTTP", ""); err != nil {
		return nil, err
	}
	if !o.NoUI {
		if err := checkPortFree(o.Host, o.UIPort, "Temporal Web UI", o.UIPortFlag); err != nil {
			return nil, err
		}
	}

	t := &Temporal{
		Address:       net.JoinHostPort(o.Host, strconv.Itoa(o.Port)),
		HTTPAddress:   net.JoinHostPort(o.Host, strconv.Itoa(o.HTTPPort)),
		Namespace:     o.Namespace,
		dataConverter: o.DataConverter,
	}
	db, err := preparePersistence(o, t)
	if err != nil {
		return nil, err
	}
	t.Persistence = db.describe
	t.logLevel = new(slog.LevelVar)
	t.logLevel.Set(*o.ServerLogLevel)
	srvOpts, err := serverOptions(o, db, t.logLevel)
	if err != nil {
		return nil, err
	}
	srv, err := buildServer(srvOpts)
	if err != nil {
		return nil, fmt.Errorf("build the Temporal server on %s: %w", t.Persistence, err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start the Temporal server on %s: %w", t.Address, err)
	}
	t.server = srv

	if err := t.register(ctx, o, db.registerNamespace); err != nil {
		_ = t.Stop()
		return nil, err
	}
	if !o.NoUI {
		ui, err := StartUI(ctx, UIOptions{
			Host: o.Host, Port: o.UIPort, TemporalAddress: t.Address, Namespace: o.Namespace, PortFlag: o.UIPortFlag,
			CodecEndpoint: o.UICodecEndpoint,
		})
		if err != nil {
			_ = t.Stop()
			return nil, err
		}
		t.ui, t.UIURL = ui, ui.URL
	}
	return t, nil
}

// Stop stops the UI and the server. It is safe to call more than once.
func (t *Temporal) Stop() error {
	t.once.Do(func() {
		if t.ui != nil {
			t.ui.Stop()
		}
		if t.server != nil {
			t.logLevel.Set(slog.LevelError)
			t.err = t.server.Stop()
		}
	})
	return t.err
}

// Dial returns a client of the namespace. The caller closes it.
func (t *Temporal) Dial(ctx context.Context, logger *slog.Logger) (client.Client, error) {
	return dial(ctx, client.Options{HostPort: t.Address, Namespace: t.Namespace, DataConverter: t.dataConverter}, logger)
}

// RunURL is the Web UI's page of one run.
func (t *Temporal) RunURL(workflowID, runID string) string {
	if t.UIURL == "" {
		return ""
	}
	return RunURL(t.UIURL, t.Namespace, workflowID, runID)
}

// RunURL is the Web UI page of one run, given the UI's base URL.
func RunURL(uiURL, namespace, workflowID, runID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s", strings.TrimSuffix(uiURL, "/"), namespace, workflowID, runID)
}

func (o TemporalOptions) withDefaults() (TemporalOptions, error) {
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.SearchAttributes == nil {
		o.SearchAttributes = workflows.SearchAttributes()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ServerLogLevel == nil {
		warn := slog.LevelWarn
		o.ServerLogLevel = &warn
	}
	for _, p := range []*int{&o.Port, &o.HTTPPort, &o.UIPort} {
		if *p != 0 {
			continue
		}
		free, err := freePort(o.Host)
		if err != nil {
			return o, err
		}
		*p = free
	}
	return o, nil
}

func serverOptions(o TemporalOptions, db persistence, level *slog.LevelVar) ([]temporal.ServerOption, error) {
	hostPort := func(p int) string { return net.JoinHostPort(o.Host, strconv.Itoa(p)) }
	services := map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{GRPCPort: o.Port, HTTPPort: o.HTTPPort, BindOnIP: o.Host}},
	}
	hosts := map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: static.SingleLocalHost(hostPort(o.Port)),
	}
	for _, name := range []primitives.ServiceName{primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		port, err := freePort(o.Host)
		if err != nil {
			return nil, err
		}
		services[string(name)] = config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: o.Host}}
		hosts[name] = static.SingleLocalHost(hostPort(port))
	}

	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = o.Host
	conf.Persistence.DefaultStore = "default"
	conf.Persistence.VisibilityStore = "default"
	conf.Persistence.NumHistoryShards = db.shards
	conf.Persistence.DataStores = map[string]config.DataStore{"default": {SQL: db.store}}
	if db.visibility != db.store {
		conf.Persistence.VisibilityStore = "visibility"
		conf.Persistence.DataStores["visibility"] = config.DataStore{SQL: db.visibility}
	}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             hostPort(o.Port),
			HTTPAddress:            hostPort(o.HTTPPort),
			ClusterID:              db.clusterID,
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = services
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = hostPort(o.Port)

	dyn := dynamicconfig.StaticClient{
		dynamicconfig.EnableServerVersionCheck.Key(): false,
		// A search attribute or namespace added at run time is usable at once, as in the CLI's dev server.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key():            true,
		dynamicconfig.NamespaceCacheRefreshInterval.Key():                      time.Second,
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key():       100,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                       8192,
		// A demoted worker version shows drained seconds after its last pinned run closes, not minutes.
		dynamicconfig.VersionDrainageStatusVisibilityGracePeriod.Key(): 5 * time.Second,
		dynamicconfig.VersionDrainageStatusRefreshInterval.Key():       5 * time.Second,
	}
	return []temporal.ServerOption{
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(serverLogger{l: o.Logger.With("component", "temporal"), min: level}),
		temporal.WithDynamicConfigClient(dyn),
	}, nil
}

// register waits for the frontend, creates the namespace when asked to, and makes sure every
// search attribute exists, adding the ones a database created by an older build lacks.
func (t *Temporal) register(ctx context.Context, o TemporalOptions, createNamespace bool) error {
	c, err := dial(ctx, client.Options{HostPort: t.Address, Namespace: o.Namespace}, o.Logger)
	if err != nil {
		return err
	}
	defer c.Close()
	if createNamespace {
		if err := ensureNamespace(ctx, c, o.Namespace); err != nil {
			return err
		}
	}
	return EnsureSearchAttributes(ctx, c.OperatorService(), o.Namespace, o.SearchAttributes)
}

// EnsureSearchAttributes registers the attributes in want that the namespace lacks. It fails if
// one exists with another type, which needs a new data directory or a manual fix.
func EnsureSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string, want map[string]enumspb.IndexedValueType) error {
	have, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list the search attributes of namespace %q: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range want {
		got, ok := have.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			return fmt.Errorf("search attribute %s of namespace %q is %s, want %s: start with a fresh data directory", name, namespace, got, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register search attributes in namespace %q: %w", namespace, err)
	}
	return nil
}

// dial connects to a frontend and waits until it answers, for up to 30 seconds.
func dial(ctx context.Context, opts client.Options, logger *slog.Logger) (client.Client, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var lastErr error
	for {
		opts.Logger = sdklog.NewStructuredLogger(logger.With("component", "temporal-client"))
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			if _, err = c.CheckHealth(ctx, &client.CheckHealthRequest{}); err == nil {
				return c, nil
			}
			c.Close()
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("Temporal at %s did not answer: %w", opts.HostPort, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// buildServer builds the server, turning a fatal log of the server (such as a gRPC port taken
// between our check and its listen) into an error instead of the crash it causes later.
func buildServer(opts []temporal.ServerOption) (srv temporal.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(serverFatal)
			if !ok {
				panic(r)
			}
			err = f
		}
	}()
	return temporal.NewServer(opts...)
}
