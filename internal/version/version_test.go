package version

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setBuild sets the linker's variables for one test.
func setBuild(t *testing.T, v, c string) {
	t.Helper()
	oldV, oldC := Version, Commit
	Version, Commit = v, c
	t.Cleanup(func() { Version, Commit = oldV, oldC })
}

func Test_GivenLinkerValues_ShouldReportThemOverTheBuildInfo(t *testing.T) {
	setBuild(t, "v1.2.3", "0123abcd")
	in := Get()
	assert.Equal(t, "v1.2.3", in.Version)
	assert.Equal(t, "0123abcd", in.Commit)
	assert.True(t, strings.HasPrefix(String(), "v1.2.3 (commit 0123abcd"), String())
}

func Test_GivenNoLinkerValues_ShouldStillNameAVersion(t *testing.T) {
	setBuild(t, "", "")
	assert.NotEmpty(t, Get().Version)
	assert.Equal(t, "(devel)", Info{Version: "(devel)"}.String())
	assert.Equal(t, "v1 (commit c, modified)", Info{Version: "v1", Commit: "c", Modified: true}.String())
}

// The image is built with the version and commit as build arguments stamped through the
// linker into this package's variables: a renamed package or variable would silently stamp
// nothing.
func Test_GivenTheDockerfile_ShouldStampVersionAndCommitIntoThisPackage(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	df := string(raw)
	for _, want := range []string{
		"ARG VERSION", "ARG COMMIT",
		"-X github.com/offboard/offboard/internal/version.Version=${VERSION}",
		"-X github.com/offboard/offboard/internal/version.Commit=${COMMIT}",
		"org.opencontainers.image.version=${VERSION}",
	} {
		assert.Contains(t, df, want)
	}
}
