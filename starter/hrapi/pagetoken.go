package hrapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/offboard/offboard/workflows"
)

// MinPageTokenKeyLen is the shortest page token key New accepts.
const MinPageTokenKeyLen = 32

// pageTokens signs the page tokens List returns, so that a token it did not sign, or one
// signed for another query, is refused before it reaches Temporal. A token is base64url of
// Temporal's token followed by HMAC-SHA256 over that token and the query.
type pageTokens struct{ key []byte }

// newPageTokens uses key, or a random key when it is nil: tokens then hold only within this
// process, so replicas behind one address need a shared key.
func newPageTokens(key []byte) (*pageTokens, error) {
	if key == nil {
		key = make([]byte, MinPageTokenKeyLen)
		_, _ = rand.Read(key) // never fails
	}
	if len(key) < MinPageTokenKeyLen {
		return nil, fmt.Errorf("hrapi: the page token key has %d bytes; at least %d are needed", len(key), MinPageTokenKeyLen)
	}
	return &pageTokens{key: key}, nil
}

func (p *pageTokens) mac(q ListQuery, temporal []byte) []byte {
	h := hmac.New(sha256.New, p.key)
	// Stage and disposition are from fixed sets (VisibilityQuery checked them): no NUL in them.
	for _, part := range []string{"offboard page token v1", q.Stage, q.Disposition, strconv.Itoa(q.PageSize)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(temporal)
	return h.Sum(nil)
}

// sign makes the API's token for Temporal's token of the page after q.
func (p *pageTokens) sign(q ListQuery, temporal []byte) string {
	return base64.RawURLEncoding.EncodeToString(append(append([]byte{}, temporal...), p.mac(q, temporal)...))
}

// open returns Temporal's token inside token, which must have been signed for q.
func (p *pageTokens) open(q ListQuery, token string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) <= sha256.Size {
		return nil, badPageToken("is not a token this API returned")
	}
	temporal, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if !hmac.Equal(sum, p.mac(q, temporal)) {
		return nil, badPageToken("is not a token this API returned for this stage, disposition and page size")
	}
	return temporal, nil
}

func badPageToken(why string) *Problem {
	return invalid("the page token is invalid", workflows.FieldError{Field: "pageToken", Message: why + "; omit it to start from the first page"})
}
