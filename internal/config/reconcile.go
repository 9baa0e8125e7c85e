package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/offboard/offboard/workflows"
)

// Settings of the reconciliation Schedule (docs/operations.md, "Reconciliation").
const (
	EnvReconcileRosterURL   = "OFFBOARD_RECONCILE_ROSTER_URL"
	EnvReconcileEvery       = "OFFBOARD_RECONCILE_EVERY"
	EnvReconcileAction      = "OFFBOARD_RECONCILE_ACTION"
	EnvReconcileDisposition = "OFFBOARD_RECONCILE_DISPOSITION"
	DefaultReconcileEvery   = "24h"
)

// reconcileVars are the reconciliation's rows of Vars, in one block.
func reconcileVars(w string) []Var {
	return []Var{
		{Name: EnvReconcileRosterURL, Flag: "reconcile-roster-url", Used: w, Usage: "HR's roster of leavers (CSV or JSON, docs/operations.md) as a file://, s3://, gs:// or azblob:// object URL; set, the workers keep the reconciliation Schedule (ID " + ReconcileScheduleID + ") in line with these settings."},
		{Name: EnvReconcileEvery, Flag: "reconcile-every", Default: DefaultReconcileEvery, Used: w, Usage: "How often the reconciliation runs: a Go duration of at least 1m (24h) or a cron expression (0 6 * * 1-5, @daily), UTC."},
		{Name: EnvReconcileAction, Flag: "reconcile-action", Default: workflows.ReconcileReport, Used: w, Usage: "report: only report the people HR terminated whom Genesys still has active; offboard: also start a batch that offboards them."},
		{Name: EnvReconcileDisposition, Flag: "reconcile-disposition", Default: string(workflows.DispositionArchive), Used: w, Usage: "archive or delete: the disposition of a reconciliation's offboardings when the roster row names none."},
	}
}

// ReconcileScheduleID is the ID of the reconciliation's Temporal Schedule.
const ReconcileScheduleID = "offboard-reconciliation"

// Reconcile is the reconciliation's configuration: the policy its runs record, and when they run.
type Reconcile struct {
	Settings workflows.ReconcileSettings
	// Every is the interval between runs, unless Cron is set.
	Every time.Duration
	Cron  string
}

// Enabled reports whether a roster is configured.
func (r Reconcile) Enabled() bool { return r.Settings.RosterURL != "" }

// Reconcile reads the OFFBOARD_RECONCILE_* settings. Without a roster URL the rest is still
// checked, so that a typo is found before it matters.
func (s Source) Reconcile() (Reconcile, error) {
	var errs []error
	var r Reconcile
	var err error
	r.Settings.RosterURL, err = s.URL(EnvReconcileRosterURL, "", "file", "s3", "gs", "azblob", "mem")
	errs = append(errs, err)
	r.Settings.Action = s.String(EnvReconcileAction, workflows.ReconcileReport)
	r.Settings.Disposition = workflows.Disposition(s.String(EnvReconcileDisposition, string(workflows.DispositionArchive)))
	if err := r.Settings.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s, %s: %w", EnvReconcileAction, EnvReconcileDisposition, err))
	}
	every, label, _ := s.get(EnvReconcileEvery)
	if every == "" {
		every = DefaultReconcileEvery
	}
	if d, derr := time.ParseDuration(every); derr == nil {
		r.Every = d
		if d < time.Minute {
			errs = append(errs, fmt.Errorf("%s=%q: run at most once a minute (e.g. 24h)", label, every))
		}
	} else if _, cerr := cron.ParseStandard(every); cerr == nil {
		r.Cron = every
	} else {
		errs = append(errs, fmt.Errorf("%s=%q: want a Go duration (24h) or a cron expression (0 6 * * *, @daily): %v", label, every, cerr))
	}
	if err := errors.Join(errs...); err != nil {
		return Reconcile{}, err
	}
	return r, nil
}
