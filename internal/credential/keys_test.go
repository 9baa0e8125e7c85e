package credential_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/internal/credential"
)

// The Ed25519 key of RFC 8037, appendix A.1, and its thumbprint from appendix A.3.
const (
	rfcSeed       = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfcPublic     = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfcThumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

// DER prefixes of RFC 8410's PKCS#8 private key and PKIX public key for Ed25519.
const (
	pkcs8Prefix = "302e020100300506032b657004220420"
	pkixPrefix  = "302a300506032b6570032100"
)

func rfcKey(t testing.TB) ed25519.PrivateKey {
	seed, err := base64.RawURLEncoding.DecodeString(rfcSeed)
	require.NoError(t, err)
	return ed25519.NewKeyFromSeed(seed)
}

func pemOf(t *testing.T, kind, prefix string, raw []byte) string {
	der, err := hex.DecodeString(prefix)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: append(der, raw...)}))
}

func Test_GivenTheRFC8037Key_ShouldComputeItsThumbprintAsKeyID(t *testing.T) {
	key := rfcKey(t)
	pub := key.Public().(ed25519.PublicKey)
	require.Equal(t, rfcPublic, credential.EncodePublicKey(pub))
	assert.Equal(t, rfcThumbprint, credential.KeyID(pub))

	// RFC 7638: SHA-256 of the required members in lexicographic order, no white space.
	jwk, err := json.Marshal(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": rfcPublic})
	require.NoError(t, err)
	sum := sha256.Sum256(jwk)
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), credential.KeyID(pub))

	s, err := credential.NewSigner(key, "offboard-hrapi")
	require.NoError(t, err)
	assert.Equal(t, rfcThumbprint, s.KeyID())
	assert.Equal(t, pub, s.PublicKey())
}

func Test_GivenAPublicKeyInEachAcceptedForm_ShouldParseTheSameKey(t *testing.T) {
	pub := rfcKey(t).Public().(ed25519.PublicKey)
	for name, form := range map[string]string{
		"base64url raw":       rfcPublic,
		"base64 standard":     base64.StdEncoding.EncodeToString(pub),
		"base64 unpadded":     base64.RawStdEncoding.EncodeToString(pub),
		"with a newline":      rfcPublic + "\n",
		"PEM PKIX public key": pemOf(t, "PUBLIC KEY", pkixPrefix, pub),
	} {
		got, err := credential.ParsePublicKey(form)
		require.NoError(t, err, name)
		assert.Equal(t, pub, got, name)
	}
}

func Test_GivenAPrivateKeyInEachAcceptedForm_ShouldParseTheSameKey(t *testing.T) {
	key := rfcKey(t)
	for name, form := range map[string]string{
		"PEM PKCS#8":       pemOf(t, "PRIVATE KEY", pkcs8Prefix, key.Seed()),
		"base64url seed":   rfcSeed,
		"base64 seed":      base64.StdEncoding.EncodeToString(key.Seed()),
		"encoded by us":    string(credential.EncodePrivateKey(key)),
		"seed and newline": rfcSeed + "\n",
	} {
		got, err := credential.ParsePrivateKey([]byte(form))
		require.NoError(t, err, name)
		assert.Equal(t, key, got, name)
	}
	assert.Equal(t, pemOf(t, "PRIVATE KEY", pkcs8Prefix, key.Seed()), string(credential.EncodePrivateKey(key)))
	assert.Nil(t, credential.EncodePrivateKey(key[:10]))

	fresh, err := credential.GenerateKey()
	require.NoError(t, err)
	again, err := credential.ParsePrivateKey(credential.EncodePrivateKey(fresh))
	require.NoError(t, err)
	assert.Equal(t, fresh, again)
}

func Test_GivenMalformedKeys_ShouldRefuseWithoutShowingKeyMaterial(t *testing.T) {
	key := rfcKey(t)
	pub := key.Public().(ed25519.PublicKey)
	privatePEM := pemOf(t, "PRIVATE KEY", pkcs8Prefix, key.Seed())
	publicPEM := pemOf(t, "PUBLIC KEY", pkixPrefix, pub)
	badPublic := []string{
		"", rfcSeed[:40], rfcPublic + "AA", base64.StdEncoding.EncodeToString(key), privatePEM,
		publicPEM + publicPEM, strings.Replace(publicPEM, "PUBLIC KEY", "RSA PUBLIC KEY", 2),
		pemOf(t, "PUBLIC KEY", pkixPrefix[:10], pub), "not base64 at all!", rfcPublic[:42] + "!",
	}
	badPrivate := []string{
		"", rfcSeed[:40], base64.StdEncoding.EncodeToString(key), publicPEM, rfcPublic + "AAAA",
		pemOf(t, "PRIVATE KEY", pkcs8Prefix[:12], key.Seed()), privatePEM + "trailing",
	}
	check := func(input string, err error) {
		require.Error(t, err, input)
		for _, line := range strings.Split(input, "\n") {
			if len(line) >= 8 && !strings.HasPrefix(line, "-----") {
				assert.NotContains(t, err.Error(), line[:8], "an error shows no key material")
			}
		}
		for _, secret := range []string{rfcSeed[:8], base64.StdEncoding.EncodeToString(key.Seed())[:8], rfcPublic[:8]} {
			assert.NotContains(t, err.Error(), secret)
		}
	}
	for _, s := range badPublic {
		_, err := credential.ParsePublicKey(s)
		check(s, err)
	}
	for _, s := range badPrivate {
		_, err := credential.ParsePrivateKey([]byte(s))
		check(s, err)
	}
}

func Test_GivenASmallOrderPublicKey_ShouldRefuseIt(t *testing.T) {
	// The identity point: with it as public key, R = identity and S = 0 verify for any message.
	weak := make([]byte, 32)
	weak[0] = 1
	forged := make([]byte, 64)
	forged[0] = 1
	require.True(t, ed25519.Verify(weak, []byte("anything"), forged), "the forgery the check prevents")

	_, err := credential.ParsePublicKey(base64.RawURLEncoding.EncodeToString(weak))
	require.ErrorContains(t, err, "small order")
	assert.Zero(t, credential.NewKeySet(weak).Len())
	_, err = credential.ParseKeySet([]string{rfcPublic, base64.RawURLEncoding.EncodeToString(weak)})
	assert.ErrorContains(t, err, "decision key 2")
}

func Test_GivenEncodedKeys_ShouldBuildAKeySetAndNameBadPositions(t *testing.T) {
	other, err := credential.GenerateKey()
	require.NoError(t, err)
	otherPub := credential.EncodePublicKey(other.Public().(ed25519.PublicKey))

	ks, err := credential.ParseKeySet([]string{rfcPublic, otherPub})
	require.NoError(t, err)
	assert.Equal(t, 2, ks.Len())
	assert.Equal(t, []string{rfcThumbprint, credential.KeyID(other.Public().(ed25519.PublicKey))}, ks.IDs())

	_, err = credential.ParseKeySet([]string{rfcPublic, "junk", otherPub, rfcPublic})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "decision key 2")
	assert.Contains(t, err.Error(), "decision key 4 (ID "+rfcThumbprint+") repeats an earlier key")
	assert.NotContains(t, err.Error(), "decision key 3")

	dup := credential.NewKeySet(rfcKey(t).Public().(ed25519.PublicKey), rfcKey(t).Public().(ed25519.PublicKey), ed25519.PublicKey{1, 2})
	assert.Equal(t, []string{rfcThumbprint}, dup.IDs(), "repeats and wrong sizes are skipped")
	assert.Zero(t, credential.KeySet{}.Len())
}
