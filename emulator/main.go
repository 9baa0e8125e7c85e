// Command emulator serves the Genesys Cloud emulator (genesys/emulator) on its own, seeded: the
// compose stack's genesys-emulator service, or a local stand-in for Genesys next to a worker.
// It links neither the Temporal server nor the worker.
//
//	go run ./emulator                                  # http://127.0.0.1:9090
//	go run ./emulator --addr 0.0.0.0:9090 --users 200
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/offboard/offboard/devstack/defaults"
	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/command"
)

func main() { command.Execute("emulator", newRoot()) }

// settings are the command's flags.
type settings struct {
	addr                 string
	host                 string
	port                 int
	seed                 int64
	users, conversations int
	requestsPerMinute    int
	callLog              int
	logLevel             string
}

func newRoot() *cobra.Command {
	var s settings
	cmd := &cobra.Command{
		Use:           "emulator",
		Short:         "Serve the Genesys Cloud emulator, seeded, until interrupted",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("addr") {
				s.addr = net.JoinHostPort(s.host, strconv.Itoa(s.port))
			}
			return run(cmd.Context(), s, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.addr, "addr", net.JoinHostPort(defaults.Host, strconv.Itoa(defaults.EmulatorPort)),
		"listen address of the emulator (default --host and --emulator-port)")
	f.StringVar(&s.host, "host", defaults.Host, "IP address the emulator binds when --addr is not given")
	f.IntVar(&s.port, "emulator-port", defaults.EmulatorPort, "port the emulator listens on when --addr is not given")
	f.Int64Var(&s.seed, "seed", emulator.DefaultSeed, "seed of the emulator's dataset")
	f.IntVar(&s.users, "users", emulator.DefaultUsers, "number of seeded Genesys users")
	f.IntVar(&s.conversations, "conversations", emulator.DefaultConversations, "number of seeded conversations")
	f.IntVar(&s.requestsPerMinute, "requests-per-minute", 300, "per-OAuth-client rate limit, as Genesys's default; -1 turns it off")
	f.IntVar(&s.callLog, "call-log", emulator.DefaultCallLog, "how many Genesys calls GET /emulator/v1/calls keeps (the newest)")
	f.StringVar(&s.logLevel, "log-level", "info", "debug, info, warn or error (debug logs one line per request)")
	return cmd
}

// run serves the emulator on s.addr until ctx ends, after telling out how a worker reaches it.
func run(ctx context.Context, s settings, out, logs io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", s.logLevel)
	}
	if s.requestsPerMinute == 0 || s.requestsPerMinute < -1 {
		return fmt.Errorf("--requests-per-minute %d: want a positive limit, or -1 for none", s.requestsPerMinute)
	}
	if s.callLog <= 0 {
		return fmt.Errorf("--call-log %d: want a positive number of calls", s.callLog)
	}
	em := emulator.New(emulator.Options{
		Seed: s.seed, Users: s.users, Conversations: s.conversations,
		RequestsPerMinute: s.requestsPerMinute, CallLog: s.callLog,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level})),
	})
	fmt.Fprintf(out, "Genesys emulator: http://%s (seed %d, %d users, %d conversations)\n", s.addr, s.seed, s.users, s.conversations)
	fmt.Fprintf(out, "OAuth client:     %s / %s\n", emulator.DevClientID, emulator.DevClientSecret)
	fmt.Fprintf(out, "Worker settings:  GENESYSCLOUD_API_URL=http://%s GENESYSCLOUD_OAUTHCLIENT_ID=%s GENESYSCLOUD_OAUTHCLIENT_SECRET=%s\n",
		s.addr, emulator.DevClientID, emulator.DevClientSecret)
	err := em.Serve(ctx, s.addr)
	if err != nil && strings.Contains(err.Error(), "already in use") {
		return fmt.Errorf("%w (choose another address with --addr)", err)
	}
	return err
}
