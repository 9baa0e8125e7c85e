// Package config reads Offboard's configuration from the environment, with command-line flags
// that override it. Every setting is listed in Vars; the README's table is checked against it.
//
// Order of precedence, lowest first: built-in defaults, OFFBOARD_POLICY_FILE (policy only) and
// TEMPORAL_CONFIG_FILE (Temporal only), environment variables, flags. A bad value is an error
// that names the variable (and flag) to fix. Secret values never appear in errors or logs.
package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/internal/webhook"
	"github.com/offboard/offboard/workflows"
)

// Var documents one setting.
type Var struct {
	// Name is the environment variable.
	Name string
	// Flag is the overriding flag without dashes; empty when the setting has no flag (secrets
	// have none, so that they stay out of shell history and process listings).
	Flag string
	// Default is the value used when the setting is unset; empty means none.
	Default string
	// Usage says what the setting does and what it accepts.
	Usage string
	// Secret marks a value that must never be printed.
	Secret bool
	// Used names the programs that read the setting.
	Used string
	// Type is the flag's type: "bool" (given alone it means true), "int", "float", "duration"
	// (Go syntax) or "" for text.
	Type string
}

// Names of Offboard's own variables. Temporal's and Genesys's are listed in Vars too, and the
// policy's are workflows.PolicySettings' (workflows.EnvApprovalsRequired and the rest).
const (
	EnvExportURL              = "OFFBOARD_EXPORT_URL"
	EnvWebhookURL             = "OFFBOARD_WEBHOOK_URL"
	EnvPolicyFile             = "OFFBOARD_POLICY_FILE"
	EnvFleetRequestsPerMin    = "OFFBOARD_FLEET_REQUESTS_PER_MINUTE"
	EnvWorkerReplicas         = "OFFBOARD_WORKER_REPLICAS"
	EnvWorkerAddr             = "OFFBOARD_WORKER_ADDR"
	EnvShutdownTimeout        = "OFFBOARD_SHUTDOWN_TIMEOUT"
	EnvAPIAddr                = "OFFBOARD_API_ADDR"
	EnvAPITokens              = "OFFBOARD_API_TOKENS"
	EnvAPITokensFile          = "OFFBOARD_API_TOKENS_FILE"
	EnvDecisionSigningKey     = "OFFBOARD_DECISION_SIGNING_KEY"
	EnvDecisionSigningKeyFile = "OFFBOARD_DECISION_SIGNING_KEY_FILE"
	EnvEventSecrets           = "OFFBOARD_EVENT_SECRETS"
	EnvEventSecretsFile       = "OFFBOARD_EVENT_SECRETS_FILE"
	EnvEventTolerance         = "OFFBOARD_EVENT_TOLERANCE"
	EnvAPIURL                 = "OFFBOARD_API_URL"
	EnvAPIToken               = "OFFBOARD_API_TOKEN"
	EnvLogLevel               = "OFFBOARD_LOG_LEVEL"
	EnvLogFormat              = "OFFBOARD_LOG_FORMAT"
	// Notifications: the secrets that sign them and the approval links they carry.
	EnvWebhookSecret     = "OFFBOARD_WEBHOOK_SECRET"
	EnvWebhookSecretFile = "OFFBOARD_WEBHOOK_SECRET_FILE"
	EnvPublicAPIURL      = "OFFBOARD_PUBLIC_API_URL"
	EnvApprovalLinkTTL   = "OFFBOARD_APPROVAL_LINK_TTL"
)

// Defaults of Offboard's own settings.
const (
	DefaultExportURL       = "file://./.offboard/exports"
	DefaultWorkerAddr      = ":9464"
	DefaultAPIAddr         = ":8080"
	DefaultShutdownTimeout = 5 * time.Minute
	DefaultTemporalAddress = "localhost:7233"
	DefaultNamespace       = "default"
)

// Vars lists every setting Offboard reads, in the order of the README's table.
func Vars() []Var {
	d := workflows.DefaultPolicy()
	const all, w, s, ws = "worker, starter", "worker", "starter", "worker, starter serve"
	vars := []Var{
		{Name: "TEMPORAL_ADDRESS", Flag: "temporal-address", Default: DefaultTemporalAddress, Used: all, Usage: "Temporal frontend host:port (Temporal Cloud: <ns>.<acct>.tmprl.cloud:7233)."},
		{Name: "TEMPORAL_NAMESPACE", Flag: "temporal-namespace", Default: DefaultNamespace, Used: all, Usage: "Temporal namespace."},
		{Name: "TEMPORAL_API_KEY", Secret: true, Used: all, Usage: "Temporal Cloud API key; enables TLS."},
		{Name: "TEMPORAL_TLS", Used: all, Usage: "true/false: force TLS on or off."},
		{Name: "TEMPORAL_TLS_CLIENT_CERT_PATH", Used: all, Usage: "mTLS client certificate (PEM file)."},
		{Name: "TEMPORAL_TLS_CLIENT_KEY_PATH", Secret: true, Used: all, Usage: "mTLS client key (PEM file)."},
		{Name: "TEMPORAL_TLS_SERVER_CA_CERT_PATH", Used: all, Usage: "CA that signs the server certificate (PEM file)."},
		{Name: "TEMPORAL_TLS_SERVER_NAME", Used: all, Usage: "TLS server name override."},
		{Name: "TEMPORAL_CONFIG_FILE", Used: all, Usage: "Temporal client TOML profile file (envconfig); variables above override it."},
		{Name: "TEMPORAL_PROFILE", Default: "default", Used: all, Usage: "Profile in TEMPORAL_CONFIG_FILE."},
		{Name: EnvPayloadKeysFile, Flag: "payload-keys-file", Used: all, Usage: "File of the payload keyring that encrypts every Temporal payload: id:base64-key lines, * marks the current key (default the first); make one with `starter keys payload`."},
		{Name: EnvPayloadKeys, Secret: true, Used: all, Usage: "The same keyring as text (entries separated by commas or newlines), instead of the file."},
		{Name: EnvCodecOrigin, Flag: "codec-origin", Used: s + " serve", Usage: "Origin (scheme://host[:port]) of the Temporal Web UI that may call the codec server at /codec (CORS); empty allows no browser."},
		{Name: genesys.EnvClientID, Used: w, Usage: "Genesys OAuth client-credentials client ID."},
		{Name: genesys.EnvClientSecret, Secret: true, Used: w, Usage: "Secret of that OAuth client."},
		{Name: genesys.EnvRegion, Used: w, Usage: "Genesys Cloud domain (mypurecloud.ie) or AWS region (eu-west-1)."},
		{Name: genesys.EnvAPIURL, Used: w, Usage: "API base URL instead of the region, e.g. the emulator's."},
		{Name: genesys.EnvRequestsPerMinute, Used: w, Usage: "This process's rate while Genesys reports no rate-limit count; default: fleet budget / replicas."},
		{Name: EnvFleetRequestsPerMin, Flag: "fleet-requests-per-minute", Default: strconv.Itoa(genesys.DefaultRequestsPerMinute), Used: w, Type: "int", Usage: "Genesys requests/minute for the whole worker fleet (one OAuth client)."},
		{Name: EnvWorkerReplicas, Flag: "worker-replicas", Default: "1", Used: w, Type: "int", Usage: "How many worker processes share the fleet budget: each one's share while Genesys reports no count (with the count, shares follow the load)."},
		{Name: EnvExportURL, Flag: "export-url", Default: DefaultExportURL, Used: ws, Usage: "Export store URL: file://, s3://, gs:// or azblob://. The HR API keeps each batch's items there for the workers: give both the same store."},
		{Name: EnvWebhookURL, Flag: "webhook-url", Used: w, Usage: "http(s) URL that receives notifications; empty disables them."},
		{Name: EnvWebhookSecretFile, Flag: "webhook-secret-file", Used: w, Usage: "File of whsec_ secrets (comma, space or line separated; the first signs) that sign notifications the Standard Webhooks way; required with a webhook URL."},
		{Name: EnvWebhookSecret, Secret: true, Used: w, Usage: "The same secrets in the variable, instead of the file."},
		{Name: EnvPublicAPIURL, Flag: "public-api-url", Used: w, Usage: "HR API base URL as receivers reach it; with a decision signing key, approval notifications carry approve and reject links."},
		{Name: EnvApprovalLinkTTL, Flag: "approval-link-ttl", Default: activities.DefaultLinkTTL.String(), Used: w, Type: "duration", Usage: "How long an approval link stays valid (Go duration, at most 24h)."},
		{Name: EnvWorkerAddr, Flag: "worker-addr", Default: DefaultWorkerAddr, Used: w, Usage: "Listen address of /healthz and /metrics (Prometheus); \"off\" disables."},
		{Name: EnvShutdownTimeout, Flag: "shutdown-timeout", Default: DefaultShutdownTimeout.String(), Used: w, Type: "duration", Usage: "How long a stopping worker waits for in-flight activities (Go duration)."},
		{Name: EnvDeploymentName, Flag: "deployment-name", Default: DefaultDeploymentName, Used: w + ", starter deployment", Usage: "Temporal Worker Deployment of the workers (letters, digits, - and _); every build of the worker is a version of it."},
		{Name: EnvBuildID, Flag: "build-id", Used: w, Usage: "This worker's build ID (letters, digits, - _ . +), e.g. its image tag: the worker is then versioned, each offboarding stays on the version it started on, and new runs reach the version once `starter deployment promote` makes it current (docs/operations.md). Empty: unversioned."},
		{Name: EnvPolicyFile, Flag: "policy-file", Used: ws, Usage: "JSON or YAML policy file (keys as below in camelCase); variables override it."},
	}
	for _, s := range workflows.PolicySettings() {
		vars = append(vars, Var{Name: s.Env, Flag: s.Flag, Default: formatValue(s.Field(&d)), Used: ws, Usage: s.Usage, Type: flagType(s.Field(&d))})
	}
	return append(append(vars, []Var{
		{Name: EnvAPIAddr, Flag: "addr", Default: DefaultAPIAddr, Used: s + " serve", Usage: "Listen address of the HR API."},
		{Name: EnvAPITokens, Secret: true, Used: s + " serve", Usage: "Bearer tokens: token:role:identity,... (role hr, approver or auditor)."},
		{Name: EnvAPITokensFile, Flag: "tokens-file", Used: s + " serve", Usage: "File of token:role:identity lines (# comments); adds to " + EnvAPITokens + "."},
		{Name: EnvDecisionSigningKeyFile, Flag: "signing-key-file", Used: ws, Usage: "Ed25519 private key (PEM PKCS#8 or base64 seed) that signs decision credentials (the worker's: approval links); its public key goes in " + workflows.EnvDecisionKeys + "."},
		{Name: EnvDecisionSigningKey, Secret: true, Used: ws, Usage: "The same key as base64 of its 32-byte seed, instead of the file."},
		{Name: EnvEventSecrets, Secret: true, Used: s + " serve", Usage: "Standard Webhooks secrets (whsec_...) that sign HR events to POST /v1/events, comma-separated: the first is the current one, the others still verify (rotation). Unset: no events are taken."},
		{Name: EnvEventSecretsFile, Flag: "event-secrets-file", Used: s + " serve", Usage: "File of those secrets, one a line (# comments), instead of " + EnvEventSecrets + "."},
		{Name: EnvEventTolerance, Flag: "event-tolerance", Default: webhook.DefaultTolerance.String(), Used: s + " serve", Type: "duration", Usage: "Replay window of HR events: how far webhook-timestamp may be from now, either way (Go duration)."},
		{Name: EnvAPIURL, Flag: "api-url", Used: s, Usage: "HR API base URL, from which the CLI obtains decision credentials."},
		{Name: EnvAPIToken, Secret: true, Used: s, Usage: "Your HR API bearer token: the CLI decides as the identity bound to it."},
		{Name: EnvLogLevel, Flag: "log-level", Default: "info", Used: ws, Usage: "debug, info, warn or error."},
		{Name: EnvLogFormat, Flag: "log-format", Default: "json", Used: ws, Usage: "json or text."},
	}...), reconcileVars(w)...)
}

// Env looks variables up; envconfig.EnvLookupOS is the process environment.
type Env = envconfig.EnvLookup

// MapEnv is an Env over a map, for tests.
type MapEnv map[string]string

// LookupEnv returns the value of key.
func (m MapEnv) LookupEnv(key string) (string, bool) { v, ok := m[key]; return v, ok }

// Environ lists the variables as KEY=value.
func (m MapEnv) Environ() []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Source resolves a setting from flags first, then the environment.
type Source struct {
	Env   Env
	Flags *pflag.FlagSet
}

// AddFlags registers the flag of every Var whose name is in names (all when names is empty).
// Flags are typed but without defaults, so that an unset flag falls through to the environment.
func AddFlags(fs *pflag.FlagSet, names ...string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, v := range Vars() {
		if v.Flag == "" || (len(want) > 0 && !want[v.Name]) || fs.Lookup(v.Flag) != nil {
			continue
		}
		usage := v.Usage + " (env " + v.Name
		if v.Default != "" {
			usage += ", default " + v.Default
		}
		usage += ")"
		switch v.Type {
		case "bool":
			fs.Bool(v.Flag, false, usage)
		case "int":
			fs.Int(v.Flag, 0, usage)
		case "float":
			fs.Float64(v.Flag, 0, usage)
		case "duration":
			fs.Duration(v.Flag, 0, usage)
		default:
			fs.String(v.Flag, "", usage)
		}
	}
}

// get returns the setting's value and its label for error messages ("--flag" or "ENV").
// env is the Source's environment: the process's when it has none.
func (s Source) env() Env {
	if s.Env == nil {
		return envconfig.EnvLookupOS
	}
	return s.Env
}

func (s Source) get(name string) (string, string, bool) {
	flag := ""
	for _, v := range Vars() {
		if v.Name == name {
			flag = v.Flag
		}
	}
	if s.Flags != nil && flag != "" {
		if f := s.Flags.Lookup(flag); f != nil && f.Changed {
			return strings.TrimSpace(f.Value.String()), "--" + flag, true
		}
	}
	if v, ok := s.env().LookupEnv(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v), name, true
	}
	return "", name, false
}

// String returns the setting or def.
func (s Source) String(name, def string) string {
	if v, _, ok := s.get(name); ok {
		return v
	}
	return def
}

// temporalConnection is Temporal without the data converter: where and how to connect.
func (s Source) temporalConnection() (client.Options, error) {
	env := s.Env
	if env == nil {
		env = envconfig.EnvLookupOS
	}
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{EnvLookup: env})
	if err != nil {
		return client.Options{}, fmt.Errorf("load Temporal client settings (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE, TEMPORAL_*): %w", err)
	}
	if v, _, ok := s.get("TEMPORAL_ADDRESS"); ok {
		prof.Address = v
	}
	if v, _, ok := s.get("TEMPORAL_NAMESPACE"); ok {
		prof.Namespace = v
	}
	if prof.Address == "" {
		prof.Address = DefaultTemporalAddress
	}
	if prof.Namespace == "" {
		prof.Namespace = DefaultNamespace
	}
	if strings.Contains(prof.Address, "://") {
		return client.Options{}, fmt.Errorf("TEMPORAL_ADDRESS=%q: want host:port without a scheme, e.g. localhost:7233", prof.Address)
	}
	opts, err := prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("Temporal TLS settings (TEMPORAL_TLS_*): %w", err)
	}
	return opts, nil
}

// Genesys reads the Genesys client configuration (GENESYSCLOUD_*) and gives it the fleet's budget.
// When GENESYSCLOUD_REQUESTS_PER_MINUTE is unset, the rate without Genesys's count is the process's
// share of the budget.
func (s Source) Genesys(budget Budget) (genesys.Config, error) {
	cfg, err := genesys.ConfigFromEnv()
	if err != nil {
		return genesys.Config{}, err
	}
	if v, ok := os.LookupEnv(genesys.EnvRequestsPerMinute); !ok || strings.TrimSpace(v) == "" {
		cfg.RequestsPerMinute = budget.PerProcess()
	}
	cfg.FleetRequestsPerMinute = budget.FleetRequestsPerMinute
	return cfg, nil
}

// Budget is the Genesys request budget of the worker fleet.
type Budget struct {
	// FleetRequestsPerMinute is the budget of every worker together: the client's count that
	// Genesys reports stays under it.
	FleetRequestsPerMinute int
	// Replicas is how many worker processes share it while Genesys reports no count.
	Replicas int
}

// PerProcess is one worker's share while Genesys reports no count, at least 1.
func (b Budget) PerProcess() int { return max(1, b.FleetRequestsPerMinute/max(1, b.Replicas)) }

// Budget reads the fleet budget.
func (s Source) Budget() (Budget, error) {
	var errs []error
	b := Budget{
		FleetRequestsPerMinute: s.positiveInt(EnvFleetRequestsPerMin, genesys.DefaultRequestsPerMinute, &errs),
		Replicas:               s.positiveInt(EnvWorkerReplicas, 1, &errs),
	}
	return b, errors.Join(errs...)
}

func (s Source) positiveInt(name string, def int, errs *[]error) int {
	v, label, ok := s.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		*errs = append(*errs, fmt.Errorf("%s=%q: want a positive whole number", label, v))
		return def
	}
	return n
}

// Duration reads a Go duration (e.g. 90s, 5m).
func (s Source) Duration(name string, def time.Duration) (time.Duration, error) {
	v, label, ok := s.get(name)
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return def, fmt.Errorf("%s=%q: want a non-negative duration such as 30s or 5m", label, v)
	}
	return d, nil
}

// URL reads an optional URL setting and checks it has one of the schemes.
func (s Source) URL(name, def string, schemes ...string) (string, error) {
	v, label, ok := s.get(name)
	if !ok {
		return def, nil
	}
	for _, sc := range schemes {
		if strings.HasPrefix(v, sc+"://") && len(v) > len(sc)+3 {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s: want a URL starting with %s://", label, strings.Join(schemes, ":// or "))
}
