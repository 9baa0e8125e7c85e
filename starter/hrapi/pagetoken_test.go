package hrapi

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/internal/credential"
)

var temporalNext = []byte("temporal-next-page")

// list lists as the auditor with the query q; it answers the page on 200.
func list(t *testing.T, h http.Handler, q url.Values) (answer, ListPage) {
	t.Helper()
	a := send(h, "GET", "/v1/offboardings?"+q.Encode(), "", map[string]string{"Authorization": "Bearer " + auditorSecret})
	var page ListPage
	if a.code == 200 {
		require.NoError(t, json.Unmarshal([]byte(a.body), &page))
	}
	return a, page
}

// signedToken is the token the API h answers for the first page of q.
func signedToken(t *testing.T, h http.Handler, q url.Values) string {
	t.Helper()
	a, page := list(t, h, q)
	require.Equal(t, 200, a.code, a.body)
	require.NotEmpty(t, page.NextPageToken)
	return page.NextPageToken
}

func Test_GivenAPageTokenTheAPISigned_ShouldPassTemporalsTokenOnForTheSameQuery(t *testing.T) {
	h, temporal, _ := newTestAPI(t, nil)
	temporal.next = temporalNext
	token := signedToken(t, h, url.Values{"stage": {"retention"}})
	assert.NotEqual(t, base64.RawURLEncoding.EncodeToString(temporalNext), token, "the token is not Temporal's own")

	a, _ := list(t, h, url.Values{"stage": {"retention"}, "pageSize": {"50"}, "pageToken": {token}})
	require.Equal(t, 200, a.code, "pageSize 50 is the default: the same query: %s", a.body)
	require.Len(t, temporal.lists, 2)
	assert.Equal(t, temporalNext, temporal.lists[1].NextPageToken)
	assert.Nil(t, temporal.lists[0].NextPageToken)
}

func Test_GivenAForgedOrForeignPageToken_ShouldAnswer400WithoutAskingTemporal(t *testing.T) {
	h, temporal, _ := newTestAPI(t, nil)
	temporal.next = temporalNext
	token := signedToken(t, h, url.Values{"stage": {"retention"}})
	other, otherTemporal, _ := newTestAPI(t, func(o *Options) { o.PageTokenKey = bytes.Repeat([]byte{1}, MinPageTokenKeyLen) })
	otherTemporal.next = temporalNext
	foreign := signedToken(t, other, url.Values{"stage": {"retention"}})
	calls := temporal.count("ListWorkflow")

	for name, q := range map[string]url.Values{
		"not base64":             {"pageToken": {"***"}},
		"Temporal's own token":   {"stage": {"retention"}, "pageToken": {base64.RawURLEncoding.EncodeToString(temporalNext)}},
		"too short":              {"pageToken": {base64.RawURLEncoding.EncodeToString([]byte("x"))}},
		"another stage":          {"stage": {"deleting"}, "pageToken": {token}},
		"no stage":               {"pageToken": {token}},
		"another disposition":    {"stage": {"retention"}, "disposition": {"delete"}, "pageToken": {token}},
		"another page size":      {"stage": {"retention"}, "pageSize": {"10"}, "pageToken": {token}},
		"another key":            {"stage": {"retention"}, "pageToken": {foreign}},
		"one character changed":  {"stage": {"retention"}, "pageToken": {flip(token)}},
		"a signed token trimmed": {"stage": {"retention"}, "pageToken": {token[:len(token)-1]}},
	} {
		a, _ := list(t, h, q)
		require.Equal(t, 400, a.code, "%s: %s", name, a.body)
		p := problemOf(t, a)
		require.Len(t, p.Errors, 1, name)
		assert.Equal(t, "pageToken", p.Errors[0].Field, name)
		assert.NotContains(t, a.body, token, "the problem does not echo the token")
	}
	assert.Equal(t, calls, temporal.count("ListWorkflow"), "no forged token reached Temporal")
}

func Test_GivenReplicasWithOneSharedKey_ShouldAcceptEachOthersPageTokens(t *testing.T) {
	key := bytes.Repeat([]byte{7}, MinPageTokenKeyLen)
	a, ta, _ := newTestAPI(t, func(o *Options) { o.PageTokenKey = key })
	b, tb, _ := newTestAPI(t, func(o *Options) { o.PageTokenKey = key })
	ta.next = temporalNext
	token := signedToken(t, a, url.Values{})
	answer, _ := list(t, b, url.Values{"pageToken": {token}})
	require.Equal(t, 200, answer.code, answer.body)
	assert.Equal(t, temporalNext, tb.lists[0].NextPageToken)

	_, err := New(Options{Temporal: ta, Policy: testPolicy(), Signer: testSigner, Tokens: testTokens(), PageTokenKey: []byte("short")})
	require.ErrorContains(t, err, "page token key has 5 bytes")
}

func flip(s string) string {
	b := []byte(s)
	if b[3] == 'A' {
		b[3] = 'B'
	} else {
		b[3] = 'A'
	}
	return string(b)
}

// FuzzListPageToken checks that no page token reaches Temporal unless the API signed it, and
// that every refused token is a 400 naming pageToken.
func FuzzListPageToken(f *testing.F) {
	h, temporal, _ := newTestAPI(f, nil)
	temporal.next = temporalNext
	a := send(h, "GET", "/v1/offboardings?stage=retention", "", map[string]string{"Authorization": "Bearer " + auditorSecret})
	var page ListPage
	if err := json.Unmarshal([]byte(a.body), &page); err != nil || page.NextPageToken == "" {
		f.Fatalf("no signed token: %s", a.body)
	}
	f.Add(page.NextPageToken, "retention", "")
	f.Add(page.NextPageToken, "retention", "10")
	f.Add(flip(page.NextPageToken), "retention", "")
	f.Add(base64.RawURLEncoding.EncodeToString(temporalNext), "", "")
	f.Add("***", "deleting", "50")
	f.Fuzz(func(t *testing.T, token, stage, size string) {
		before := temporal.count("ListWorkflow")
		q := url.Values{"pageToken": {token}, "stage": {stage}}
		if size != "" {
			q.Set("pageSize", size)
		}
		a := send(h, "GET", "/v1/offboardings?"+q.Encode(), "", map[string]string{"Authorization": "Bearer " + auditorSecret})
		if temporal.count("ListWorkflow") == before {
			if a.code != 400 {
				t.Fatalf("refused with %d, not 400: %s", a.code, a.body)
			}
			return
		}
		temporal.mu.Lock()
		got := temporal.lists[len(temporal.lists)-1].NextPageToken
		temporal.mu.Unlock()
		if token != "" && !bytes.Equal(got, temporalNext) {
			t.Fatalf("token %q reached Temporal as %q, which the API never signed", token, got)
		}
	})
}

// Replicas that sign with one key derive one page token key, so a client may page across them.
func Test_GivenReplicasWithOneSigningKey_ShouldAcceptEachOthersPageTokens(t *testing.T) {
	a, ta, _ := newTestAPI(t, nil)
	b, _, _ := newTestAPI(t, nil)
	other, err := credential.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)), Issuer)
	require.NoError(t, err)
	policy := testPolicy()
	policy.DecisionKeys = append(policy.DecisionKeys, credential.EncodePublicKey(other.PublicKey()))
	c, tc, _ := newTestAPI(t, func(o *Options) { o.Signer, o.Policy = other, policy })
	ta.next = temporalNext

	first, page := list(t, a, url.Values{})
	require.Equal(t, http.StatusOK, first.code, first.body)
	require.NotEmpty(t, page.NextPageToken)

	next, _ := list(t, b, url.Values{"pageToken": {page.NextPageToken}})
	assert.Equal(t, http.StatusOK, next.code, "a replica with the same signing key accepts the token: %s", next.body)
	refused, _ := list(t, c, url.Values{"pageToken": {page.NextPageToken}})
	assert.Equal(t, http.StatusBadRequest, refused.code, "a replica with another signing key refuses it: %s", refused.body)
	assert.Zero(t, tc.count("ListWorkflow"))
}
