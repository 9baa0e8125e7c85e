package workflows_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/workflows"
)

// callsRunsPerWorker is how many offboardings one benchmark iteration runs on one worker (one
// Genesys client, one Activities), one after another: the token and the permission check are
// the worker's, so their share of a run depends on it.
const callsRunsPerWorker = 3

// callsUsers and callsConversations seed the emulator so that each of the first
// callsRunsPerWorker users has about 120 conversations over 3 years, as in issue 14.
const (
	callsUsers         = 10
	callsConversations = 1050
)

// Call classes of the emulator's call log.
const (
	classToken        = "token"
	classPermission   = "permission"
	classUser         = "user"
	classAvailability = "job-availability"
	classJobCreate    = "job-create"
	classJobStatus    = "job-status"
	classJobResults   = "job-results"
	classJobDelete    = "job-delete"
	classQuery        = "count-query"
)

var (
	jobPath   = regexp.MustCompile(`^/api/v2/analytics/conversations/details/jobs/[^/]+$`)
	rolesPath = regexp.MustCompile(`^/api/v2/authorization/roles/[^/]+$`)
)

// classify names the class of one logged Genesys call.
func classify(c emulator.Call) string {
	const jobs = "/api/v2/analytics/conversations/details/jobs"
	switch {
	case c.Path == "/oauth/token":
		return classToken
	case c.Path == "/api/v2/tokens/me" || strings.HasPrefix(c.Path, "/api/v2/oauth/clients/") || rolesPath.MatchString(c.Path):
		return classPermission
	case c.Path == "/api/v2/analytics/conversations/details/query":
		return classQuery
	case c.Path == jobs+"/availability":
		return classAvailability
	case c.Path == jobs && c.Method == "POST":
		return classJobCreate
	case strings.HasSuffix(c.Path, "/results"):
		return classJobResults
	case jobPath.MatchString(c.Path) && c.Method == "DELETE":
		return classJobDelete
	case jobPath.MatchString(c.Path):
		return classJobStatus
	}
	return classUser
}

// callsFixture is one worker against one emulator: the real activities through the SDK client.
type callsFixture struct {
	em    *emulator.Emulator
	a     *activities.Activities
	users []string
}

// newCallsFixture serves a fresh emulator whose clock, like the activities', is the workflows'
// start time.
func newCallsFixture(b *testing.B) *callsFixture {
	b.Helper()
	em := emulator.New(emulator.Options{Seed: 14, Users: callsUsers, Conversations: callsConversations,
		RequestsPerMinute: -1, Now: func() time.Time { return start }})
	srv := httptest.NewServer(em)
	b.Cleanup(srv.Close)
	f := &callsFixture{em: em}
	for _, u := range em.SeedUsers()[:callsRunsPerWorker] {
		f.users = append(f.users, u.ID)
	}
	ctx := context.Background()
	store, err := bundle.Open(ctx, "file://"+filepath.Join(b.TempDir(), "exports"))
	require.NoError(b, err)
	b.Cleanup(func() { _ = store.Close() })
	em.Reset()
	g, err := genesys.New(ctx, genesys.Config{ClientID: emulator.DevClientID, ClientSecret: emulator.DevClientSecret,
		APIURL: srv.URL, RequestsPerMinute: 1 << 20}, genesys.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(b, err)
	f.a = &activities.Activities{Genesys: g, Store: store, Now: func() time.Time { return start }}
	return f
}

// offboard runs one offboarding of user with the real activities and returns how long its
// export took.
func (f *callsFixture) offboard(b *testing.B, user string, disposition workflows.Disposition, lookback time.Duration) time.Duration {
	policy := testPolicy()
	policy.ExportLookback = lookback
	w := newFixture(b, policy)
	w.real, w.user = f.a, user
	w.env.SetTestTimeout(time.Hour)
	w.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.WorkflowID(user), TaskQueue: workflows.TaskQueue})
	var exportStart time.Time
	var exportTime time.Duration
	w.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "ExportInteractions" {
			exportStart = time.Now()
		}
	})
	w.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == "ExportInteractions" {
			exportTime = time.Since(exportStart)
		}
	})
	req := archiveRequest()
	if disposition == workflows.DispositionDelete {
		req = deleteRequest()
		w.approveWhenAwaiting()
	}
	req.UserID = user
	want := workflows.OutcomeArchived
	if disposition == workflows.DispositionDelete {
		want = workflows.OutcomeDeleted
	}
	res, err := w.run(req)
	if err != nil || res.Outcome != want {
		for _, h := range w.status().History {
			b.Logf("%s %s %s", h.At, h.Stage, h.Detail)
		}
		b.Fatalf("%s of %s: outcome %s, error %v", disposition, user, res.Outcome, err)
	}
	return exportTime
}

// approveWhenAwaiting approves the run once it awaits approval, looking every minute of workflow
// time: the real activities take wall time, which the test environment's clock does not follow.
func (f *fixture) approveWhenAwaiting() {
	f.at(time.Minute, func() {
		if f.status().Stage == workflows.StageAwaitingApproval {
			f.update(workflows.UpdateApprove, decide("alice"))
			return
		}
		f.approveWhenAwaiting()
	})
}

// callsMinimum is the least number of Genesys calls one run needs, by class (see
// BenchmarkGenesysCalls).
func callsMinimum(byClass map[string]float64, roles int, conversations, days float64, runs int) map[string]float64 {
	perWorker := 1 / float64(runs)
	const resultsPage, queryPage, jobs = 1000, 100, 1 // largest results page; query page; one job over the whole lookback
	pages := max(1, math.Ceil(conversations/resultsPage))
	// Each count (the export's and the final verification's): whole UTC days at 31 days a query,
	// and the partial day at either end paged.
	count := math.Ceil(days/31) + 2*max(1, math.Ceil(conversations/days/queryPage))
	return map[string]float64{
		classToken:        perWorker,
		classPermission:   float64(2+roles) * perWorker,
		classUser:         byClass[classUser],
		classAvailability: 1,
		classJobCreate:    jobs,
		classJobStatus:    jobs,
		classJobResults:   jobs * pages,
		classJobDelete:    jobs,
		classQuery:        2 * count,
	}
}

// BenchmarkGenesysCalls counts the Genesys calls of whole offboardings: the Offboarding workflow
// in the Temporal test environment with the real activities, against the emulator through the
// official SDK. One iteration runs callsRunsPerWorker offboardings (different users, about 120
// conversations each over 3 years) on one worker, and reports per run the calls, the calls of
// each class of the emulator's call log, the defined minimum, their ratio (calls/min, goal
// <= 1.2), and the wall time of one export (export-s; the emulator's jobs are done at their
// third status poll) and the analytics jobs left undeleted at the emulator (jobs-left, goal 0).
//
// The minimum is the least number of calls the same work needs, per run, computed from the
// inputs:
//   - token: one login per worker, whose token lives a day: 1/runs;
//   - permission: one check per worker per few minutes (tokens/me, the OAuth client, one read
//     per role it holds, counted in the log): (2+roles)/runs;
//   - user: the reads and writes of the user and their access that the steps need (snapshot,
//     each revoking step's read, change and read-back, deactivation or deletion, verification),
//     taken as the run made them: this work is not what the benchmark is about;
//   - export: one availability check; one job over the whole lookback (Genesys documents no
//     limit on a job's interval), with one create, one status poll, one delete and its results
//     pages at the largest page size the API takes (1000);
//   - count: the export's count check and the final verification each query the interval at
//     31 days a query (the query API's limit with a filter), whole UTC days by totalHits, and
//     page the partial day at either end at 100 a page.
func BenchmarkGenesysCalls(b *testing.B) {
	year := 365 * 24 * time.Hour
	for _, disposition := range []workflows.Disposition{workflows.DispositionArchive, workflows.DispositionDelete} {
		for _, years := range []int{1, 3} {
			b.Run(fmt.Sprintf("%s/lookback=%dy", disposition, years), func(b *testing.B) {
				lookback := time.Duration(years) * year
				var exports time.Duration
				byClass := map[string]float64{}
				var convs float64
				var roles, leftover int
				for b.Loop() {
					f := newCallsFixture(b)
					for _, u := range f.users {
						exports += f.offboard(b, u, disposition, lookback)
						convs += float64(f.em.ConversationCount(u, start.Add(-lookback), start))
					}
					seen := map[string]bool{}
					for _, c := range f.em.Calls() {
						byClass[classify(c)]++
						if rolesPath.MatchString(c.Path) {
							seen[c.Path] = true
						}
					}
					roles = len(seen)
					leftover += len(f.em.JobIDs())
				}
				runs := float64(b.N * callsRunsPerWorker)
				for k := range byClass {
					byClass[k] /= runs
				}
				minimum := callsMinimum(byClass, roles, convs/runs, lookback.Hours()/24, callsRunsPerWorker)
				var calls, least float64
				for _, v := range byClass {
					calls += v
				}
				for _, v := range minimum {
					least += v
				}
				b.ReportMetric(calls, "calls/run")
				b.ReportMetric(least, "min/run")
				b.ReportMetric(calls/least, "calls/min")
				b.ReportMetric(convs/runs, "conv/run")
				b.ReportMetric(exports.Seconds()/runs, "export-s")
				b.ReportMetric(float64(leftover), "jobs-left")
				classes := make([]string, 0, len(byClass))
				for k := range byClass {
					classes = append(classes, k)
				}
				sort.Strings(classes)
				var line []string
				for _, k := range classes {
					line = append(line, fmt.Sprintf("%s %.1f (min %.2f)", k, byClass[k], minimum[k]))
				}
				b.Logf("per run: %s", strings.Join(line, ", "))
			})
		}
	}
}
