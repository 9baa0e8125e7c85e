package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/offboard/offboard/internal/identity"
)

// Role is what an HR API token may do.
type Role string

// Roles.
const (
	RoleHR       Role = "hr"       // start, cancel, hold, release, extend retention, read
	RoleApprover Role = "approver" // approve, reject, shorten retention, read
	RoleAuditor  Role = "auditor"  // read only
)

// MinTokenLen is the shortest accepted bearer token.
const MinTokenLen = 16

// Token binds a bearer token to a role and an identity. Its String never shows the secret.
type Token struct {
	secret   string
	Role     Role
	Identity string
}

// NewToken builds a Token; it does not validate.
func NewToken(secret string, role Role, identity string) Token {
	return Token{secret: secret, Role: role, Identity: identity}
}

// Secret returns the bearer token itself, for constant-time comparison only.
func (t Token) Secret() string { return t.secret }

// String shows the role and identity, never the secret.
func (t Token) String() string { return string(t.Role) + ":" + t.Identity }

// Tokens reads OFFBOARD_API_TOKENS and OFFBOARD_API_TOKENS_FILE. Errors name the entry by
// position, never by its secret. Identities come back in their normal form (identity.Normalize),
// so "Alice" and "alice" are one holder: several tokens may name one identity, with the same role
// (rotation) or different ones, and the four-eyes rule still sees one person.
func (s Source) Tokens() ([]Token, error) {
	var toks []Token
	var errs []error
	if v, label, ok := s.get(EnvAPITokens); ok {
		for i, e := range strings.Split(v, ",") {
			if strings.TrimSpace(e) == "" {
				continue
			}
			t, err := parseToken(e)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s entry %d: %w", label, i+1, err))
				continue
			}
			toks = append(toks, t)
		}
	}
	if path, label, ok := s.get(EnvAPITokensFile); ok {
		raw, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", label, err))
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			t, err := parseToken(line)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%s line %d: %w", label, path, n, err))
				continue
			}
			toks = append(toks, t)
		}
	}
	seen := map[string]bool{}
	for i, t := range toks {
		if seen[t.secret] {
			errs = append(errs, fmt.Errorf("%s/%s: token %d (%s) repeats an earlier token: each token must be unique", EnvAPITokens, EnvAPITokensFile, i+1, t))
		}
		seen[t.secret] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return toks, nil
}

func parseToken(entry string) (Token, error) {
	parts := strings.SplitN(strings.TrimSpace(entry), ":", 3)
	if len(parts) != 3 {
		return Token{}, errors.New("want token:role:identity")
	}
	t := Token{secret: strings.TrimSpace(parts[0]), Role: Role(strings.TrimSpace(parts[1])), Identity: strings.TrimSpace(parts[2])}
	switch {
	case len(t.secret) < MinTokenLen:
		return Token{}, fmt.Errorf("token is shorter than %d characters: generate one with `openssl rand -hex 32`", MinTokenLen)
	case t.Role != RoleHR && t.Role != RoleApprover && t.Role != RoleAuditor:
		return Token{}, fmt.Errorf("role %q is unknown: use hr, approver or auditor", t.Role)
	case t.Identity == "":
		return Token{}, errors.New("identity is empty: name who holds the token, e.g. workday or alice")
	}
	id, err := identity.Normalize(t.Identity)
	switch {
	case err != nil:
		return Token{}, err
	case strings.Contains(id, "@"):
		return Token{}, errors.New("identity looks like an email address: use an ID, because identities appear in search attributes")
	}
	t.Identity = id
	return t, nil
}
