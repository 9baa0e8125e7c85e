package credential_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/internal/credential"
)

// FuzzVerify: Verify never panics, refuses with a *credential.Error that does not repeat the
// credential, and accepts nothing but the credentials issued with the trusted key.
func FuzzVerify(f *testing.F) {
	stranger, err := credential.ParsePrivateKey([]byte("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"))
	require.NoError(f, err)
	issued := map[string]bool{}
	for i, edit := range []func(*credential.Claims){
		func(*credential.Claims) {},
		func(c *credential.Claims) {
			c.Action, c.Role, c.Comment = credential.ActionCancel, credential.RoleHR, "left early"
		},
		func(c *credential.Claims) {
			c.Action, c.Until = credential.ActionRetention, time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
		},
	} {
		c := approval()
		c.ID = "fuzz-" + string(rune('a'+i)) // fixed, so the issued credentials are the same on every run
		edit(&c)
		token := mustIssue(f, rfcKey(f), c)
		issued[token] = true
		f.Add(token)
		f.Add(mustIssue(f, stranger, c))
	}
	f.Add(signClaims(f, func(c map[string]any) { c["exp"] = issuedAt.Add(48 * time.Hour).Unix() }))
	f.Add(signClaims(f, func(c map[string]any) { c["sub"] = "Alice" }))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	keys := trusted(f)
	now := issuedAt.Add(time.Minute)
	f.Fuzz(func(t *testing.T, token string) {
		c, err := keys.Verify(token, now)
		if err == nil {
			require.True(t, issued[token], "accepted a credential that was never issued with the trusted key")
			assert.NotEmpty(t, c.Identity)
			return
		}
		var refused *credential.Error
		require.True(t, errors.As(err, &refused))
		assert.NotEmpty(t, refused.Reason)
		for _, part := range strings.Split(token, ".") {
			if len(part) >= 16 {
				assert.NotContains(t, err.Error(), part, "an error never repeats the credential")
			}
		}
	})
}
