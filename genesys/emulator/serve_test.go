package emulator_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenABusyPort_ShouldFailAndOtherwiseServeUntilStopped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	emu := emulator.New(emulator.Options{Users: 5, Conversations: 10})
	err = emu.Serve(context.Background(), ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("Serve on a busy port: %v", err)
	}

	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, addr) }()
	var resp *http.Response
	for range 100 {
		if resp, err = http.Get("http://" + addr + "/emulator/v1/users"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("emulator never answered: %v", err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
}
