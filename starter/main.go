// Command starter is Offboard's front door: `starter serve` runs the HR HTTP API, and the other
// commands let operators and approvers start, decide, control, inspect and verify offboardings
// by talking to Temporal directly. Configuration comes from the environment (see
// internal/config.Vars), with flags overriding it.
package main

import (
	"context"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/offboard/offboard/internal/command"
	"github.com/offboard/offboard/internal/config"
)

func main() { command.Execute("starter", newRootCmd(deps{})) }

// deps are what the commands reach outside the process; tests replace them.
type deps struct {
	// Env is the environment; nil means the process environment.
	Env config.Env
	// Dial connects to Temporal; nil means client.DialContext.
	Dial func(ctx context.Context, opts client.Options) (client.Client, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnListen is called with the HR API's bound address once serve listens.
	OnListen func(addr string)
	// HTTP calls the HR API; nil means http.DefaultClient.
	HTTP *http.Client
}

func (d deps) dial(ctx context.Context, opts client.Options) (client.Client, error) {
	if d.Dial != nil {
		return d.Dial(ctx, opts)
	}
	return client.DialContext(ctx, opts)
}
