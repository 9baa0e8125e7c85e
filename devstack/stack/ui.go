package stack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// UIOptions configures StartUI.
type UIOptions struct {
	Host            string // default 127.0.0.1
	Port            int    // required
	TemporalAddress string // frontend host:port
	Namespace       string // opened by default
	PortFlag        string // flag that moves Port, for the "port in use" message
}

// UI is a running Temporal Web UI, serving the assets embedded in the ui-server module.
type UI struct {
	// URL is the UI's base URL.
	URL    string
	server *uiserver.Server
}

// StartUI starts the Temporal Web UI and waits until it answers. The news fetch and the new
// version notice are off: the stack never calls the internet. Terminate, Reset and the batch
// actions are off too: a terminated or reset run restores nothing and writes no audit record.
func StartUI(ctx context.Context, o UIOptions) (*UI, error) {
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	// ui-server exits the process when it cannot listen, so check first.
	if err := checkPortFree(o.Host, o.Port, "Temporal Web UI", o.PortFlag); err != nil {
		return nil, err
	}
	srv := uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                o.Host,
		Port:                o.Port,
		TemporalGRPCAddress: o.TemporalAddress,
		EnableUI:            true,
		DefaultNamespace:    o.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
		NotifyOnNewVersion:  false,

		WorkflowTerminateDisabled: true,
		WorkflowResetDisabled:     true,
		BatchActionsDisabled:      true,
	}))
	go func() { _ = srv.Start() }()

	base := "http://" + net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	ui := &UI{URL: base, server: srv}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return ui, nil
			}
		}
		select {
		case <-ctx.Done():
			srv.Stop()
			return nil, fmt.Errorf("Temporal Web UI on %s did not become healthy: %w", base, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop closes the UI server.
func (u *UI) Stop() { u.server.Stop() }
