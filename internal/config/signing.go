package config

import (
	"fmt"
	"os"

	"github.com/offboard/offboard/internal/credential"
)

// Signer reads the HR API's decision signing key from OFFBOARD_DECISION_SIGNING_KEY_FILE or
// OFFBOARD_DECISION_SIGNING_KEY; it is nil when neither is set. Errors never show the key.
func (s Source) Signer(issuer string) (*credential.Signer, error) {
	path, fileLabel, fromFile := s.get(EnvDecisionSigningKeyFile)
	v, label, fromEnv := s.get(EnvDecisionSigningKey)
	var raw []byte
	switch {
	case fromFile && fromEnv:
		return nil, fmt.Errorf("%s and %s are both set: set one", fileLabel, label)
	case fromFile:
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fileLabel, err)
		}
		raw, label = b, fileLabel+"="+path
	case fromEnv:
		raw = []byte(v)
	default:
		return nil, nil
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
