package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// offboarding is one offboarding of the test.
type offboarding struct {
	user        emulator.UserSummary
	disposition workflows.Disposition
	workflowID  string
	startedAt   time.Time
	// Set by the monitor: the outcome and when it was first seen, the last status read.
	outcome  workflows.Stage
	endedAt  time.Time
	status   workflows.Status
	approved map[string]bool // by approver, once the API accepted the decision
}

// want is the outcome the run must end in.
func (r *offboarding) want() workflows.Stage {
	if r.disposition == workflows.DispositionDelete {
		return workflows.OutcomeDeleted
	}
	return workflows.OutcomeArchived
}

// workload is the test's offboardings and what the monitor saw of them.
type workload struct {
	mu   sync.Mutex
	runs []*offboarding
	// decisions counts the decisions each API replica accepted; statusErrors the status reads
	// that failed (while Temporal or PostgreSQL restarts, for instance).
	decisions    []int
	statusErrors int
}

// pickUsers returns n active seeded users with conversations, in ID order.
func pickUsers(ctx context.Context, emulatorURL string, n int) ([]emulator.UserSummary, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, emulatorURL+"/emulator/v1/users", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var all []emulator.UserSummary
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		return nil, fmt.Errorf("read the emulator's users: %w", err)
	}
	all = slices.DeleteFunc(all, func(u emulator.UserSummary) bool { return u.State != "active" || u.Conversations == 0 })
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	if len(all) < n {
		return nil, fmt.Errorf("the emulator has %d active users with conversations, want %d: raise --users", len(all), n)
	}
	return all[:n], nil
}

// startRuns asks for one offboarding per user, through the API replicas in turn: every fifth
// pair deletes, the rest archive.
func (c *cluster) startRuns(ctx context.Context, w *workload, users []emulator.UserSummary) error {
	w.decisions = make([]int, len(c.apis))
	for i, u := range users {
		r := &offboarding{user: u, disposition: workflows.DispositionArchive, approved: map[string]bool{}}
		if i%5 < c.s.deletesPerFive {
			r.disposition = workflows.DispositionDelete
		}
		res, err := c.hr[i%len(c.hr)].Start(ctx, hrapi.OffboardingRequest{UserID: u.ID, Disposition: string(r.disposition),
			Reason: "cluster test", HREventID: "cluster-" + u.ID})
		if err != nil {
			return fmt.Errorf("start the offboarding of %s through %s: %w", u.ID, c.apis[i%len(c.apis)].name, err)
		}
		if res.Existing {
			return fmt.Errorf("the offboarding of %s answered an existing run: the test needs fresh users", u.ID)
		}
		r.workflowID, r.startedAt = res.WorkflowID, time.Now()
		w.runs = append(w.runs, r)
	}
	return nil
}

// monitor reads every open run's status until ctx ends, through the API replicas in turn, and
// approves each run awaiting approval: alice through the first replica, bob through the second.
func (c *cluster) monitor(ctx context.Context, w *workload) {
	for k := 0; ctx.Err() == nil; k++ {
		for i, r := range w.open() {
			c.observe(ctx, w, r, (k+i)%len(c.audit))
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// observe reads one run's status through replica api and acts on it.
func (c *cluster) observe(ctx context.Context, w *workload, r *offboarding, api int) {
	st, err := c.audit[api].Status(ctx, r.user.ID)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.statusErrors++
		return
	}
	r.status = st
	if st.Outcome != "" {
		r.outcome, r.endedAt = st.Outcome, time.Now()
		return
	}
	if st.Stage != workflows.StageAwaitingApproval {
		return
	}
	for i, who := range []string{approverA, approverB} {
		if r.approved[who] || slices.ContainsFunc(st.Decisions, func(d activities.Decision) bool { return d.Approver == who }) {
			r.approved[who] = true
			continue
		}
		replica := i % len(c.apis)
		_, err := c.approve[who][replica].Approve(ctx, r.user.ID, "cluster test")
		var p *hrapi.Problem
		switch {
		case err == nil:
			r.approved[who] = true
			w.decisions[replica]++
		case errors.As(err, &p) && p.Status == http.StatusConflict:
			// Decided already, or the stage moved on: the next status read says which.
		}
	}
}

// open returns the runs without an outcome yet.
func (w *workload) open() []*offboarding {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*offboarding
	for _, r := range w.runs {
		if r.outcome == "" {
			out = append(out, r)
		}
	}
	return out
}

// waitOutcomes waits until every run has an outcome or ctx ends.
func (w *workload) waitOutcomes(ctx context.Context) error {
	for {
		open := w.open()
		if len(open) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			w.mu.Lock()
			defer w.mu.Unlock()
			return fmt.Errorf("%d of %d runs had no outcome in time; first: %s at %s (%s)", len(open), len(w.runs),
				open[0].user.ID, open[0].status.Stage, open[0].status.Summary)
		case <-time.After(time.Second):
		}
	}
}
