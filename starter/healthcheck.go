package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckTimeout bounds one probe, below the compose healthchecks' own timeout.
const healthcheckTimeout = 3 * time.Second

// healthcheckCmd probes a health endpoint for the compose healthchecks: the image is distroless,
// with no shell, curl or wget, so its own binary does the GET.
func (c *cli) healthcheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "healthcheck <url>",
		Short: "GET url and exit 0 when it answers 2xx, 1 otherwise (the compose stack's container healthchecks)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.probe(cmd.Context(), args[0])
		},
	}
}

// probe GETs url and fails unless it answers 2xx within healthcheckTimeout.
func (c *cli) probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
