package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys/emulator"
)

// findings are what the checks after the runs found; the test passes when problems is empty.
type findings struct {
	problems []string

	outcomes                                   map[string]int // outcome → runs
	duplicates                                 []string       // side effects that happened more than once
	repeats                                    []string       // unreadable writes a retry made again, harmlessly
	bundlesOK                                  int
	conversations                              int
	calls, status429, jobsCreated, jobsDeleted int
	// killDelay is the longest wait of an activity lost with the killed worker for its next
	// attempt; killRetried counts those activities.
	killDelay   time.Duration
	killRetried int
	// killedExports counts the exports the SIGKILL interrupted.
	killedExports int
}

func (f *findings) problem(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// check verifies what the runs left: every run closed with its outcome and linked history, no
// side effect twice at Genesys, every bundle sound, the run's own and complete.
func (c *cluster) check(ctx context.Context, w *workload, kill *killReport) findings {
	f := findings{outcomes: map[string]int{}}
	for _, r := range w.runs {
		c.checkRun(ctx, r, &f)
	}
	calls, err := c.calls(ctx)
	if err != nil {
		f.problem("read the emulator's call log: %v", err)
	}
	f.duplicates, f.repeats = duplicatedSideEffects(calls)
	for _, d := range f.duplicates {
		f.problem("side effect more than once: %s", d)
	}
	f.calls, f.status429, f.jobsCreated, f.jobsDeleted = tally(calls)
	lost := 0
	if kill != nil {
		c.measureKill(ctx, kill, &f)
		lost = kill.exports()
	}
	f.killedExports = lost
	// Only a crash leaves jobs behind: those an export lost with the killed worker had made since
	// its last checkpoint reached the server, its current window's and the lookahead's at most.
	if left := f.jobsCreated - f.jobsDeleted; left > 2*lost {
		f.problem("%d analytics jobs left undeleted at Genesys; a crash accounts for %d at most (2 for each of the %d exports it interrupted)", left, 2*lost, lost)
	}
	return f
}

// checkRun checks one run: closed completed, the outcome its disposition wants, history linked,
// and its bundle verified against the run's digest and the emulator's own count.
func (c *cluster) checkRun(ctx context.Context, r *offboarding, f *findings) {
	f.outcomes[string(r.outcome)]++
	if r.outcome != r.want() {
		f.problem("%s (%s) ended %q, want %q: %v", r.user.ID, r.disposition, r.outcome, r.want(), r.status.Notes)
		return
	}
	d, err := c.tc.DescribeWorkflowExecution(ctx, r.workflowID, "")
	if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		f.problem("%s: the run is not completed in Temporal (%v, %v)", r.user.ID, d.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	st := r.status
	if st.Verification == nil || !st.Verification.Linked {
		f.problem("%s: history not proven linked: %+v", r.user.ID, st.Verification)
	}
	if st.Export == nil {
		f.problem("%s: no export in the status", r.user.ID)
		return
	}
	rep, err := bundle.VerifyURL(ctx, st.Export.ManifestURL)
	switch {
	case err != nil:
		f.problem("%s: verify the bundle: %v", r.user.ID, err)
		return
	case !rep.OK() || rep.Manifest == nil:
		f.problem("%s: bundle unsound: %v", r.user.ID, rep.Problems)
		return
	case rep.Manifest.ManifestSHA256 != st.Export.ManifestSHA256:
		f.problem("%s: the bundle's digest %s is not the run's %s", r.user.ID, rep.Manifest.ManifestSHA256, st.Export.ManifestSHA256)
		return
	}
	truth, err := c.conversationCount(ctx, r.user.ID, rep.Manifest.Window)
	if err != nil {
		f.problem("%s: %v", r.user.ID, err)
		return
	}
	if rep.Conversations != truth {
		f.problem("%s: the bundle holds %d conversations, the emulator has %d in %v", r.user.ID, rep.Conversations, truth, rep.Manifest.Window)
		return
	}
	f.bundlesOK++
	f.conversations += rep.Conversations
}

// conversationCount asks the emulator how many conversations the user took part in within w:
// the truth the bundle is checked against, apart from the worker's own count.
func (c *cluster) conversationCount(ctx context.Context, userID string, w bundle.Window) (int, error) {
	q := url.Values{"start": {w.Start.UTC().Format(time.RFC3339Nano)}, "end": {w.End.UTC().Format(time.RFC3339Nano)}}
	var out struct{ Count int }
	if err := c.emulatorJSON(ctx, "/emulator/v1/users/"+url.PathEscape(userID)+"/conversations/count?"+q.Encode(), &out); err != nil {
		return 0, err
	}
	return out.Count, nil
}

// calls reads the emulator's call log.
func (c *cluster) calls(ctx context.Context) ([]emulator.Call, error) {
	var calls []emulator.Call
	return calls, c.emulatorJSON(ctx, "/emulator/v1/calls", &calls)
}

func (c *cluster) emulatorJSON(ctx context.Context, path string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.emulatorURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(dst)
}

// readsByPost are the POST paths (by suffix) that change nothing at Genesys: queries, searches,
// logins, and the creation of analytics jobs, which an export may redo after a crash and which
// the bundle checks cover (a conversation in two jobs would be in the bundle twice).
var readsByPost = []string{"/analytics/conversations/details/query", "/analytics/conversations/details/jobs", "/users/search", "/oauth/token"}

// targetInBody are the POST paths (by suffix) whose target is named in the body, not the path:
// removing a user from a queue posts the user to the queue's members.
var targetInBody = []string{"/members"}

// unreadable are the writes (method and path prefix) that Genesys offers no read-back for, so a
// step retried after a crash between the call and its completion makes them again: revoking a
// user's tokens. A repeat changes nothing (a user whose tokens are revoked has none to lose), so
// it is counted apart, not as a duplicate.
var unreadable = []string{http.MethodDelete + " /api/v2/tokens/"}

// duplicatedSideEffects lists every accepted (2xx) call that changes something and happened more
// than once to the same target, such as a user deleted twice or a station disassociated twice,
// and apart from them the repeats of unreadable writes. The target is the method and path (every
// write of an offboarding names its user in the path), and the body where the path does not name
// it. A write repeated with another body, such as a state change with a newer version, still
// counts: every step reads first and writes only what differs, so one offboarding makes each
// write once.
func duplicatedSideEffects(calls []emulator.Call) (duplicates, repeats []string) {
	seen := map[string]int{}
	for _, c := range calls {
		if c.Status < 200 || c.Status > 299 || c.Method == http.MethodGet || c.Method == http.MethodHead {
			continue
		}
		if c.Method == http.MethodPost && slices.ContainsFunc(readsByPost, suffixOf(c.Path)) {
			continue
		}
		target := c.Method + " " + c.Path
		if c.Method == http.MethodPost && slices.ContainsFunc(targetInBody, suffixOf(c.Path)) {
			target += " body " + c.BodySHA256
		}
		seen[target]++
	}
	for k, n := range seen {
		if n < 2 {
			continue
		}
		if line := fmt.Sprintf("%s ×%d", k, n); slices.ContainsFunc(unreadable, func(p string) bool { return strings.HasPrefix(k, p) }) {
			repeats = append(repeats, line)
		} else {
			duplicates = append(duplicates, line)
		}
	}
	sort.Strings(duplicates)
	sort.Strings(repeats)
	return duplicates, repeats
}

// suffixOf matches the suffixes that path ends with.
func suffixOf(path string) func(string) bool {
	return func(suffix string) bool { return strings.HasSuffix(path, suffix) }
}

// tally counts the Genesys calls, those answered 429, and the analytics jobs created and deleted.
func tally(calls []emulator.Call) (total, limited, created, deleted int) {
	const jobs = "/analytics/conversations/details/jobs"
	for _, c := range calls {
		total++
		ok := c.Status >= 200 && c.Status <= 299
		switch {
		case c.Status == http.StatusTooManyRequests:
			limited++
		case ok && c.Method == http.MethodPost && strings.HasSuffix(c.Path, jobs):
			created++
		case ok && c.Method == http.MethodDelete && strings.Contains(c.Path, jobs+"/"):
			deleted++
		}
	}
	return total, limited, created, deleted
}

// killSlack is how much longer than its heartbeat timeout an activity lost with a killed worker
// may wait for its next attempt: the retry's first backoff (1 s) and a task dispatch.
const killSlack = 20 * time.Second

// measureKill finds, in the histories, when each activity lost with the killed worker started
// again, keeps the longest wait, and requires each within the timeout that notices the loss and
// killSlack: its heartbeat timeout, or for one that does not heartbeat its start-to-close timeout.
func (c *cluster) measureKill(ctx context.Context, kill *killReport, f *findings) {
	for _, a := range kill.lost {
		attempt, err := c.lastAttempt(ctx, a)
		if err != nil {
			f.problem("the history of %s: %v", a.workflowID, err)
			continue
		}
		if attempt.number < 2 {
			continue // it finished before the kill took effect
		}
		delay := attempt.started.Sub(kill.at)
		f.killRetried++
		f.killDelay = max(f.killDelay, delay)
		if delay > attempt.lossNoticed()+killSlack {
			f.problem("%s of %s started again %v after the SIGKILL: more than its timeout %v", a.activityType, a.workflowID, delay, attempt.lossNoticed())
		}
	}
}

// attempt is an activity's last attempt as the history records it.
type attempt struct {
	number                             int32
	started                            time.Time
	heartbeatTimeout, startToCloseTime time.Duration
}

// lossNoticed is how long Temporal takes at most to notice that the attempt's worker is gone.
func (a attempt) lossNoticed() time.Duration {
	if a.heartbeatTimeout > 0 {
		return a.heartbeatTimeout
	}
	return a.startToCloseTime
}

// lastAttempt reads the activity's last attempt and its timeouts from the run's history.
func (c *cluster) lastAttempt(ctx context.Context, a inFlight) (attempt, error) {
	it := c.tc.GetWorkflowHistory(ctx, a.workflowID, a.runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var scheduled int64
	var out attempt
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return out, err
		}
		if s := e.GetActivityTaskScheduledEventAttributes(); s != nil && s.GetActivityId() == a.activityID {
			scheduled, out.heartbeatTimeout, out.startToCloseTime = e.GetEventId(), s.GetHeartbeatTimeout().AsDuration(), s.GetStartToCloseTimeout().AsDuration()
		}
		if s := startedOf(e, scheduled); s != nil {
			out.number, out.started = s.GetAttempt(), e.GetEventTime().AsTime()
			return out, nil
		}
	}
	return out, fmt.Errorf("no start of activity %s (%s) recorded", a.activityID, a.activityType)
}

func startedOf(e *historypb.HistoryEvent, scheduled int64) *historypb.ActivityTaskStartedEventAttributes {
	s := e.GetActivityTaskStartedEventAttributes()
	if s == nil || scheduled == 0 || s.GetScheduledEventId() != scheduled {
		return nil
	}
	return s
}
