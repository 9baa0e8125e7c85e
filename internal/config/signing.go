package config

import (
	"fmt"
	"os"

	"github.com/offboard/offboard/internal/credential"
)

// Signer reads the decision signing key from OFFBOARD_DECISION_SIGNING_KEY_FILE or
// OFFBOARD_DECISION_SIGNING_KEY; it is nil when neither is set. Errors never show the key.
func (s Source) Signer(issuer string) (*credential.Signer, error) {
	raw, label, ok, err := s.secretInput(EnvDecisionSigningKeyFile, EnvDecisionSigningKey)
	if err != nil || !ok {
		return nil, err
	}
	key, err := credential.ParsePrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	signer, err := credential.NewSigner(key, issuer)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return signer, nil
}

// secretInput reads a secret from the file fileVar names or from the variable envVar, never
// both; ok is false when neither is set. label names the source for errors, never the value.
func (s Source) secretInput(fileVar, envVar string) (raw []byte, label string, ok bool, err error) {
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
