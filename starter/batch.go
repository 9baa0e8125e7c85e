package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

// batchPoll is how often --wait reads a batch's progress.
var batchPoll = 2 * time.Second

// batchCmd is `starter batch`: it submits a file of leavers through the HR API, and its
// subcommands read and control a batch.
func (c *cli) batchCmd() *cobra.Command {
	var file string
	var opts hrclient.BatchOptions
	var wait bool
	cmd := &cobra.Command{
		Use:   "batch --file leavers.csv|leavers.json [--max-in-flight N] [--wait]",
		Short: "Offboard many people at once through the HR API, from a CSV or JSON file",
		Long: "Submits the file as one batch: a CSV with a header row naming the columns (userId, email or employeeId; " +
			"disposition, reason, hrEventId; optional effectiveAt, retention, exportFrom, dryRun), or JSON (an array of items, " +
			"or an object with items and maxInFlight). Every invalid item is printed with its line, and nothing starts.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, base, err := c.api(cmd, "batch")
			if err != nil {
				return err
			}
			if file == "" {
				return fmt.Errorf("batch: name the file of leavers with --file")
			}
			res, err := submitBatch(cmd.Context(), api, file, opts)
			if err != nil {
				return fmt.Errorf("submit %s through the HR API at %s: %w", file, base, err)
			}
			if err := c.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				verb := "Started"
				if res.Existing {
					verb = "Already started under this idempotency key:"
				}
				fmt.Fprintf(w, "%s batch %s of %d (workflow %s, run %s)\n", verb, res.BatchID, res.Total, res.WorkflowID, res.RunID)
			}); err != nil || !wait {
				return err
			}
			return c.waitBatch(cmd, api, res.BatchID)
		},
	}
	config.AddFlags(cmd.PersistentFlags(), config.EnvAPIURL)
	c.jsonFlag(cmd)
	f := cmd.Flags()
	f.StringVar(&file, "file", "", "the leavers: a .csv file, or a .json file (anything else is read as CSV unless it begins with [ or {)")
	f.IntVar(&opts.MaxInFlight, "max-in-flight", 0, "offboardings ending access at once (default: the batch's, 50)")
	f.StringVar(&opts.IdempotencyKey, "idempotency-key", "", "names the batch: submitting the same file again under it starts nothing new (default: a random batch ID)")
	f.BoolVar(&wait, "wait", isTerminal(os.Stdout), "follow the batch's progress until it ends (default on a terminal)")
	cmd.AddCommand(c.batchStatusCmd(), c.batchControlCmd(workflows.UpdatePauseBatch, "Pause a batch: no more offboardings start"),
		c.batchControlCmd(workflows.UpdateResumeBatch, "Resume a paused batch"),
		c.batchControlCmd(workflows.UpdateCancelBatch, "Cancel a batch: the items not started are not started"))
	return cmd
}

// submitBatch sends the file as it is: the API reads it strictly and names each bad line.
func submitBatch(ctx context.Context, api *hrclient.Client, file string, opts hrclient.BatchOptions) (hrapi.BatchResult, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return hrapi.BatchResult{}, err
	}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(raw, []byte("\ufeff")))
	isJSON := strings.EqualFold(filepath.Ext(file), ".json") || bytes.HasPrefix(trimmed, []byte("[")) || bytes.HasPrefix(trimmed, []byte("{"))
	switch {
	case !isJSON || strings.EqualFold(filepath.Ext(file), ".csv"):
		return api.CreateBatchCSV(ctx, raw, opts)
	case bytes.HasPrefix(trimmed, []byte("[")):
		// An array of items is the items of a batch, kept byte for byte.
		raw = append(append([]byte(`{"items":`), trimmed...), '}')
	}
	return api.CreateBatchJSON(ctx, raw, opts)
}

// waitBatch follows the batch until it has completed or been cancelled: a progress bar on a
// terminal, otherwise a line each time the progress changes.
func (c *cli) waitBatch(cmd *cobra.Command, api *hrclient.Client, batchID string) error {
	out := cmd.OutOrStdout()
	var bar *progressbar.ProgressBar
	last := ""
	for {
		st, err := batchProgress(cmd.Context(), api, batchID)
		if err != nil {
			return fmt.Errorf("follow batch %s: %w", batchID, err)
		}
		line := progressLine(st)
		switch {
		case st.State == "": // not answering yet
		case isTerminal(out):
			if bar == nil {
				bar = progressbar.NewOptions(st.Total, progressbar.OptionSetWriter(out), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			}
			_ = bar.Set(settled(st))
			bar.Describe(line)
		case line != last:
			fmt.Fprintf(out, "%s %s\n", time.Now().UTC().Format(time.TimeOnly), line)
		}
		last = line
		if st.State == workflows.BatchCompleted || st.State == workflows.BatchCancelled {
			if bar != nil {
				_ = bar.Finish()
			}
			fmt.Fprintf(out, "Batch %s %s: %s\n", batchID, st.State, line)
			return nil
		}
		select {
		case <-cmd.Context().Done():
			return cmd.Context().Err()
		case <-time.After(batchPoll):
		}
	}
}

// batchProgress is the batch's status; a zero status while it does not answer yet (503).
func batchProgress(ctx context.Context, api *hrclient.Client, batchID string) (workflows.BatchStatus, error) {
	view, err := api.Batch(ctx, batchID, hrapi.BatchQuery{PageSize: 1})
	var p *hrapi.Problem
	if errors.As(err, &p) && p.Status == http.StatusServiceUnavailable {
		return workflows.BatchStatus{}, nil
	}
	return view.Status, err
}

// settled counts the items no longer pending nor working.
func settled(st workflows.BatchStatus) int {
	return max(0, st.Total-st.Items[workflows.ItemPending]-st.InFlight)
}

// progressLine is the batch's progress in one line.
func progressLine(st workflows.BatchStatus) string {
	return fmt.Sprintf("%s: %d/%d started, %d in flight, %d access ended, %d problems", st.State, st.Started, st.Total, st.InFlight, st.AccessEnded, st.Problems)
}

// isTerminal says whether w is a terminal, where progress is a redrawn bar.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// batchStatusCmd is `starter batch status ID`.
func (c *cli) batchStatusCmd() *cobra.Command {
	var q hrapi.BatchQuery
	cmd := &cobra.Command{
		Use:   "status <batchId>",
		Short: "Show a batch's progress and its items",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, base, err := c.api(cmd, "batch status")
			if err != nil {
				return err
			}
			view, err := api.Batch(cmd.Context(), args[0], q)
			if err != nil {
				return fmt.Errorf("read batch %s from the HR API at %s: %w", args[0], base, err)
			}
			return c.print(cmd.OutOrStdout(), view, batchText(view))
		},
	}
	c.jsonFlag(cmd)
	f := cmd.Flags()
	f.BoolVar(&q.Problems, "problems", false, "only the items that failed, were refused, unresolved or already in flight")
	f.IntVar(&q.PageSize, "page-size", 0, fmt.Sprintf("items per page (default %d)", hrapi.DefaultBatchPageSize))
	f.StringVar(&q.PageToken, "page-token", "", "continue from a previous page")
	return cmd
}

// batchText prints a batch's status and its page of items.
func batchText(view hrapi.BatchView) func(io.Writer) {
	return func(w io.Writer) {
		st := view.Status
		fmt.Fprintf(w, "Batch %s by %s at %s\n%s\n", st.BatchID, st.RequestedBy, st.RequestedAt.UTC().Format(time.RFC3339), progressLine(st))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LINE\tOUTCOME\tUSER\tWORKFLOW\tERROR")
		for _, it := range view.Items {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", it.Line, it.Outcome, it.UserID, it.WorkflowID, it.Error)
		}
		_ = tw.Flush()
		if view.NextPageToken != "" {
			fmt.Fprintf(w, "More: --page-token %s\n", view.NextPageToken)
		}
	}
}

// batchControlCmd is `starter batch pause|resume|cancel ID`.
func (c *cli) batchControlCmd(update, short string) *cobra.Command {
	var reason string
	control := map[string]func(*hrclient.Client, context.Context, string, string) (workflows.BatchStatus, error){
		workflows.UpdatePauseBatch:  (*hrclient.Client).PauseBatch,
		workflows.UpdateResumeBatch: (*hrclient.Client).ResumeBatch,
		workflows.UpdateCancelBatch: (*hrclient.Client).CancelBatch,
	}[update]
	cmd := &cobra.Command{
		Use:   update + " <batchId>",
		Short: short + " (as your HR API token's identity)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, base, err := c.api(cmd, "batch "+update)
			if err != nil {
				return err
			}
			st, err := control(api, cmd.Context(), args[0], reason)
			if err != nil {
				return fmt.Errorf("%s batch %s through the HR API at %s: %w", update, args[0], base, err)
			}
			return c.print(cmd.OutOrStdout(), st, func(w io.Writer) { fmt.Fprintf(w, "Batch %s %s\n", st.BatchID, progressLine(st)) })
		},
	}
	c.jsonFlag(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "reason recorded with the decision")
	return cmd
}
