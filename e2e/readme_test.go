package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/workflows"
)

// readmeSections are the README sections whose commands must run as written against the
// devstack; the quick start's own two commands are the demo test (devstack/stack) and CI itself.
var readmeSections = []string{"## The HR API", "## HR events", "## Decisions carry a credential"}

// readmeCommands are the shell commands of the sh blocks of section, one per command (a
// trailing backslash or an open single quote continues a line), block by block.
func readmeCommands(t *testing.T, readme, section string) [][]string {
	t.Helper()
	start := strings.Index(readme, section+"\n")
	require.GreaterOrEqual(t, start, 0, "README.md has no section %q", section)
	body := readme[start+len(section):]
	if end := strings.Index(body, "\n## "); end >= 0 {
		body = body[:end]
	}
	var blocks [][]string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(body, -1) {
		var cmds []string
		cur := ""
		for _, line := range strings.Split(m[1], "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.TrimSpace(line) == "" {
				continue
			}
			if rest, ok := strings.CutSuffix(line, "\\"); ok {
				cur += rest
				continue
			}
			// A line that leaves a single quote open continues too.
			if cur += line; strings.Count(cur, "'")%2 == 1 {
				cur += " "
				continue
			}
			cmds = append(cmds, cur)
			cur = ""
		}
		blocks = append(blocks, cmds)
	}
	require.NotEmpty(t, blocks, "section %q has no sh block", section)
	return blocks
}

// expand turns one README command into the commands it stands for: "a|b|c" alternatives run
// one after the other and "[--json]" options are left out.
func expand(cmd string) []string {
	cmd = regexp.MustCompile(`\s*\[[^\]]*\]`).ReplaceAllString(cmd, "")
	alt := regexp.MustCompile(`\b([a-z]+(?:\|[a-z]+)+)\b`)
	m := alt.FindString(cmd)
	if m == "" {
		return []string{cmd}
	}
	var out []string
	for _, one := range orderControls(strings.Split(m, "|")) {
		out = append(out, strings.Replace(cmd, m, one, 1))
	}
	return out
}

// orderControls runs hold before release and cancel last, so that each applies.
func orderControls(alts []string) []string {
	rank := map[string]int{"hold": 0, "release": 1, "cancel": 2}
	out := slices.Clone(alts)
	slices.SortStableFunc(out, func(a, b string) int { return rank[a] - rank[b] })
	return out
}

// The README's API and credential commands, run as written (placeholders filled in) against the
// devstack: a command that no longer works fails here.
func Test_GivenTheREADME_ShouldRunEveryCommandOfItsAPIAndCredentialSections(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	readme := string(raw)
	api := strings.TrimPrefix(stk.APIURL, "http://")
	env := append(os.Environ(), "TEMPORAL_ADDRESS="+stk.Temporal.Address, "TEMPORAL_NAMESPACE="+stk.Temporal.Namespace)
	user := ""
	lastCredential := ""
	ran := 0
	for _, section := range readmeSections {
		for _, block := range readmeCommands(t, readme, section) {
			for _, line := range block {
				if strings.Contains(line, "offboardings") && strings.Contains(line, `"userId"`) || strings.Contains(line, `"genesysUserId"`) || strings.Contains(line, "starter start") {
					user = users.take(t).ID
				}
				for _, cmd := range expand(line) {
					if strings.HasPrefix(strings.TrimSpace(cmd), "temporal ") {
						// The temporal CLI is a separate download that these machines lack; the
						// same update is sent by the e2e four-eyes test through the SDK.
						continue
					}
					if assignments, ok := strings.CutPrefix(cmd, "export "); ok {
						// Each command runs in a shell of its own, so the block's exports go to the env.
						env = append(env, strings.Fields(fill(assignments, api, user, lastCredential))...)
						ran++
						continue
					}
					if needsApprovalStage(cmd) {
						waitStage(t, user, workflows.StageAwaitingApproval)
					}
					out := runReadmeCommand(t, env, fill(cmd, api, user, lastCredential))
					if c := credentialIn(out); c != "" {
						lastCredential = c
					}
					ran++
				}
			}
		}
	}
	require.GreaterOrEqual(t, ran, 10, "the sections' commands ran")
}

// needsApprovalStage reports whether cmd decides or controls, which the run accepts once it
// awaits approval.
func needsApprovalStage(cmd string) bool {
	for _, w := range []string{"/approvals", "/credentials", " approve ", " hold ", " release ", " cancel "} {
		if strings.Contains(cmd, w) {
			return true
		}
	}
	return false
}

// fill puts the stack's address, the user, the last credential, the payload keyring and the built
// starter into cmd.
func fill(cmd, api, user, credential string) string {
	r := strings.NewReplacer("localhost:8080", api, "<uuid>", user, "eyJ...", credential, ".devstack/payload-keys", stk.PayloadKeysPath,
		"go run ./starter", filepath.Join(bins, "starter"), "wd-4711", "readme-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	return r.Replace(cmd)
}

// runReadmeCommand runs cmd with sh and requires success: exit 0, and for curl an HTTP 2xx.
func runReadmeCommand(t *testing.T, env []string, cmd string) string {
	t.Helper()
	isCurl := strings.HasPrefix(strings.TrimSpace(cmd), "curl ")
	if isCurl {
		// Right after curl, since a command may end in a comment.
		cmd = strings.Replace(cmd, "curl ", `curl -w '\n%{http_code}' `, 1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Env = env
	out, err := c.CombinedOutput()
	require.NoError(t, err, "README command failed: %s\n%s", cmd, out)
	text := strings.TrimSpace(string(out))
	if isCurl {
		i := strings.LastIndex(text, "\n")
		require.Positive(t, i, "no status from %s", cmd)
		code, err := strconv.Atoi(text[i+1:])
		require.NoError(t, err)
		require.True(t, code/100 == 2, "README command answered %d: %s\n%s", code, cmd, text[:i])
		text = text[:i]
	}
	return text
}

// credentialIn is the credential an answer carries, if it is the answer of the credentials route.
func credentialIn(out string) string {
	var issued struct {
		Credential string `json:"credential"`
	}
	if json.Unmarshal([]byte(out), &issued) != nil {
		return ""
	}
	return issued.Credential
}
