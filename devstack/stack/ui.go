package stack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"

	"github.com/offboard/offboard/internal/config"
)

// UIOptions configures StartUI.
type UIOptions struct {
	Host            string // default 127.0.0.1
	Port            int    // required
	TemporalAddress string // frontend host:port
	Namespace       string // opened by default
	PortFlag        string // flag that moves Port, for the "port in use" message
	// CodecEndpoint is the codec server the UI's browser calls to show payloads decoded (the
	// UI adds /encode and /decode); empty shows them encrypted.
	CodecEndpoint string
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
		// The devstack's UI has no sign-in, so it has no token to pass: its endpoint is
		// UICodecPath, which adds the dev auditor's (see UICodec).
		Codec:              uiconfig.Codec{Endpoint: o.CodecEndpoint},
		DisableNewsFetch:   true,
		NotifyOnNewVersion: false,

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

// UICodecPath is where the devstack's HR API serves the Web UI's codec endpoint.
const UICodecPath = "/devstack/ui-codec"

// UICodec serves the Web UI's codec endpoint in front of api, the HR API: a request to
// UICodecPath/encode or /decode from the UI's origin is the HR API's /codec call with the dev
// auditor's token added, because the devstack's UI has no sign-in and so no token to forward.
// Every other request goes to api as it is. It is for the devstack alone, which listens on
// loopback and whose tokens are public: production runs the UI with OIDC and
// codec.passAccessToken, and the HR API checks the signed-in operator's own token.
func UICodec(api http.Handler, uiOrigin string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := strings.CutPrefix(r.URL.Path, UICodecPath+"/")
		if !ok || (op != "encode" && op != "decode") {
			api.ServeHTTP(w, r)
			return
		}
		r = r.Clone(r.Context())
		r.URL.Path, r.URL.RawPath = "/codec/"+op, ""
		if r.Method == http.MethodPost && uiOrigin != "" && r.Header.Get("Origin") == uiOrigin {
			r.Header.Set("Authorization", "Bearer "+TokenAuditor)
		}
		api.ServeHTTP(w, r)
	})
}

// uiCodecEndpoint is the Web UI's codec endpoint on the stack's HR API: none without a UI, or
// when the stack listens beyond loopback, where the auditor token UICodec adds would reach
// other machines.
func uiCodecEndpoint(o Options, ls *listeners) string {
	if o.NoUI || !isLoopback(o.Host) {
		return ""
	}
	return "http://" + ls.api.Addr().String() + UICodecPath
}

// withUICodec is api behind UICodec when the stack has a UI codec endpoint.
func (s *Stack) withUICodec(api http.Handler) http.Handler {
	if s.UICodecURL == "" {
		return api
	}
	return UICodec(api, s.Temporal.UIURL)
}

// isLoopback reports whether host, an IP or a name, only ever means this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// payloadLines are the banner's lines on payload encryption and the codec server.
func payloadLines(line func(k, v string), s *Stack) {
	keys := s.PayloadKeysPath
	if keys == "" {
		keys = "from " + config.EnvPayloadKeys
	}
	line("Payload keys", keys+"  (every payload in the history is encrypted)")
	line("Codec server", s.CodecURL+"/decode and /encode  (Authorization: Bearer "+TokenAuditor+")")
	if s.UICodecURL != "" {
		line("Web UI codec", s.UICodecURL+"  (adds the dev auditor token for the UI's origin; devstack only)")
	}
}

// keysHint sets the CLI's payload keyring in the banner's commands; empty when the operator's
// environment gives it (OFFBOARD_PAYLOAD_KEYS), which the CLI then reads too.
func keysHint(s *Stack) string {
	if s.PayloadKeysPath == "" {
		return ""
	}
	return config.EnvPayloadKeysFile + "=" + s.PayloadKeysPath + " "
}
