package activities_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys/emulator"
)

// childEmulatorEnv, when set in a test binary's environment, makes that binary serve an
// emulator instead of running tests (see TestMain). Its value is a childEmulatorConfig in JSON.
const childEmulatorEnv = "OFFBOARD_BENCH_EMULATOR"

// childEmulatorConfig is what a child emulator is built from. The clock is always exportClock.
type childEmulatorConfig struct {
	Seed          int64         `json:"seed"`
	Users         int           `json:"users"`
	Conversations int           `json:"conversations"`
	Span          time.Duration `json:"span"`
	JobPolls      int           `json:"jobPolls"`
	// CountStart and CountEnd bound the window whose conversation count the child reports for
	// its first seeded user.
	CountStart time.Time `json:"countStart"`
	CountEnd   time.Time `json:"countEnd"`
}

// childEmulatorReady is the one line a child prints on stdout once it listens.
type childEmulatorReady struct {
	URL   string `json:"url"`
	User  string `json:"user"`
	Count int    `json:"count"`
}

// TestMain runs the package's tests as usual, unless childEmulatorEnv is set: then the binary
// is a child emulator started by startChildEmulator, and runs no test at all.
func TestMain(m *testing.M) {
	if cfg, ok := os.LookupEnv(childEmulatorEnv); ok {
		if err := serveChildEmulator(cfg, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "child emulator:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveChildEmulator serves an emulator built from cfg on a free loopback port, announces it
// on out, and stops when in reaches EOF (the parent closed the pipe or died).
func serveChildEmulator(cfg string, in io.Reader, out io.Writer) error {
	var c childEmulatorConfig
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		return fmt.Errorf("decode %s=%q: %w", childEmulatorEnv, cfg, err)
	}
	em := emulator.New(emulator.Options{Seed: c.Seed, Users: c.Users, Conversations: c.Conversations,
		Span: c.Span, JobPolls: c.JobPolls, RequestsPerMinute: -1, Now: func() time.Time { return exportClock }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on a loopback port: %w", err)
	}
	srv := &http.Server{Handler: em, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	user := em.SeedUsers()[0].ID
	ready := childEmulatorReady{URL: "http://" + ln.Addr().String(), User: user,
		Count: em.ConversationCount(user, c.CountStart, c.CountEnd)}
	if err := json.NewEncoder(out).Encode(ready); err != nil {
		return fmt.Errorf("announce the address: %w", err)
	}
	eof := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, in); close(eof) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-eof:
		// The parent is done with it: nothing is in flight that matters, and Shutdown would wait
		// 5s for any connection the parent's transport dialed but never used.
		return srv.Close()
	}
}

// startChildEmulator re-executes the test binary as a child emulator (see TestMain), so that
// the emulator's dataset, rendering and garbage stay out of this process's heap, and kills it
// when tb ends.
func startChildEmulator(tb testing.TB, cfg childEmulatorConfig) childEmulatorReady {
	tb.Helper()
	raw, err := json.Marshal(cfg)
	require.NoError(tb, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEmulatorEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(tb, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	require.NoError(tb, cmd.Start(), "start the child emulator")
	tb.Cleanup(func() {
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		_ = stdin.Close() // asks the child to shut down
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	// Read before Wait runs: Wait closes the pipe.
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		require.NoError(tb, err, "read the child emulator's address")
	}
	var ready childEmulatorReady
	require.NoError(tb, json.Unmarshal(line, &ready), "child emulator announced %q", line)
	return ready
}
