// Package docs holds the project's documentation; its test keeps the links inside the repository.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// Test_GivenTheREADMEAndDocs_ShouldLinkOnlyToFilesInTheRepository guards the docs a user of the
// repository reads: every relative link resolves to a file that is there, and none leaves the tree.
func Test_GivenTheREADMEAndDocs_ShouldLinkOnlyToFilesInTheRepository(t *testing.T) {
	pages, err := filepath.Glob("*.md")
	require.NoError(t, err)
	pages = append(pages, "../README.md")
	require.GreaterOrEqual(t, len(pages), 4, "README.md and the pages in docs/")
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	for _, page := range pages {
		text, err := os.ReadFile(page)
		require.NoError(t, err)
		for _, m := range mdLink.FindAllStringSubmatch(string(text), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, _, _ := strings.Cut(target, "#")
			abs, err := filepath.Abs(filepath.Join(filepath.Dir(page), file))
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(abs, root+string(filepath.Separator)), "%s links outside the repository: %s", page, target)
			_, err = os.Stat(abs)
			assert.NoError(t, err, "%s links to a missing file: %s", page, target)
		}
	}
}
