// Command devstack runs Offboard locally in one process, with no Docker, no accounts and no
// internet: a real Temporal server and its Web UI, the Genesys emulator, the worker and the HR API.
//
//	go run ./devstack            # everything, until Ctrl-C
//	go run ./devstack demo       # everything, plus one delete offboarding end to end
//	go run ./devstack temporal   # the Temporal server and UI alone
//	go run ./devstack temporal --db postgres://temporal:PASSWORD@127.0.0.1:PORT/temporal
//	                             # the same on PostgreSQL (deploy/postgres.sh start, schema, url)
//
// The Genesys emulator alone is its own command: go run ./emulator.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/offboard/offboard/devstack/stack"
	"github.com/offboard/offboard/internal/command"
)

func main() { command.Execute("devstack", newRoot()) }

// flags are the options shared by the commands.
type flags struct {
	opts     stack.Options
	logLevel string
}

func newRoot() *cobra.Command {
	f := &flags{opts: stack.DefaultOptions()}
	f.opts.Env = envconfig.EnvLookupOS
	root := &cobra.Command{
		Use:   "devstack",
		Short: "Run Offboard locally: Temporal + Web UI + Genesys emulator + worker + HR API in one process",
		Long: "devstack runs the whole Offboard stack in one process until interrupted.\n" +
			"Temporal keeps its runs in SQLite under --data-dir, or in PostgreSQL with --db, so a\n" +
			"restart keeps every run.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: f.withLogger(func(cmd *cobra.Command, logger *slog.Logger) error {
			s, err := f.startStack(cmd, logger)
			if err != nil {
				return err
			}
			return s.Wait()
		}),
	}
	pf := root.PersistentFlags()
	pf.StringVar(&f.opts.DataDir, "data-dir", f.opts.DataDir, "directory of the Temporal database and the export bundles")
	pf.StringVar(&f.opts.TemporalDB, "db", "", "PostgreSQL URL postgres://user[:password]@host:port/database of Temporal's runs instead of SQLite (the password may come from PGPASSWORD); the schemas of it and of <database>_visibility come first (deploy/postgres.sh schema)")
	pf.StringVar(&f.opts.Host, "host", f.opts.Host, "IP address every listener binds")
	pf.IntVar(&f.opts.TemporalPort, "temporal-port", f.opts.TemporalPort, "Temporal frontend gRPC port")
	pf.IntVar(&f.opts.UIPort, "ui-port", f.opts.UIPort, "Temporal Web UI port")
	pf.BoolVar(&f.opts.NoUI, "no-ui", false, "leave the Temporal Web UI out (a server for other processes, such as deploy/cluster-test.sh's)")
	pf.IntVar(&f.opts.EmulatorPort, "emulator-port", f.opts.EmulatorPort, "Genesys emulator port")
	pf.IntVar(&f.opts.APIPort, "api-port", f.opts.APIPort, "HR API port")
	pf.IntVar(&f.opts.MetricsPort, "metrics-port", f.opts.MetricsPort, "worker /metrics and /healthz port (0 turns it off)")
	pf.Int64Var(&f.opts.Seed, "seed", f.opts.Seed, "seed of the emulator's dataset")
	pf.IntVar(&f.opts.Users, "users", f.opts.Users, "number of seeded Genesys users")
	pf.StringVar(&f.opts.WebhookURL, "webhook-url", "", "http(s) URL that receives the worker's notifications (env OFFBOARD_WEBHOOK_URL); default: the stack's own receiver, which verifies and prints each")
	pf.BoolVar(&f.opts.UnsignedDecisions, "unsigned-decisions", false, "count decisions without a credential, as whoever they name (development only; shown in the banner and on every run)")
	pf.IntVar(&f.opts.Conversations, "conversations", f.opts.Conversations, "number of seeded conversations")
	pf.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error (the Temporal server itself logs warnings and above; the demo defaults to warn)")

	root.AddCommand(newTemporal(f), newDemo(f))
	return root
}

func (f *flags) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), nil
}

// withLogger is a RunE that gets the logger of --log-level, with --db's password from
// PGPASSWORD when the URL has none.
func (f *flags) withLogger(run func(cmd *cobra.Command, logger *slog.Logger) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		logger, err := f.logger()
		if err != nil {
			return err
		}
		f.opts.TemporalDB = stack.DatabaseURLWithPassword(f.opts.TemporalDB, os.Getenv("PGPASSWORD"))
		return run(cmd, logger)
	}
}

// startStack starts the whole stack with the flags' options and prints its banner.
func (f *flags) startStack(cmd *cobra.Command, logger *slog.Logger) (*stack.Stack, error) {
	o := f.opts
	o.Logger = logger
	s, err := stack.Start(cmd.Context(), o)
	if err != nil {
		return nil, err
	}
	stack.PrintBanner(cmd.OutOrStdout(), s)
	return s, nil
}

func newTemporal(f *flags) *cobra.Command {
	return &cobra.Command{
		Use:   "temporal",
		Short: "Run only the Temporal server (SQLite under --data-dir, or PostgreSQL with --db) and its Web UI",
		Args:  cobra.NoArgs,
		RunE: f.withLogger(func(cmd *cobra.Command, logger *slog.Logger) error {
			t, err := stack.StartTemporal(cmd.Context(), f.opts.TemporalOptions(logger))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Temporal server:  %s (namespace %s, search attributes registered)\n", t.Address, t.Namespace)
			if t.UIURL != "" {
				fmt.Fprintf(out, "Temporal Web UI:  %s\n", t.UIURL)
			}
			fmt.Fprintf(out, "Persistence:      %s\n", t.Persistence)
			fmt.Fprintln(out, "Press Ctrl-C to stop.")
			<-cmd.Context().Done()
			return t.Stop()
		}),
	}
}

func newDemo(f *flags) *cobra.Command {
	var exit bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start the stack and run one delete offboarding through the HR API, end to end",
		Long: "demo starts the stack, picks a seeded user with conversations and no offboarding yet,\n" +
			"asks HR API for a delete with retention PT15S, approves it as alice, prints every stage,\n" +
			"then the bundle, its verification, the proof that history is still linked and the UI link.\n" +
			"It keeps serving afterwards unless --exit is given.",
		Args: cobra.NoArgs,
		// The demo narrates every stage itself; the components' logs would drown it.
		PreRun: func(cmd *cobra.Command, _ []string) {
			if !cmd.Flags().Changed("log-level") {
				f.logLevel = "warn"
			}
		},
		RunE: f.withLogger(func(cmd *cobra.Command, logger *slog.Logger) error {
			s, err := f.startStack(cmd, logger)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			_, demoErr := stack.RunDemo(cmd.Context(), s, stack.DemoOptions{Out: out})
			if demoErr != nil {
				fmt.Fprintf(out, "\nDEMO FAILED: %v\n", demoErr)
			}
			if exit || demoErr != nil && errors.Is(cmd.Context().Err(), context.Canceled) {
				return errors.Join(demoErr, s.Stop())
			}
			fmt.Fprintln(out, "\nThe stack keeps running for inspection. Press Ctrl-C to stop.")
			return errors.Join(demoErr, s.Wait())
		}),
	}
	cmd.Flags().BoolVar(&exit, "exit", false, "exit after the demo: status 0 on success, non-zero on any failure")
	return cmd
}
