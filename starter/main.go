// Command starter is Offboard's front door: `starter serve` runs the HR HTTP API, and the other
// commands let operators and approvers start, decide, control, inspect and verify offboardings:
// start and decision credentials through the HR API, the rest with Temporal. Configuration comes from the environment (see
// internal/config.Vars), with flags overriding it.
package main

import (
	"net/http"
	"time"

	"github.com/offboard/offboard/internal/command"
	"github.com/offboard/offboard/internal/config"
)

func main() { command.Execute("starter", newRootCmd(deps{})) }

// deps are what the commands reach outside the process; tests replace them.
type deps struct {
	// Env is the environment; nil means the process environment.
	Env config.Env
	// Dial connects to Temporal; nil means client.DialContext.
	Dial config.Dialer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnListen is called with the HR API's bound address once serve listens.
	OnListen func(addr string)
	// HTTP calls the HR API; nil means http.DefaultClient.
	HTTP *http.Client
}
