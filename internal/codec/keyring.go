// Package codec keeps personal data out of the Temporal history: a payload codec that encrypts
// every payload with AES-256-GCM under a rotating keyring, and the codec server through which
// the Temporal Web UI and the temporal CLI read the payloads back for authorised operators.
package codec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// maxKeyIDLength bounds a key ID (keyIDPattern says the same).
const maxKeyIDLength = 64

// Keyring holds the keys payloads may be encrypted with, by ID, and the current one, with which
// new payloads are encrypted. Old keys stay so that payloads recorded before a rotation decode.
type Keyring struct {
	keys    map[string][]byte
	order   []string
	current string
}

// Current returns the ID of the key new payloads are encrypted with.
func (k *Keyring) Current() string { return k.current }

// IDs returns the IDs of every key held, in keyring order (for a startup log line; IDs are
// not secret).
func (k *Keyring) IDs() []string { return append([]string(nil), k.order...) }

// ParseKeyring reads a keyring text: entries `id:base64-of-32-bytes`, separated by newlines or
// commas; blank lines and lines starting with `#` are ignored. The entry marked with a leading
// `*` is current; with no mark, the first is. Standard or URL base64, padded or not, is accepted.
// Errors name the entry's position or key ID, never the key material.
func ParseKeyring(text string) (*Keyring, error) {
	entries := keyringEntries(text)
	if len(entries) == 0 {
		return nil, errors.New("codec keyring: no key (want id:base64-of-32-bytes entries)")
	}
	k := &Keyring{keys: map[string][]byte{}}
	marked := false
	for i, entry := range entries {
		isCurrent := strings.HasPrefix(entry, "*")
		id, key, err := parseEntry(strings.TrimPrefix(entry, "*"), i+1)
		if err != nil {
			return nil, err
		}
		if _, dup := k.keys[id]; dup {
			return nil, fmt.Errorf("codec keyring: key ID %q appears twice", id)
		}
		if isCurrent && marked {
			return nil, errors.New("codec keyring: more than one key is marked current with '*'")
		}
		k.keys[id] = key
		k.order = append(k.order, id)
		if isCurrent || i == 0 {
			k.current = id
		}
		marked = marked || isCurrent
	}
	return k, nil
}

// keyringEntries splits a keyring text into its trimmed, non-empty, non-comment entries.
func keyringEntries(text string) []string {
	var entries []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, entry := range strings.Split(line, ",") {
			if entry = strings.TrimSpace(entry); entry != "" {
				entries = append(entries, entry)
			}
		}
	}
	return entries
}

func parseEntry(entry string, n int) (id string, key []byte, err error) {
	id, encoded, ok := strings.Cut(entry, ":")
	id = strings.TrimSpace(id)
	if !ok || id == "" {
		return "", nil, fmt.Errorf("codec keyring: entry %d is not id:base64-of-32-bytes", n)
	}
	if !validKeyID(id) {
		return "", nil, fmt.Errorf("codec keyring: entry %d: key ID must be 1 to %d of A-Z a-z 0-9 . _ -", n, maxKeyIDLength)
	}
	key = decodeKey(strings.TrimSpace(encoded))
	if key == nil {
		return "", nil, fmt.Errorf("codec keyring: key %q is not base64", id)
	}
	if len(key) != KeySize {
		return "", nil, fmt.Errorf("codec keyring: key %q has %d bytes, want %d", id, len(key), KeySize)
	}
	return id, key, nil
}

// keyIDPattern keeps key IDs short and printable: they travel in clear in every payload.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func validKeyID(id string) bool { return keyIDPattern.MatchString(id) }

func decodeKey(s string) []byte {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

// LoadKeyring reads the keyring from the file at path when path is not empty, else from the
// environment variable env. Neither set, or both set, is an error, so that a worker never
// starts writing history in clear by mistake.
func LoadKeyring(path, env string) (*Keyring, error) {
	value, inEnv := os.LookupEnv(env)
	inEnv = inEnv && strings.TrimSpace(value) != ""
	switch {
	case path != "" && inEnv:
		return nil, fmt.Errorf("codec keyring: both a key file and $%s are set; use one", env)
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("codec keyring: %w", err)
		}
		return ParseKeyring(string(b))
	case inEnv:
		return ParseKeyring(value)
	default:
		return nil, fmt.Errorf("codec keyring: no key file given and $%s is not set", env)
	}
}
