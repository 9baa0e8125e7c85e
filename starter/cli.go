package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/starter/hrapi/hrclient"
	"github.com/offboard/offboard/workflows"
)

// temporalVars are the settings of a command that dials Temporal, the payload keys among them:
// every payload is encrypted. The policy's are not among them: the policy belongs to the worker
// (and the HR API, which checks requests against it), so no CLI command offers flags it would
// ignore.
var temporalVars = []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", config.EnvPayloadKeysFile}

// policyVars are the policy's settings, which only serve (the HR API) of the starter's
// commands applies, to the requests it checks and the credentials it verifies.
func policyVars() []string {
	names := []string{config.EnvPolicyFile}
	for _, s := range workflows.PolicySettings() {
		names = append(names, s.Env)
	}
	return names
}

// cli carries the state shared by every command.
type cli struct {
	deps
	json bool
}

func newRootCmd(d deps) *cobra.Command {
	c := &cli{deps: d}
	root := &cobra.Command{
		Use:           "starter",
		Short:         "Offboard's HR API (serve) and operator CLI",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	const comment, reason = "comment recorded with the decision", "reason recorded in the audit record"
	root.AddCommand(c.serveCmd(), c.startCmd(),
		c.decisionCmd(workflows.UpdateApprove, "Approve a deletion (as your HR API token's approver)", "comment", comment),
		c.decisionCmd(workflows.UpdateReject, "Reject a deletion (as your HR API token's approver)", "comment", comment),
		c.decisionCmd(workflows.UpdateCancel, "Cancel an offboarding; a user this run deactivated is restored", "reason", reason),
		c.decisionCmd(workflows.UpdateHold, "Place a legal hold: retention pauses", "reason", reason),
		c.decisionCmd(workflows.UpdateRelease, "Release a legal hold", "reason", reason),
		c.keysCmd(), c.statusCmd(), c.listCmd(), c.verifyCmd(), c.healthcheckCmd(), c.deploymentCmd(), c.batchCmd(), c.reconcileCmd())
	return root
}

func (c *cli) source(cmd *cobra.Command) config.Source {
	return config.Source{Env: c.Env, Flags: cmd.Flags()}
}

// jsonFlag gives cmd --json.
func (c *cli) jsonFlag(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.json, "json", false, "print JSON instead of human-readable text")
}

// service dials Temporal for status, list and decisions, which need no policy: the run applies
// its own. close releases the client.
func (c *cli) service(cmd *cobra.Command) (*hrapi.Service, func(), error) {
	opts, err := c.source(cmd).Temporal()
	if err != nil {
		return nil, nil, err
	}
	opts.Logger = tlogDiscard()
	tc, err := config.ConnectTemporal(cmd.Context(), opts, c.Dial)
	if err != nil {
		return nil, nil, err
	}
	return &hrapi.Service{Client: tc, Now: c.Now, DataConverter: opts.DataConverter}, tc.Close, nil
}

func (c *cli) print(w io.Writer, v any, human func(io.Writer)) error {
	if c.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	human(w)
	return nil
}

func (c *cli) startCmd() *cobra.Command {
	var b hrapi.OffboardingRequest
	cmd := &cobra.Command{
		Use:   "start --user <id>|--email <email>|--employee-id <id> --disposition archive|delete --reason <why>",
		Short: "Start an offboarding through the HR API, as your HR API token's identity",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, base, err := c.api(cmd, "start")
			if err != nil {
				return err
			}
			if b.HREventID == "" {
				b.HREventID = "cli-" + randomHex(8)
			}
			res, err := api.Start(cmd.Context(), b)
			if err != nil {
				return fmt.Errorf("start through the HR API at %s: %w", base, err)
			}
			return c.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				verb := "Started"
				if b.DryRun {
					verb = "Started a dry run (planned only, nothing changes):"
				}
				if res.Existing {
					verb = "Already started by HR event " + b.HREventID + ":"
				}
				fmt.Fprintf(w, "%s %s (run %s)\n", verb, res.WorkflowID, res.RunID)
			})
		},
	}
	config.AddFlags(cmd.Flags(), config.EnvAPIURL)
	c.jsonFlag(cmd)
	f := cmd.Flags()
	f.StringVar(&b.UserID, "user", "", "Genesys user ID (UUID)")
	f.StringVar(&b.Email, "email", "", "instead of --user: the person's email, which a worker resolves through the Genesys users search")
	f.StringVar(&b.EmployeeID, "employee-id", "", "instead of --user: the person's employee ID (employerInfo.employeeId), resolved likewise")
	f.StringVar(&b.Disposition, "disposition", "", "archive or delete")
	f.StringVar(&b.EffectiveAt, "effective-at", "", "when access must end (RFC 3339); default now")
	f.StringVar(&b.Retention, "retention", "", "delete only: ISO-8601 retention such as P30D; default the policy's")
	f.StringVar(&b.ExportFrom, "export-from", "", "start of the export window (RFC 3339); default the policy lookback")
	f.StringVar(&b.Reason, "reason", "", "why (required)")
	f.StringVar(&b.HREventID, "hr-event-id", "", "idempotency key; the same key never starts a second run (default: random)")
	f.BoolVar(&b.DryRun, "dry-run", false, "check and report what would happen, changing nothing")
	return cmd
}

// decisionCmd is the command of a decision (approve, reject, cancel, hold, release) on the
// offboarding of the user in its one argument. It decides with a credential: one given with
// --credential, or one the HR API issues to the holder of OFFBOARD_API_TOKEN, never an identity
// the CLI merely claims.
func (c *cli) decisionCmd(action, short, textFlag, textUsage string) *cobra.Command {
	var text, given string
	cmd := c.serviceCmd(action+" <userId>", short, cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string, svc *hrapi.Service) (any, func(io.Writer), error) {
			tok, err := c.credential(cmd, args[0], hrapi.CredentialRequest{Action: action, Comment: text}, given)
			if err != nil {
				return nil, nil, err
			}
			st, err := svc.Submit(cmd.Context(), args[0], action, tok)
			return st, statusText(st), err
		})
	f := cmd.Flags()
	f.StringVar(&text, textFlag, "", textUsage)
	f.StringVar(&given, "credential", "", "a decision credential you hold (POST /v1/offboardings/{userId}/credentials); default: obtain one from "+config.EnvAPIURL+" with "+config.EnvAPIToken)
	config.AddFlags(f, config.EnvAPIURL)
	return cmd
}

// api is the HR API client of OFFBOARD_API_URL and OFFBOARD_API_TOKEN, and the URL; what says
// what needs them when they are missing.
func (c *cli) api(cmd *cobra.Command, what string) (*hrclient.Client, string, error) {
	src := c.source(cmd)
	base, tok := src.String(config.EnvAPIURL, ""), src.String(config.EnvAPIToken, "")
	if base == "" || tok == "" {
		return nil, base, fmt.Errorf("%s: set %s and %s (your HR API token: you act as the identity bound to it)", what, config.EnvAPIURL, config.EnvAPIToken)
	}
	return hrclient.New(base, tok, c.HTTP), base, nil
}

// credential is the credential given, or one the HR API issues to the holder of the API token.
func (c *cli) credential(cmd *cobra.Command, userID string, req hrapi.CredentialRequest, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	api, base, err := c.api(cmd, req.Action+" needs a decision credential")
	if err != nil {
		return "", fmt.Errorf("%w, or pass --credential", err)
	}
	issued, err := api.IssueCredential(cmd.Context(), userID, req)
	if err != nil {
		return "", fmt.Errorf("obtain a credential from the HR API at %s: %w", base, err)
	}
	return issued.Credential, nil
}

// serviceCmd is a command that works on the service (see withService), with the flags of
// Temporal's address and namespace, and --json.
func (c *cli) serviceCmd(use, short string, args cobra.PositionalArgs, act func(cmd *cobra.Command, args []string, svc *hrapi.Service) (any, func(io.Writer), error)) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: args, RunE: c.withService(act)}
	config.AddFlags(cmd.Flags(), temporalVars...)
	c.jsonFlag(cmd)
	return cmd
}

// withService is a command's RunE that dials the service, calls act and prints what it returns
// (as JSON with --json, else through its human form).
func (c *cli) withService(act func(cmd *cobra.Command, args []string, svc *hrapi.Service) (any, func(io.Writer), error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		svc, closeFn, err := c.service(cmd)
		if err != nil {
			return err
		}
		defer closeFn()
		v, human, err := act(cmd, args, svc)
		if err != nil {
			return err
		}
		return c.print(cmd.OutOrStdout(), v, human)
	}
}

func (c *cli) statusCmd() *cobra.Command {
	return c.serviceCmd("status <userId>", "Show the status of the user's latest offboarding", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string, svc *hrapi.Service) (any, func(io.Writer), error) {
			st, err := svc.Status(cmd.Context(), args[0])
			return st, statusText(st), err
		})
}

// statusText prints a status as aligned lines, leaving out what is empty.
func statusText(st workflows.Status) func(io.Writer) {
	return func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		row := func(k, v string) {
			if v != "" {
				fmt.Fprintf(tw, "%s:\t%s\n", k, v)
			}
		}
		ts := func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		}
		row("Workflow", st.WorkflowID)
		row("User", st.UserID)
		row("Disposition", string(st.Disposition))
		row("Stage", string(st.Stage))
		row("Outcome", string(st.Outcome))
		if st.DryRun {
			row("Dry run", "yes: planned only, nothing changed")
			row("Would end", string(st.WouldEnd))
		}
		row("Requested by", st.RequestedBy)
		row("Requested at", ts(st.RequestedAt))
		row("Effective at", ts(st.EffectiveAt))
		if st.ApprovalsRequired > 0 {
			row("Approvals", fmt.Sprintf("%d required, %d decisions", st.ApprovalsRequired, len(st.Decisions)))
		}
		for _, d := range st.Decisions {
			verb := "rejected"
			if d.Approve {
				verb = "approved"
			}
			row("  "+d.Approver, verb+" "+ts(d.At))
		}
		row("Approval deadline", ts(st.ApprovalDeadline))
		row("Retention until", ts(st.RetentionUntil))
		if st.OnHold {
			row("Legal hold", "yes")
		}
		if st.Export != nil {
			row("Export", fmt.Sprintf("%d conversations in %d parts, %s", st.Export.Conversations, st.Export.Parts, st.Export.ManifestURL))
			row("Export digest", st.Export.ManifestSHA256+" (verify-bundle --expect-digest)")
		}
		if st.Verification != nil {
			row("Verified", fmt.Sprintf("state %s, %d/%d conversations, linked=%t", st.Verification.State, st.Verification.Count, st.Verification.ManifestCount, st.Verification.Linked))
		}
		accessRows(st, row, ts)
		for _, e := range st.Notes {
			row("Error", e)
		}
		row("Summary", st.Summary)
		_ = tw.Flush()
	}
}

// accessRows prints what the run revoked and restored, step by step, and the OAuth clients it reports.
func accessRows(st workflows.Status, row func(k, v string), ts func(time.Time) string) {
	row("Access ended", ts(st.AccessEndedAt))
	steps := func(title string, results []activities.StepResult) {
		for _, r := range results {
			v := "changed"
			if !r.Changed {
				v = "nothing to change"
			}
			if len(r.Warnings) > 0 {
				v += "; left as is: " + strings.Join(r.Warnings, "; ")
			}
			how := ", verified "
			if r.NoReadBack {
				how = ", done (no read-back exists) "
			}
			row(title+" "+string(r.Step), v+how+ts(r.VerifiedAt))
		}
	}
	steps("Revoked", st.Access)
	for _, s := range st.SkippedSteps {
		row("Skipped "+string(s), "a permission is missing (optional by policy)")
	}
	steps("Restored", st.Restored)
	for _, n := range st.NotRestored {
		row("Not restored", n)
	}
	for _, c := range st.OAuthClients {
		row("OAuth client", strings.TrimSpace(c.ID+" "+c.Name)+": created by the user; reported, not revoked")
	}
}

func (c *cli) listCmd() *cobra.Command {
	var q hrapi.ListQuery
	cmd := c.serviceCmd("list", "List offboardings (from Temporal visibility)", cobra.NoArgs,
		func(cmd *cobra.Command, _ []string, svc *hrapi.Service) (any, func(io.Writer), error) {
			page, err := svc.List(cmd.Context(), q)
			return page, func(w io.Writer) {
				if len(page.Items) == 0 {
					fmt.Fprintln(w, "No offboardings.")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USER\tDISPOSITION\tSTAGE\tSTATUS\tREQUESTED BY\tSTARTED")
				for _, it := range page.Items {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.UserID, it.Disposition, it.Stage, it.Status, it.RequestedBy, it.StartTime.UTC().Format(time.RFC3339))
				}
				_ = tw.Flush()
				if page.NextPageToken != "" {
					fmt.Fprintf(w, "More: --page-token %s\n", page.NextPageToken)
				}
			}, err
		})
	f := cmd.Flags()
	f.StringVar(&q.Stage, "stage", "", "only this stage or outcome (e.g. awaiting-approval)")
	f.StringVar(&q.Disposition, "disposition", "", "only archive or delete")
	f.StringVar(&q.PageToken, "page-token", "", "continue from a previous page")
	f.IntVar(&q.PageSize, "page-size", 0, fmt.Sprintf("items per page (default %d)", hrapi.DefaultPageSize))
	return cmd
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// slogDiscard is a logger that drops everything.
func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
