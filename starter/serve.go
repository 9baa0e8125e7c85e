package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	tlog "go.temporal.io/sdk/log"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/starter/hrapi"
)

func tlogDiscard() tlog.Logger { return tlog.NewStructuredLogger(slogDiscard()) }

func (c *cli) serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HR HTTP API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			src := c.source(cmd)
			logger, err := src.Logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			opts, payloads, errTemporal := src.TemporalWithCodec()
			policy, errPolicy := src.Policy()
			tokens, errTokens := src.Tokens()
			signer, errSigner := src.Signer(hrapi.Issuer)
			events, errEvents := src.Events()
			origin, errOrigin := src.CodecOrigin()
			exportURL, errExport := src.URL(config.EnvExportURL, config.DefaultExportURL, "file", "s3", "gs", "azblob")
			if err := errors.Join(errTemporal, errPolicy, errTokens, errSigner, errEvents, errOrigin, errExport); err != nil {
				return fmt.Errorf("configuration:\n%w", err)
			}
			opts.Logger = tlog.NewStructuredLogger(logger)
			tc, err := config.ConnectTemporal(ctx, opts, c.Dial)
			if err != nil {
				return err
			}
			defer tc.Close()
			store, err := bundle.Open(ctx, exportURL)
			if err != nil {
				return fmt.Errorf("%s: %w", config.EnvExportURL, err)
			}
			defer store.Close()
			h, err := hrapi.New(hrapi.Options{Temporal: tc, Policy: policy, Tokens: tokens, Signer: signer, Logger: logger, Now: c.Now,
				EventSecrets: events.Secrets, EventTolerance: events.Tolerance, Codec: payloads, CodecOrigin: origin, Store: store})
			if err != nil {
				return err
			}
			logEvents(logger, events)
			addr := src.String(config.EnvAPIAddr, config.DefaultAPIAddr)
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("%s=%s: listen: %w", config.EnvAPIAddr, addr, err)
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
			logger.Info("HR API listening", "addr", ln.Addr().String(), "tokens", len(tokens), "namespace", opts.Namespace, "codecOrigin", origin)
			if c.OnListen != nil {
				c.OnListen(ln.Addr().String())
			}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				return fmt.Errorf("HR API stopped: %w", err)
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			logger.Info("HR API shutting down")
			return srv.Shutdown(sctx)
		},
	}
	config.AddFlags(cmd.Flags(), append(append([]string{config.EnvAPIAddr, config.EnvAPITokensFile, config.EnvDecisionSigningKeyFile, config.EnvCodecOrigin, config.EnvLogLevel, config.EnvLogFormat,
		config.EnvEventSecretsFile, config.EnvEventTolerance, config.EnvExportURL}, temporalVars...), policyVars()...)...)
	return cmd
}

// logEvents says at startup whether the HR API takes HR events, never with a secret.
func logEvents(logger *slog.Logger, events config.Events) {
	if len(events.Secrets) == 0 {
		logger.Warn("HR events are off: POST /v1/events answers 503 until " + config.EnvEventSecrets + " or " + config.EnvEventSecretsFile + " is set")
		return
	}
	logger.Info("HR events on", "path", "/v1/events", "secrets", len(events.Secrets), "tolerance", events.Tolerance.String())
}
