package codec

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func Test_GivenAKeyringText_ShouldMakeTheFirstOrTheMarkedKeyCurrent(t *testing.T) {
	cases := map[string]struct {
		text    string
		current string
		ids     []string
	}{
		"one key":          {"k1:" + testKey(1), "k1", []string{"k1"}},
		"first is current": {"k1:" + testKey(1) + ",k2:" + testKey(2), "k1", []string{"k1", "k2"}},
		"marked current":   {"k1:" + testKey(1) + "\n*k2:" + testKey(2) + "\n", "k2", []string{"k1", "k2"}},
		"comments, blanks and spaces": {
			"# rotated 2026-12\n\n *k2 : " + testKey(2) + " ,\n k1:" + testKey(1) + "\n", "k2", []string{"k2", "k1"},
		},
		"url base64 without padding": {"k1:" + base64.RawURLEncoding.EncodeToString(make([]byte, KeySize)), "k1", []string{"k1"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			k, err := ParseKeyring(tc.text)

			require.NoError(t, err)
			assert.Equal(t, tc.current, k.Current())
			assert.Equal(t, tc.ids, k.IDs())
		})
	}
}

func Test_GivenABadKeyring_ShouldFailWithoutShowingKeyMaterial(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("sixteen-byte-key"))
	long := base64.StdEncoding.EncodeToString([]byte("this-key-is-far-too-long-for-aes-256!!"))
	cases := map[string]struct{ text, want string }{
		"empty":             {"", "no key"},
		"only comments":     {"# nothing\n\n", "no key"},
		"no separator":      {testKey(1), "entry 1"},
		"no ID":             {":" + testKey(1), "entry 1"},
		"bad ID":            {"k 1:" + testKey(1), "entry 1"},
		"not base64":        {"k1:" + testKey(1) + ",k2:not*base64!", `"k2" is not base64`},
		"short key":         {"k1:" + short, `"k1" has 16 bytes`},
		"long key":          {"k1:" + long, `"k1" has 38 bytes`},
		"duplicate ID":      {"k1:" + testKey(1) + ",k1:" + testKey(2), `"k1" appears twice`},
		"two marked":        {"*k1:" + testKey(1) + ",*k2:" + testKey(2), "more than one"},
		"empty key":         {"k1:", `"k1" has 0 bytes`},
		"ID too long":       {strings.Repeat("a", 65) + ":" + testKey(1), "entry 1"},
		"second entry junk": {"k1:" + testKey(1) + ",junk", "entry 2"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseKeyring(tc.text)

			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			for _, material := range []string{testKey(1), testKey(2), short, long, "not*base64!", "sixteen"} {
				assert.NotContains(t, err.Error(), material)
			}
		})
	}
}

func Test_GivenAKeyFileOrAnEnvironmentValue_ShouldLoadTheKeyring(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(path, []byte("kf:"+testKey(3)+"\n"), 0o600))

	fromFile, err := LoadKeyring(path, "OFFBOARD_TEST_CODEC_KEYS")
	require.NoError(t, err)
	t.Setenv("OFFBOARD_TEST_CODEC_KEYS", "ke:"+testKey(4))
	fromEnv, err := LoadKeyring("", "OFFBOARD_TEST_CODEC_KEYS")
	require.NoError(t, err)

	assert.Equal(t, "kf", fromFile.Current())
	assert.Equal(t, "ke", fromEnv.Current())
}

func Test_GivenNoKeySourceOrBoth_ShouldFailToLoadTheKeyring(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(path, []byte("kf:"+testKey(3)), 0o600))

	t.Setenv("OFFBOARD_TEST_CODEC_KEYS", "")
	_, neither := LoadKeyring("", "OFFBOARD_TEST_CODEC_KEYS")
	_, missing := LoadKeyring(filepath.Join(t.TempDir(), "absent"), "OFFBOARD_TEST_CODEC_KEYS")
	t.Setenv("OFFBOARD_TEST_CODEC_KEYS", "ke:"+testKey(4))
	_, both := LoadKeyring(path, "OFFBOARD_TEST_CODEC_KEYS")

	require.Error(t, neither)
	assert.Contains(t, neither.Error(), "$OFFBOARD_TEST_CODEC_KEYS is not set")
	assert.Error(t, missing)
	require.Error(t, both)
	assert.Contains(t, both.Error(), "use one")
	assert.NotContains(t, both.Error(), testKey(4))
}
