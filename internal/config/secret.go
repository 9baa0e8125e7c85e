package config

import (
	"fmt"
	"os"

	"github.com/offboard/offboard/internal/webhook"
)

// secretText reads a secret given either as a file (fileVar) or as the value of envVar, and
// returns it with the label errors about its content name (never the content itself). ok is
// false when neither is set; both set is an error.
func (s Source) secretText(fileVar, envVar string) (text []byte, label string, ok bool, err error) {
	path, fileLabel, fromFile := s.get(fileVar)
	v, label, fromEnv := s.get(envVar)
	switch {
	case fromFile && fromEnv:
		return nil, "", false, fmt.Errorf("%s and %s are both set: set one", fileLabel, label)
	case fromFile:
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, "", false, fmt.Errorf("%s: %w", fileLabel, err)
		}
		return b, fileLabel + "=" + path, true, nil
	case fromEnv:
		return []byte(v), label, true, nil
	}
	return nil, "", false, nil
}

// webhookSecrets reads whsec_ secrets from the file fileVar names or the variable envVar; none
// set is nil and no error.
func (s Source) webhookSecrets(fileVar, envVar string) ([]webhook.Secret, error) {
	raw, label, ok, err := s.secretText(fileVar, envVar)
	if err != nil || !ok {
		return nil, err
	}
	secrets, err := webhook.ParseSecrets(string(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return secrets, nil
}
