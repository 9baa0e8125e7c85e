package config

import (
	"fmt"
	"time"

	"github.com/offboard/offboard/internal/webhook"
)

// Events is how the HR API verifies signed HR events.
type Events struct {
	// Secrets verify the events' signatures; none means the API takes no events.
	Secrets []webhook.Secret
	// Tolerance is the replay window, either way of now.
	Tolerance time.Duration
}

// Events reads OFFBOARD_EVENT_SECRETS or OFFBOARD_EVENT_SECRETS_FILE (one of them) and
// OFFBOARD_EVENT_TOLERANCE. Neither secret setting is no secrets, not an error; a malformed
// secret is an error that names the setting and the secret's position, never its value.
func (s Source) Events() (Events, error) {
	tol, err := s.Duration(EnvEventTolerance, webhook.DefaultTolerance)
	if err == nil && tol <= 0 {
		_, label, _ := s.get(EnvEventTolerance)
		err = fmt.Errorf("%s=%s: the replay window must be positive, e.g. 5m", label, tol)
	}
	if err != nil {
		return Events{}, err
	}
	secrets, err := s.webhookSecrets(EnvEventSecretsFile, EnvEventSecrets)
	if err != nil {
		return Events{}, err
	}
	return Events{Secrets: secrets, Tolerance: tol}, nil
}
