package deploy_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys/emulator"
)

// The compose file is valid to a real compose implementation (Debian's docker-compose, which
// needs no engine for `config`), with and without the emulator profile and with the real-org
// env file. CI (CI=true) must have it: .ci/run installs it.
func Test_GivenDockerCompose_ShouldValidateTheComposeFile(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("docker-compose is not installed; CI must validate docker-compose.yml (.ci/run installs Debian's docker-compose)")
		}
		t.Skip("docker-compose is not installed (Debian: apt-get install docker-compose); CI runs this check")
	}
	for _, args := range [][]string{
		{"config", "-q"},
		{"--profile", "emulator", "config", "-q"},
		{"--env-file", "deploy/genesys.env.example", "config", "-q"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = root
		// Only what a plain shell has: no COMPOSE_* or stack variable of the test's environment.
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "docker-compose %s:\n%s", strings.Join(args, " "), out)
	}
}

// oneShot reports whether a service runs to completion (schema setup, registration): another
// service waits for it with service_completed_successfully.
func oneShot(c compose, name string) bool {
	for _, s := range c.Services {
		if d, ok := s.DependsOn[name].(map[string]any); ok && d["condition"] == "service_completed_successfully" {
			return true
		}
	}
	return false
}

// imageTools are the healthcheck tools known to be in each third-party image.
var imageTools = map[string][]string{
	"postgres":          {"CMD-SHELL pg_isready"},
	"temporalio/server": {"CMD-SHELL nc"}, // Alpine: BusyBox nc
	"temporalio/ui":     {"CMD wget"},     // Alpine: BusyBox wget
}

// probes are the health endpoints of Offboard's services, by the binary that serves them, and
// where the code registers each (the emulator's is requested below instead).
var probes = map[string]struct{ path, source, pattern string }{
	"worker":   {"/healthz", "internal/workerproc/workerproc.go", `"GET /healthz"`},
	"starter":  {"/readyz", "starter/hrapi/routes.go", `"/readyz"`},
	"emulator": {"/emulator/v1/faults", "", ""},
}

func Test_GivenTheComposeFile_ShouldHaveAHealthcheckForEveryLongRunningService(t *testing.T) {
	c := load(t)
	commands, _ := cliSurface(t, "starter")
	require.Contains(t, commands, "healthcheck", "the distroless image's probe")
	ports := map[string]string{"worker": "9464", "hr-api": "8080", "genesys-emulator": "9090"}
	for name, s := range c.Services {
		if oneShot(c, name) {
			require.Nil(t, s.Healthcheck, "one-shot service %s", name)
			continue
		}
		require.NotNil(t, s.Healthcheck, "long-running service %s has no healthcheck", name)
		test := s.Healthcheck.Test
		require.GreaterOrEqual(t, len(test), 2, "service %s", name)
		if s.Build == nil {
			repo := strings.Split(interpolate(s.Image), ":")[0]
			tool := test[0] + " " + strings.Fields(test[1])[0]
			require.Contains(t, imageTools[repo], tool, "service %s: %q is not known to be in image %s", name, tool, repo)
			continue
		}
		// The Offboard image is distroless: only its own binaries can probe.
		require.Equal(t, []string{"CMD", "starter", "healthcheck"}, test[:3], "service %s", name)
		require.Len(t, test, 4, "service %s", name)
		u, err := url.Parse(test[3])
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", u.Hostname(), "service %s probes itself", name)
		assert.Equal(t, ports[name], u.Port(), "service %s probes the port it listens on", name)
		p := probes[s.Command[0]]
		assert.Equal(t, p.path, u.Path, "service %s", name)
	}
	for bin, p := range probes {
		if p.source == "" {
			continue
		}
		src, err := os.ReadFile(filepath.Join(root, p.source))
		require.NoError(t, err)
		assert.Contains(t, string(src), p.pattern, "%s no longer serves %s", bin, p.path)
	}
	srv := httptest.NewServer(emulator.New(emulator.Options{Users: 1, Conversations: 1}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + probes["emulator"].path)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the emulator's probe answers without credentials")
}

// The emulator is a stand-in for Genesys: a real org's stack must not start it, so it runs only
// in the emulator profile, and nothing else depends on it or has a profile.
func Test_GivenTheComposeFile_ShouldStartTheEmulatorOnlyInTheEmulatorProfile(t *testing.T) {
	c := load(t)
	emulators := 0
	for name, s := range c.Services {
		if s.Build == nil || s.Command[0] != "emulator" {
			require.Empty(t, s.Profiles, "service %s must start without a profile", name)
			continue
		}
		emulators++
		require.Equal(t, []string{"emulator"}, s.Profiles, "service %s", name)
		for other, o := range c.Services {
			require.NotContains(t, o.DependsOn, name, "service %s depends on the emulator, which a real org's stack lacks", other)
		}
	}
	require.Equal(t, 1, emulators)
}
