package stack

import (
	"fmt"
	"log/slog"
	"net/http"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// newHRAPI builds the HR API handler with the dev tokens, and its codec server for uiOrigin.
func newHRAPI(c client.Client, policy workflows.Policy, signer *credential.Signer, payloads converter.PayloadCodec, uiOrigin string, logger *slog.Logger) (http.Handler, error) {
	h, err := hrapi.New(hrapi.Options{Temporal: c, Policy: policy, Tokens: DevTokens(), Signer: signer, Development: true, Logger: logger,
		Codec: payloads, CodecOrigin: uiOrigin})
	if err != nil {
		return nil, fmt.Errorf("build the HR API: %w", err)
	}
	return h, nil
}
