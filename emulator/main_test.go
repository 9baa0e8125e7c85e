package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys/emulator"
	"github.com/offboard/offboard/internal/command"
	"github.com/offboard/offboard/internal/version"
)

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// syncBuffer is a bytes.Buffer safe to read while the command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the command with args until the test ends; it returns the command's output and its
// result, which arrives once the context is cancelled.
func start(t *testing.T, args ...string) (*syncBuffer, context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var out syncBuffer
	cmd := newRoot()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	return &out, cancel, done
}

// token logs in as the built-in dev client once the emulator at base listens.
func token(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", u.Host)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "the emulator never listened on %s", u.Host)

	req, err := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(emulator.DevClientID, emulator.DevClientSecret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	require.NotEmpty(t, tok.AccessToken)
	return tok.AccessToken
}

func Test_GivenAnAddressAndADataset_ShouldServeTokensAndTheAPIThereUntilStopped(t *testing.T) {
	addr := freeAddr(t)
	out, stop, done := start(t, "--addr", addr, "--seed", "3", "--users", "7", "--conversations", "20")
	base := "http://" + addr

	req, err := http.NewRequest(http.MethodGet, base+"/api/v2/users?state=any&pageSize=100", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token(t, base))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var users struct{ Total int }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&users))
	assert.Equal(t, 7, users.Total, "the --users flag seeds the dataset")
	assert.Contains(t, out.String(), "GENESYSCLOUD_API_URL="+base)
	assert.Contains(t, out.String(), "seed 3, 7 users, 20 conversations")

	stop()
	select {
	case err := <-done:
		require.NoError(t, err, "an interrupt is a clean stop")
	case <-time.After(10 * time.Second):
		t.Fatal("the emulator did not stop")
	}
}

func Test_GivenHostAndPortWithoutAddr_ShouldListenThere(t *testing.T) {
	host, port, err := net.SplitHostPort(freeAddr(t))
	require.NoError(t, err)
	start(t, "--host", host, "--emulator-port", port, "--users", "5", "--conversations", "10")
	token(t, "http://"+net.JoinHostPort(host, port))
}

func Test_GivenABusyAddress_ShouldFailNamingTheFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, _, done := start(t, "--addr", ln.Addr().String(), "--users", "5", "--conversations", "10")
	select {
	case err := <-done:
		require.ErrorContains(t, err, "already in use")
		assert.ErrorContains(t, err, "--addr")
	case <-time.After(10 * time.Second):
		t.Fatal("the emulator did not fail on a busy address")
	}
}

func Test_GivenAnUnknownLogLevel_ShouldFailBeforeListening(t *testing.T) {
	_, _, done := start(t, "--addr", freeAddr(t), "--log-level", "loud")
	require.ErrorContains(t, <-done, "--log-level")
}

func Test_GivenVersionOrAnUnknownFlag_ShouldPrintTheVersionOrExit2(t *testing.T) {
	var out, errOut bytes.Buffer
	root := newRoot()
	root.SetOut(&out)
	assert.Equal(t, 0, command.Run(context.Background(), "emulator", root, []string{"--version"}, &errOut), errOut.String())
	assert.Equal(t, "emulator "+version.String()+"\n", out.String())

	errOut.Reset()
	assert.Equal(t, command.ExitUsage, command.Run(context.Background(), "emulator", newRoot(), []string{"--users", "many"}, &errOut))
	assert.Contains(t, errOut.String(), "Usage: emulator [flags]")
}

func Test_GivenARateLimitAndACallLogSize_ShouldAnswer429PastTheLimitAndKeepTheNewestCalls(t *testing.T) {
	addr := freeAddr(t)
	start(t, "--addr", addr, "--users", "5", "--conversations", "10", "--requests-per-minute", "3", "--call-log", "2")
	base := "http://" + addr
	tok := token(t, base)
	statuses := make([]int, 0, 4)
	for range 4 {
		req, err := http.NewRequest(http.MethodGet, base+"/api/v2/users?pageSize=1", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	assert.Equal(t, http.StatusTooManyRequests, statuses[len(statuses)-1], "past 3 requests a minute: %v", statuses)

	resp, err := http.Get(base + "/emulator/v1/calls")
	require.NoError(t, err)
	defer resp.Body.Close()
	var calls []emulator.Call
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&calls))
	require.Len(t, calls, 2, "--call-log 2 keeps the two newest calls")
	assert.Equal(t, http.StatusTooManyRequests, calls[1].Status)
}

func Test_GivenAZeroRateLimitOrCallLog_ShouldFailNamingTheFlag(t *testing.T) {
	for flag, value := range map[string]string{"--requests-per-minute": "0", "--call-log": "0"} {
		_, _, done := start(t, "--addr", freeAddr(t), flag, value)
		require.ErrorContains(t, <-done, flag)
	}
}
