package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is one of the cluster's processes. Every start appends to the same log file, so that a
// failure message shows the process's whole life across restarts.
type proc struct {
	name string
	bin  string
	args []string
	env  []string
	log  string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// start runs the process, in the background, with its output going to its log file.
func (p *proc) start() error {
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n=== %s: start %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), p.name, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = p.env, out, out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.done, p.err = cmd, make(chan struct{}), nil
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return nil
}

// running reports whether the process has been started and has not exited.
func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// pid is the process ID of the current start.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *proc) kill() {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop sends SIGTERM and waits up to grace for a clean exit, then kills. It returns an error
// when the process did not exit in time or exited with a failure.
func (p *proc) stop(grace time.Duration) error {
	if !p.running() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		var exit *exec.ExitError
		if errors.As(p.err, &exit) {
			return fmt.Errorf("%s exited with %v after SIGTERM (log %s)", p.name, p.err, p.log)
		}
		return nil
	case <-time.After(grace):
		p.kill()
		return fmt.Errorf("%s did not exit within %v of SIGTERM (log %s)", p.name, grace, p.log)
	}
}

// exited returns an error naming the process when it has exited though nobody stopped it.
func (p *proc) exited() error {
	if p.cmd != nil && !p.running() {
		return fmt.Errorf("%s exited unexpectedly: %v (log %s)", p.name, p.err, p.log)
	}
	return nil
}

// waitReady polls ready until it succeeds, the process exits or timeout passes.
func (p *proc) waitReady(ctx context.Context, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if err := p.exited(); err != nil {
			return err
		}
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %v: %v (log %s)", p.name, timeout, last, p.log)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// httpOK is a readiness check: GET url answers 200.
func httpOK(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// script runs deploy/postgres.sh with args, returning its output.
func script(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(repo, "deploy", "postgres.sh")}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("deploy/postgres.sh %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// putFaults sets the emulator's faults (PUT /emulator/v1/faults) to the JSON body.
func putFaults(ctx context.Context, emulatorURL, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, emulatorURL+"/emulator/v1/faults", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT /emulator/v1/faults: %s", resp.Status)
	}
	return nil
}
