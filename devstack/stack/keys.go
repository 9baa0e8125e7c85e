package stack

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/converter"

	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/internal/config"
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

// env is the operator's environment; none when Options.Env is nil.
func (o Options) env() config.Env {
	if o.Env == nil {
		return config.MapEnv{}
	}
	return o.Env
}

// payloadKeysFile is the devstack's payload keyring, kept in the data directory so that the
// history of earlier runs stays readable across restarts.
const payloadKeysFile = "payload-keys"

// devPayloadKeys returns the payload keyring file and its codec: the operator's keyring when
// env sets OFFBOARD_PAYLOAD_KEYS_FILE or OFFBOARD_PAYLOAD_KEYS, else the data directory's,
// made on the first start.
func devPayloadKeys(dataDir string, env config.Env) (string, converter.PayloadCodec, error) {
	src := config.Source{Env: env}
	if path := src.String(config.EnvPayloadKeysFile, ""); path != "" || src.String(config.EnvPayloadKeys, "") != "" {
		pc, err := src.PayloadCodec()
		return path, pc, err
	}
	path := filepath.Join(dataDir, payloadKeysFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := writeDevPayloadKeys(dataDir, path); err != nil {
			return "", nil, err
		}
	}
	pc, err := config.Source{Env: config.MapEnv{config.EnvPayloadKeysFile: path}}.PayloadCodec()
	if err != nil {
		return "", nil, fmt.Errorf("%w; or delete %s to make a new one (the runs it encrypted then no longer decode)", err, path)
	}
	return path, pc, nil
}

// writeDevPayloadKeys writes a keyring of one new key, never over an existing file.
func writeDevPayloadKeys(dataDir, path string) error {
	key := make([]byte, codec.KeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	text := "# Offboard devstack payload keyring: development only, made on the first start.\n" +
		"# Production makes its own with `starter keys payload`; see docs/operations.md.\n" +
		"dev-1:" + base64.StdEncoding.EncodeToString(key) + "\n"
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dataDir, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write the payload keys: %w", err)
	}
	if _, err := f.WriteString(text); err != nil {
		_ = f.Close()
		return fmt.Errorf("write the payload keys: %w", err)
	}
	return f.Close()
}
