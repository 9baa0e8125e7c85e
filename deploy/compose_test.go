package deploy_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	enumspb "go.temporal.io/api/enums/v1"
	"go.yaml.in/yaml/v3"

	"github.com/offboard/offboard/devstack/defaults"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/workflows"
)

// root is the repository root, where docker-compose.yml and the Dockerfile live.
const root = ".."

type compose struct {
	Services map[string]service `yaml:"services"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
	Volumes map[string]any `yaml:"volumes"`
}

type service struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]any    `yaml:"depends_on"`
	Secrets     []string          `yaml:"secrets"`
	Profiles    []string          `yaml:"profiles"`
	Restart     string            `yaml:"restart"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

func load(t *testing.T) compose {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	var c compose
	require.NoError(t, yaml.Unmarshal(raw, &c))
	require.NotEmpty(t, c.Services)
	return c
}

// interpolate resolves ${VAR}, ${VAR-def} and ${VAR:-def} as docker compose does with an empty
// environment, so the test sees the defaults a plain `docker compose up` uses.
func interpolate(s string) string {
	re := regexp.MustCompile(`\$\{([A-Z0-9_]+)(:?-([^}]*))?\}`)
	return re.ReplaceAllString(s, "$3")
}

// builtBinaries returns the binaries the Dockerfile builds, from its `go build ... ./pkg` line.
func builtBinaries(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	var bins []string
	joined := strings.ReplaceAll(string(raw), "\\\n", " ") // continued lines are one command
	for _, m := range regexp.MustCompile(`go build[^\n]*?((?:\s+\./[a-z]+)+)`).FindAllStringSubmatch(joined, -1) {
		for _, pkg := range strings.Fields(m[1]) {
			bins = append(bins, strings.TrimPrefix(pkg, "./"))
		}
	}
	require.NotEmpty(t, bins, "the Dockerfile builds no ./<pkg>")
	return bins
}

// cliSurface returns the cobra subcommand names (first word of each Use:) and the flag names
// (string literals passed to flag-defining calls) declared in a main package's sources.
func cliSurface(t *testing.T, dir string) (commands, flags []string) {
	t.Helper()
	fset := token.NewFileSet()
	sources, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
	require.NoError(t, err)
	flagFuncs := regexp.MustCompile(`^(String|Bool|Int|Int64|Duration|StringSlice|Float64)(Var)?(P)?$`)
	for _, src := range sources {
		if strings.HasSuffix(src, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, src, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Use" {
					if lit, ok := n.Value.(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(lit.Value)
						commands = append(commands, strings.Fields(s + " ")[0])
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || !flagFuncs.MatchString(sel.Sel.Name) {
					return true
				}
				for _, a := range n.Args {
					if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, _ := strconv.Unquote(lit.Value)
						flags = append(flags, s)
						break
					}
				}
			}
			return true
		})
	}
	return commands, flags
}

// ourServices are the services built from the Dockerfile, by name.
func ourServices(c compose) map[string]service {
	out := map[string]service{}
	for name, s := range c.Services {
		if s.Build != nil {
			out[name] = s
		}
	}
	return out
}

func Test_GivenTheComposeFile_ShouldRunOnlyCommandsTheBinariesHave(t *testing.T) {
	c := load(t)
	bins := builtBinaries(t)
	ours := ourServices(c)
	require.Len(t, ours, 3, "worker, HR API and emulator are built from the Dockerfile")
	for name, s := range ours {
		require.NotEmpty(t, s.Command, "service %s has no command", name)
		bin := s.Command[0]
		require.Contains(t, bins, bin, "service %s runs %s, which the Dockerfile does not build", name, bin)
		require.FileExists(t, filepath.Join(root, bin, "main.go"))
		commands, flags := cliSurface(t, bin)
		for _, arg := range s.Command[1:] {
			switch {
			case strings.HasPrefix(arg, "--"):
				require.Contains(t, flags, strings.TrimPrefix(arg, "--"), "service %s: %s has no flag %s", name, bin, arg)
			case arg == s.Command[1]:
				require.Contains(t, commands, arg, "service %s: %s has no subcommand %q", name, bin, arg)
			}
		}
	}
	require.Equal(t, []string{"worker"}, ours["worker"].Command)
	require.Equal(t, []string{"starter", "serve"}, ours["hr-api"].Command)
	require.Equal(t, "emulator", ours["genesys-emulator"].Command[0])
}

func Test_GivenTheComposeFile_ShouldSetOnlyVariablesTheBinariesRead(t *testing.T) {
	c := load(t)
	used := map[string]string{}
	for _, v := range config.Vars() {
		used[v.Name] = v.Used
	}
	// Which config.Var.Used mentions each service's binary.
	role := map[string]string{"worker": "worker", "hr-api": "starter", "genesys-emulator": "emulator"}
	for name, s := range ourServices(c) {
		r, ok := role[name]
		require.True(t, ok, "service %s is new: say which binary role it has", name)
		for key := range s.Environment {
			u, known := used[key]
			require.True(t, known, "service %s sets %s, which no binary reads (internal/config.Vars)", name, key)
			require.Contains(t, u, r, "service %s sets %s, which only %s reads", name, key, u)
		}
	}
	for _, key := range []string{"TEMPORAL_ADDRESS", "GENESYSCLOUD_OAUTHCLIENT_ID", "GENESYSCLOUD_OAUTHCLIENT_SECRET", config.EnvExportURL} {
		require.Contains(t, c.Services["worker"].Environment, key)
	}
	require.Contains(t, c.Services["hr-api"].Environment, config.EnvAPITokensFile)
	// The HR API stores a batch's items where the workers read them.
	api, worker := c.Services["hr-api"], c.Services["worker"]
	require.Equal(t, worker.Environment[config.EnvExportURL], api.Environment[config.EnvExportURL])
	require.Contains(t, api.Volumes, "exports:/var/lib/offboard/exports")
	require.Contains(t, worker.Volumes, "exports:/var/lib/offboard/exports")
}

func Test_GivenTheComposeFile_ShouldPublishThePortsTheCodeListensOn(t *testing.T) {
	c := load(t)
	port := func(addr string) int {
		_, p, err := net.SplitHostPort(addr)
		require.NoError(t, err, addr)
		n, err := strconv.Atoi(p)
		require.NoError(t, err, addr)
		return n
	}
	published := func(svc string) map[int]int { // container port -> host port
		out := map[int]int{}
		for _, p := range publishedPorts(t, c, svc) {
			out[p.container] = p.host
		}
		return out
	}

	// Temporal and its UI are where the devstack puts them.
	require.Equal(t, defaults.TemporalPort, published("temporal")[defaults.TemporalPort])
	require.Contains(t, slices.Collect(func(yield func(int) bool) {
		for _, h := range published("temporal-ui") {
			yield(h)
		}
	}), defaults.UIPort)
	for _, svc := range []string{"worker", "hr-api", "temporal-setup"} {
		addr := c.Services[svc].Environment["TEMPORAL_ADDRESS"]
		require.Equal(t, "temporal", strings.Split(addr, ":")[0], svc)
		require.Equal(t, defaults.TemporalPort, port(addr), svc)
	}

	// Worker metrics and HR API listen on their config defaults, published unchanged.
	w := port(c.Services["worker"].Environment[config.EnvWorkerAddr])
	require.Equal(t, port(config.DefaultWorkerAddr), w)
	require.Equal(t, defaults.MetricsPort, w)
	require.Equal(t, w, published("worker")[w])
	a := port(c.Services["hr-api"].Environment[config.EnvAPIAddr])
	require.Equal(t, port(config.DefaultAPIAddr), a)
	require.Equal(t, defaults.APIPort, a)
	require.Equal(t, a, published("hr-api")[a])

	// The emulator listens where the worker's default API URL points.
	em := c.Services["genesys-emulator"].Command
	i := slices.Index(em, "--addr")
	require.GreaterOrEqual(t, i, 0, "the emulator's --addr is explicit")
	e := port(em[i+1])
	require.Equal(t, defaults.EmulatorPort, e)
	require.Empty(t, published("genesys-emulator"), "the emulator's port also serves its inspection API")
	u, err := url.Parse(interpolate(c.Services["worker"].Environment["GENESYSCLOUD_API_URL"]))
	require.NoError(t, err)
	require.Equal(t, "genesys-emulator", u.Hostname())
	require.Equal(t, strconv.Itoa(e), u.Port())
}

// binding is one entry of a service's ports: bind address, host port, container port.
type binding struct {
	raw             string
	ip              net.IP
	host, container int
}

// publishedPorts reads svc's ports as `docker compose up` with an empty environment publishes them.
func publishedPorts(t *testing.T, c compose, svc string) []binding {
	t.Helper()
	var out []binding
	for _, raw := range c.Services[svc].Ports {
		parts := strings.Split(interpolate(raw), ":")
		require.Len(t, parts, 3, "service %s port %q: want address:host:container", svc, raw)
		p := binding{raw: raw, ip: net.ParseIP(parts[0])}
		require.NotNil(t, p.ip, "service %s port %q: the address is not an IP", svc, raw)
		var err error
		p.host, err = strconv.Atoi(parts[1])
		require.NoError(t, err)
		p.container, err = strconv.Atoi(parts[2])
		require.NoError(t, err)
		out = append(out, p)
	}
	return out
}

// Nothing is reachable from other machines unless the operator says so.
func Test_GivenTheComposeFile_ShouldPublishEveryPortOnLoopbackUnlessConfigured(t *testing.T) {
	c := load(t)
	bindVar := map[string]string{"temporal": "TEMPORAL_BIND_ADDRESS", "temporal-ui": "TEMPORAL_BIND_ADDRESS",
		"worker": "OFFBOARD_BIND_ADDRESS", "hr-api": "OFFBOARD_BIND_ADDRESS"}
	for name := range c.Services {
		for _, p := range publishedPorts(t, c, name) {
			require.True(t, p.ip.IsLoopback(), "service %s publishes %q beyond loopback by default", name, p.raw)
			v, ok := bindVar[name]
			require.True(t, ok, "service %s is new to publishing: say which bind variable it follows", name)
			require.True(t, strings.HasPrefix(p.raw, "${"+v+":-127.0.0.1}:"), "service %s port %q: want ${%s:-127.0.0.1}:...", name, p.raw, v)
		}
	}
	for name, v := range bindVar {
		require.NotEmpty(t, c.Services[name].Ports, "service %s publishes nothing", name)
		require.NotContains(t, interpolate(strings.Join(c.Services[name].Ports, " ")), "0.0.0.0", v)
	}
	for name, s := range ourServices(c) {
		if s.Command[0] == "emulator" {
			require.Empty(t, s.Ports, "service %s: the emulator's port serves its inspection API (/emulator/v1/) too: never publish it", name)
		}
	}
}

// uiDisabled are the Temporal UI actions the stacks turn off, by ui-server config field: a
// terminated or reset run restores nothing and writes no audit record.
var uiDisabled = []string{"WorkflowTerminateDisabled", "WorkflowResetDisabled", "BatchActionsDisabled"}

func Test_GivenTheTemporalUI_ShouldHaveTerminateAndResetDisabledInComposeAndDevstack(t *testing.T) {
	c := load(t)
	ui := c.Services["temporal-ui"]
	dir := uiServerDir(t)
	require.Equal(t, "temporalio/ui:"+strings.TrimPrefix(filepath.Base(dir), "v2@v"), interpolate(ui.Image),
		"compose runs the UI version whose config template this test reads")
	template, err := os.ReadFile(filepath.Join(dir, "config", "docker.yaml"))
	require.NoError(t, err)
	devstack := trueFields(t, filepath.Join(root, "devstack", "stack", "ui.go"), "uiconfig", "Config")
	cfg := reflect.TypeFor[uiconfig.Config]()
	for _, name := range uiDisabled {
		f, ok := cfg.FieldByName(name)
		require.True(t, ok, "ui-server's config has no %s", name)
		key := f.Tag.Get("yaml")
		m := regexp.MustCompile(`(?m)^` + key + `: \{\{ env "([A-Z_]+)"`).FindStringSubmatch(string(template))
		require.NotNil(t, m, "the UI image reads no variable for %s", key)
		require.Equal(t, "true", ui.Environment[m[1]], "compose's temporal-ui must set %s=true", m[1])
		require.Contains(t, devstack, name, "devstack/stack/ui.go must set %s: true", name)
	}
}

// uiServerDir is where the Go module cache holds the ui-server module go.mod requires.
func uiServerDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/temporalio/ui-server/v2").Output()
	require.NoError(t, err)
	dir := strings.TrimSpace(string(out))
	require.DirExists(t, dir)
	return dir
}

// trueFields returns the fields set to true in the composite literals of pkg.typ in file.
func trueFields(t *testing.T, file, pkg, typ string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	require.NoError(t, err)
	var fields []string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		if sel, ok := lit.Type.(*ast.SelectorExpr); !ok || sel.Sel.Name != typ || fmt.Sprint(sel.X) != pkg {
			return true
		}
		for _, e := range lit.Elts {
			kv, _ := e.(*ast.KeyValueExpr)
			if kv != nil && fmt.Sprint(kv.Value) == "true" {
				fields = append(fields, fmt.Sprint(kv.Key))
			}
		}
		return true
	})
	require.NotEmpty(t, fields, "%s has no %s.%s literal", file, pkg, typ)
	return fields
}

func Test_GivenTheComposeSetup_ShouldRegisterTheSearchAttributesTheWorkflowUses(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "temporal", "register.sh"))
	require.NoError(t, err)
	got := map[string]enumspb.IndexedValueType{}
	for _, m := range regexp.MustCompile(`(?m)^add (\S+) (\S+)$`).FindAllStringSubmatch(string(raw), -1) {
		typ, err := enumspb.IndexedValueTypeFromString(m[2])
		require.NoError(t, err, "search attribute %s type %s", m[1], m[2])
		got[m[1]] = typ
	}
	require.Equal(t, workflows.SearchAttributes(), got)

	c := load(t)
	setup := c.Services["temporal-setup"]
	require.Contains(t, setup.Command, "/offboard/register.sh")
	require.Contains(t, setup.Volumes, "./deploy/temporal:/offboard:ro")
	for _, svc := range []string{"worker", "hr-api"} {
		require.Contains(t, c.Services[svc].DependsOn, "temporal-setup", "%s must wait for the search attributes", svc)
	}
}

func Test_GivenTheComposeFile_ShouldReferenceOnlyFilesThatExist(t *testing.T) {
	c := load(t)
	for name, s := range c.Services {
		for dep := range s.DependsOn {
			require.Contains(t, c.Services, dep, "service %s depends on unknown %s", name, dep)
		}
		for _, sec := range s.Secrets {
			require.Contains(t, c.Secrets, sec, "service %s uses unknown secret %s", name, sec)
		}
		for _, v := range s.Volumes {
			src := strings.Split(v, ":")[0]
			if strings.HasPrefix(src, "./") {
				require.DirExists(t, filepath.Join(root, src), "service %s mounts %s", name, src)
			} else {
				require.Contains(t, c.Volumes, src, "service %s uses undeclared volume %s", name, src)
			}
		}
		for _, arg := range append(append([]string{}, s.Entrypoint...), s.Command...) {
			if rest, ok := strings.CutPrefix(arg, "/offboard/"); ok {
				require.FileExists(t, filepath.Join(root, "deploy", "temporal", rest))
			}
		}
	}
	for name, sec := range c.Secrets {
		require.FileExists(t, filepath.Join(root, interpolate(sec.File)), "secret %s", name)
	}
	dyn := c.Services["temporal"].Environment["DYNAMIC_CONFIG_FILE_PATH"]
	require.FileExists(t, filepath.Join(root, "deploy", "temporal", "dynamicconfig", filepath.Base(dyn)))
}

// The example tokens must be accepted by the HR API's own parser, or `docker compose up` fails.
func Test_GivenTheExampleTokens_ShouldParse(t *testing.T) {
	src := config.Source{Env: config.MapEnv{config.EnvAPITokensFile: filepath.Join(root, "deploy", "api-tokens.example")}}
	toks, err := src.Tokens()
	require.NoError(t, err)
	roles := map[config.Role]bool{}
	for _, tok := range toks {
		roles[tok.Role] = true
	}
	require.Equal(t, map[config.Role]bool{config.RoleHR: true, config.RoleApprover: true, config.RoleAuditor: true}, roles)
}

// The example signing key and the public key compose gives the workers must be a pair, or every
// decision in the compose stack is refused; and both services must trust that one key.
func Test_GivenTheExampleSigningKey_ShouldMatchTheDecisionKeysOfEveryService(t *testing.T) {
	c := load(t)
	path := filepath.Join(root, interpolate(c.Secrets["decision-signing-key"].File))
	signer, err := config.Source{Env: config.MapEnv{config.EnvDecisionSigningKeyFile: path}}.Signer("compose")
	require.NoError(t, err)
	require.NotNil(t, signer)
	want := credential.EncodePublicKey(signer.PublicKey())
	for _, svc := range []string{"worker", "hr-api"} {
		assert.Equal(t, want, interpolate(c.Services[svc].Environment[workflows.EnvDecisionKeys]), "%s's %s", svc, workflows.EnvDecisionKeys)
	}
	assert.Equal(t, "/run/secrets/decision-signing-key", c.Services["hr-api"].Environment[config.EnvDecisionSigningKeyFile])
	assert.NotContains(t, c.Services["worker"].Environment, config.EnvDecisionSigningKeyFile, "the worker never holds the signing key")
}
