// Command clustertest drives deploy/cluster-test.sh: it runs Offboard in its production shape on
// this machine (PostgreSQL, the Temporal server as a process of its own on it, three workers and
// two HR API replicas sharing one Genesys budget, against the Genesys emulator), offboards a
// hundred people through both API replicas while it kills a worker mid-export, restarts every
// worker in turn, then the Temporal server, then PostgreSQL, and checks afterwards that every run
// has its outcome, no side effect happened twice, and every bundle is sound and complete. Its last
// line sums the figures up; it exits 0 only when every check holds, and stops every process it
// started, also on failure.
//
//	go run ./deploy/clustertest --bin DIR --work DIR   # DIR holds worker, starter, emulator and devstack
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/internal/command"
)

func main() { command.Execute("clustertest", newRoot()) }

// The workloads.
const (
	workloadFaults = "faults"
	workloadBatch  = "batch"
)

// settings are the command's flags.
type settings struct {
	bin, work, repo string
	runs            int
	deletesPerFive  int
	workers, apis   int
	users           int
	conversations   int
	rateLimit       int
	budget          int
	latency         time.Duration
	retention       string
	exportWindow    string
	pause           time.Duration
	timeout         time.Duration
	faults          []string
	// workload is "faults" (the cluster test) or "batch" (the batch benchmark).
	workload       string
	maxInFlight    int
	exportLookback string
}

func newRoot() *cobra.Command {
	var s settings
	cmd := &cobra.Command{
		Use:           "clustertest --bin DIR --work DIR",
		Short:         "Offboard a hundred people on a PostgreSQL-backed cluster through crashes and restarts, and check everything",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := s.check(); err != nil {
				return err
			}
			line, err := runTest(cmd.Context(), s)
			if err != nil {
				printLogTails(filepath.Join(s.work, "logs"))
				fmt.Fprintln(os.Stderr, "clustertest:", err)
				if line == "" {
					line = "cluster test FAIL: " + err.Error()
				}
			}
			fmt.Println(line)
			if err != nil {
				return &command.ExitError{Code: 1} // said above, before the summary line
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.bin, "bin", "", "directory of the worker, starter, emulator and devstack binaries")
	f.StringVar(&s.work, "work", "", "scratch directory: the database, exports and every process's log")
	f.StringVar(&s.repo, "repo", ".", "the repository, for deploy/postgres.sh")
	f.IntVar(&s.runs, "runs", 100, "offboardings to run")
	f.IntVar(&s.deletesPerFive, "deletes-per-five", 2, "of every five offboardings, how many delete (the rest archive)")
	f.IntVar(&s.workers, "workers", 3, "worker processes")
	f.IntVar(&s.apis, "apis", 2, "HR API processes")
	f.IntVar(&s.users, "users", 140, "seeded Genesys users (at least --runs must be active with conversations)")
	f.IntVar(&s.conversations, "conversations", 12000, "seeded conversations")
	f.IntVar(&s.rateLimit, "rate-limit", 7200, "the emulator's Genesys requests per minute for the OAuth client")
	f.IntVar(&s.budget, "budget", 6000, "the fleet's Genesys budget in requests per minute, split across the workers")
	f.DurationVar(&s.latency, "latency", 25*time.Millisecond, "latency the emulator adds to every Genesys call")
	f.StringVar(&s.retention, "retention", "PT30S", "retention of the deletes (ISO 8601)")
	f.StringVar(&s.exportWindow, "export-window", "P120D", "the export's analytics job window (ISO 8601): shorter than the default, so that exports last long enough to be interrupted")
	f.DurationVar(&s.pause, "pause", 10*time.Second, "pause between two faults")
	f.DurationVar(&s.timeout, "timeout", 20*time.Minute, "the whole test's bound")
	f.StringVar(&s.workload, "workload", workloadFaults, "faults: offboard people one by one under faults and check everything; batch: one batch of archives through the HR API, no faults, measured against the rate limit (the batch benchmark)")
	f.StringVar(&s.exportLookback, "export-lookback", "P1095D", "how far back each export reads (ISO 8601), the policy's default lookback")
	f.IntVar(&s.maxInFlight, "max-in-flight", 0, "the batch's bound of offboardings working at once; 0 is the batch's default")
	f.StringSliceVar(&s.faults, "faults", faultNames, "the faults to inject, in this order whatever the flag's: "+strings.Join(faultNames, ", "))
	return cmd
}

// check refuses settings the test cannot run with, naming the flag.
func (s settings) check() error {
	var errs []error
	if s.bin == "" || s.work == "" {
		errs = append(errs, fmt.Errorf("--bin and --work are required"))
	}
	for flag, v := range map[string]int{"--runs": s.runs, "--workers": s.workers, "--apis": s.apis, "--rate-limit": s.rateLimit, "--budget": s.budget} {
		if v < 1 {
			errs = append(errs, fmt.Errorf("%s %d: want at least 1", flag, v))
		}
	}
	if s.apis < 2 {
		errs = append(errs, fmt.Errorf("--apis %d: the approvers decide through two replicas, want at least 2", s.apis))
	}
	if s.deletesPerFive < 0 || s.deletesPerFive > 5 {
		errs = append(errs, fmt.Errorf("--deletes-per-five %d: want 0 to 5", s.deletesPerFive))
	}
	if s.workload != workloadFaults && s.workload != workloadBatch {
		errs = append(errs, fmt.Errorf("--workload %q: want %s or %s", s.workload, workloadFaults, workloadBatch))
	}
	for _, name := range s.faults {
		if !slices.Contains(faultNames, name) {
			errs = append(errs, fmt.Errorf("--faults: unknown fault %q; the faults are %s", name, strings.Join(faultNames, ", ")))
		}
	}
	return errors.Join(errs...)
}

// runTest is the test: start, offboard under faults, check, sum up. It returns the summary line
// once the checks ran, and an error when anything failed.
func runTest(ctx context.Context, s settings) (string, error) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	c := &cluster{}
	defer c.stopAll()
	if err := startCluster(ctx, s, c); err != nil {
		return "", fmt.Errorf("start the cluster: %w", err)
	}
	fmt.Printf("cluster up in %v: PostgreSQL on :%d, Temporal %s, emulator %s, %d workers, %d HR APIs\n",
		time.Since(began).Round(time.Second), c.pgPort, c.temporalAddr, c.emulatorURL, len(c.workers), len(c.apis))

	users, err := pickUsers(ctx, c.emulatorURL, s.runs)
	if err != nil {
		return "", err
	}
	if err := c.setLatency(ctx, s.latency); err != nil {
		return "", err
	}
	if s.workload == workloadBatch {
		return runBatchBenchmark(ctx, c, users)
	}
	w := &workload{}
	started := time.Now()
	if err := c.startRuns(ctx, w, users); err != nil {
		return "", err
	}
	fmt.Printf("%s  %d offboardings started through %d API replicas\n", time.Now().UTC().Format("15:04:05"), len(w.runs), len(c.apis))
	mctx, stopMonitor := context.WithCancel(ctx)
	monitored := make(chan struct{})
	go func() { defer close(monitored); c.monitor(mctx, w) }()
	defer func() { stopMonitor(); <-monitored }()

	faults, kill, err := c.injectFaults(ctx, w)
	if err != nil {
		return "", fmt.Errorf("inject faults: %w", err)
	}
	if err := w.waitOutcomes(ctx); err != nil {
		return "", err
	}
	stopMonitor()
	<-monitored
	f := c.check(ctx, w, kill)
	wall := time.Since(started)
	for _, flt := range faults {
		if flt.open == 0 {
			f.problem("no run was open at %q: the fault tested nothing", flt.name)
		}
	}
	for _, p := range f.problems {
		fmt.Println("FAIL:", p)
	}
	line := summary(w, faults, f, wall)
	if len(f.problems) > 0 {
		return line, fmt.Errorf("%d checks failed", len(f.problems))
	}
	return line, nil
}

// setLatency slows every Genesys call down, so that exports last long enough to be interrupted.
func (c *cluster) setLatency(ctx context.Context, d time.Duration) error {
	return putFaults(ctx, c.emulatorURL, fmt.Sprintf(`{"latency":%d}`, d.Nanoseconds()))
}

// summary is the test's last line: the figures of the whole run.
func summary(w *workload, faults []fault, f findings, wall time.Duration) string {
	var names []string
	for _, flt := range faults {
		names = append(names, flt.name)
	}
	var outcomes []string
	for o, n := range f.outcomes {
		outcomes = append(outcomes, fmt.Sprintf("%d %s", n, o))
	}
	verdict := "PASS"
	if len(f.problems) > 0 {
		verdict = fmt.Sprintf("FAIL (%d problems)", len(f.problems))
	}
	return fmt.Sprintf("cluster test %s: %d offboardings (%s); faults: %s; approvals per API replica %v; "+
		"duplicated side effects %d (token revocations repeated by a retry, no read-back: %d); bundles verified %d/%d (%d conversations, none twice or missing); "+
		"worst delay after the SIGKILL %v (%d activities retried); Genesys calls %d, 429s %.2f%%, analytics jobs left %d (exports the SIGKILL interrupted: %d); wall %v",
		verdict, len(w.runs), strings.Join(slices.Sorted(slices.Values(outcomes)), ", "), strings.Join(names, ", "), w.decisions,
		len(f.duplicates), len(f.repeats), f.bundlesOK, len(w.runs), f.conversations,
		f.killDelay.Round(100*time.Millisecond), f.killRetried, f.calls, percent(f.status429, f.calls), f.jobsCreated-f.jobsDeleted, f.killedExports,
		wall.Round(time.Second))
}

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// printLogTails prints the end of every process's log, for a failure in CI where the files go.
func printLogTails(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		fmt.Fprintf(os.Stderr, "--- last lines of %s:\n%s\n", e.Name(), strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
}
