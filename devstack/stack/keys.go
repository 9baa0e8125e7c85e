package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/starter/hrapi"
)

// signingKeyFile is the devstack's decision signing key, kept in the data directory so that
// credentials stay valid, and runs keep their keys, across restarts.
const signingKeyFile = "decision-signing-key.pem"

// devSigner loads the data directory's signing key, making one on the first start.
func devSigner(dataDir string) (*credential.Signer, string, error) {
	path := filepath.Join(dataDir, signingKeyFile)
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		key, err := credential.GenerateKey()
		if err != nil {
			return nil, "", err
		}
		raw = credential.EncodePrivateKey(key)
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, "", fmt.Errorf("create %s: %w", dataDir, err)
		}
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			return nil, "", fmt.Errorf("write the signing key: %w", err)
		}
	case err != nil:
		return nil, "", fmt.Errorf("read the signing key: %w", err)
	}
	key, err := credential.ParsePrivateKey(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w; delete it to make a new one", path, err)
	}
	signer, err := credential.NewSigner(key, hrapi.Issuer)
	return signer, path, err
}
