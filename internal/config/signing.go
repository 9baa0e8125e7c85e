package config

import (
	"fmt"

	"github.com/offboard/offboard/internal/credential"
)

// Signer reads the decision signing key from OFFBOARD_DECISION_SIGNING_KEY_FILE or
// OFFBOARD_DECISION_SIGNING_KEY; it is nil when neither is set. Errors never show the key.
func (s Source) Signer(issuer string) (*credential.Signer, error) {
	raw, label, ok, err := s.secretText(EnvDecisionSigningKeyFile, EnvDecisionSigningKey)
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
