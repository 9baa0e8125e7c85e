package stack

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"syscall"
)

// PortInUseError says that a port the stack needs is taken, and which flag moves it.
type PortInUseError struct {
	Addr string // host:port that could not be bound
	What string // what wanted it, e.g. "Temporal frontend gRPC"
	Flag string // the devstack flag that changes it, e.g. "--temporal-port"
	Err  error
}

// Error implements error.
func (e *PortInUseError) Error() string {
	msg := fmt.Sprintf("%s cannot listen on %s: the port is already in use", e.What, e.Addr)
	if e.Flag != "" {
		msg += fmt.Sprintf(" (is another devstack or Temporal dev server running? stop it, or choose another port with %s)", e.Flag)
	}
	return msg
}

// Unwrap returns the listen error.
func (e *PortInUseError) Unwrap() error { return e.Err }

// checkPortFree fails with a *PortInUseError if host:port cannot be bound now. It closes the probe
// listener at once, so a race with another process remains possible but the usual case, a second
// devstack, gets a clear message instead of a server log line.
func checkPortFree(host string, port int, what, flag string) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return &PortInUseError{Addr: addr, What: what, Flag: flag, Err: err}
		}
		return fmt.Errorf("%s cannot listen on %s: %w", what, addr, err)
	}
	return ln.Close()
}

// freePort finds a free TCP port on host below Linux's ephemeral range (32768 and up), so that
// the kernel does not hand it to another process's outgoing connection or ":0" listener in the
// window before the server binds it, or while a restarted server is down.
func freePort(host string) (int, error) {
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			ln.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("find a free port on %s: 100 tries in 20000-31999 were all taken", host)
}

// listen binds host:port for an HTTP server, with the clear in-use message.
func listen(host string, port int, what, flag string) (net.Listener, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, &PortInUseError{Addr: addr, What: what, Flag: flag, Err: err}
		}
		return nil, fmt.Errorf("%s cannot listen on %s: %w", what, addr, err)
	}
	return ln, nil
}
