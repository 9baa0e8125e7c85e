package config

import (
	"fmt"
	"os"
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
	ev := Events{Tolerance: webhook.DefaultTolerance}
	tol, err := s.Duration(EnvEventTolerance, webhook.DefaultTolerance)
	if err == nil && tol == 0 {
		_, label, _ := s.get(EnvEventTolerance)
		err = fmt.Errorf("%s=0: the replay window must be positive, e.g. 5m", label)
	}
	if err != nil {
		return Events{}, err
	}
	ev.Tolerance = tol
	path, fileLabel, fromFile := s.get(EnvEventSecretsFile)
	v, label, fromEnv := s.get(EnvEventSecrets)
	switch {
	case fromFile && fromEnv:
		return Events{}, fmt.Errorf("%s and %s are both set: set one", fileLabel, label)
	case fromFile:
		raw, err := os.ReadFile(path)
		if err != nil {
			return Events{}, fmt.Errorf("%s: %w", fileLabel, err)
		}
		v, label = string(raw), fileLabel+"="+path
	case !fromEnv:
		return ev, nil
	}
	ev.Secrets, err = webhook.ParseSecrets(v)
	if err != nil {
		return Events{}, fmt.Errorf("%s: %w", label, err)
	}
	return ev, nil
}
