package stack

import (
	"fmt"
	"net/http"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/starter/hrapi"
	"github.com/offboard/offboard/workflows"
)

// DevEventSecret signs the HR events of the devstack unless OFFBOARD_EVENT_SECRETS (or its
// file) is configured. It is public: the banner prints it, and no production API takes it.
const DevEventSecret = "whsec_b2ZmYm9hcmQtZGV2LXdlYmhvb2stc2VjcmV0LTAx"

// newHRAPI builds the HR API handler with the dev tokens, taking events signed with the
// operator's event secrets from env, else with DevEventSecret; s.EventSecret records which.
func (s *Stack) newHRAPI(env config.Env, policy workflows.Policy) (http.Handler, error) {
	events, err := config.Source{Env: env}.Events()
	if err != nil {
		return nil, err
	}
	var dev bool
	if events.Secrets, dev, err = orDevSecret(events.Secrets, DevEventSecret); err != nil {
		return nil, err
	}
	if dev {
		s.EventSecret = DevEventSecret
	}
	// Batches store their items in the worker's store; it closes when the stack stops.
	store, err := bundle.Open(s.ctx, s.ExportURL)
	if err != nil {
		return nil, fmt.Errorf("open the export store for batches: %w", err)
	}
	s.group.Go(func() error {
		<-s.ctx.Done()
		return store.Close()
	})
	h, err := hrapi.New(hrapi.Options{Temporal: s.Client, Policy: policy, Tokens: DevTokens(), Signer: s.Signer, Development: true,
		Logger: s.logger.With("component", "hrapi"), EventSecrets: events.Secrets, EventTolerance: events.Tolerance,
		Codec: s.payloads, CodecOrigin: s.Temporal.UIURL, Store: store})
	if err != nil {
		return nil, fmt.Errorf("build the HR API: %w", err)
	}
	return h, nil
}

// eventsLine is the banner's line on HR events: the dev secret, which is public, or that the
// operator's secrets are in use, which are not.
func eventsLine(s *Stack) string {
	if s.EventSecret != "" {
		return "POST " + s.APIURL + "/v1/events signed with " + s.EventSecret + " (dev secret; see README \"HR events\")"
	}
	return "POST " + s.APIURL + "/v1/events signed with the secrets of " + config.EnvEventSecrets + " (not shown)"
}
