package identity_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/internal/identity"
)

func Test_GivenSpellingsOfOneIdentity_ShouldNormalizeToOneForm(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"lower case stays", "alice", "alice"},
		{"upper case folds", "ALICE", "alice"},
		{"title case folds", "Alice", "alice"},
		{"fullwidth letters are compatibility forms", "ａｌｉｃｅ", "alice"},
		{"fullwidth capitals fold too", "ＡＬＩＣＥ", "alice"},
		{"ligature decomposes", "ﬁnance", "finance"},
		{"superscript digit", "bob²", "bob2"},
		{"roman numeral", "Ⅻ", "xii"},
		{"sharp s folds fully", "STRAßE", "strasse"},
		{"precomposed and combining are one", "jose\u0301", "josé"},
		{"greek final sigma folds", "ΣΟΦΊΑ", "σοφία"},
		{"allowed punctuation", "svc.hr-bot_1+ops@corp", "svc.hr-bot_1+ops@corp"},
		{"one inner space", "Jane Doe", "jane doe"},
		{"pure Cyrillic", "Алиса", "алиса"},
		{"Latin with Han and Hiragana", "Tanaka田中さん", "tanaka田中さん"},
		{"Latin with Han and Hangul", "Kim김金", "kim김金"},
		{"digits are common to every script", "алиса2", "алиса2"},
		{"exactly the limit", strings.Repeat("a", identity.MaxLen), strings.Repeat("a", identity.MaxLen)},
		{"the limit in four-byte compatibility letters", strings.Repeat("𝐚", identity.MaxLen), strings.Repeat("a", identity.MaxLen)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := identity.Normalize(c.in)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func Test_GivenDeceptiveOrInvalidIdentities_ShouldRefuseThemSayingWhy(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty"},
		{"zero-width space", "alice\u200b", "U+200B"},
		{"zero-width joiner", "al\u200dice", "U+200D"},
		{"right-to-left override", "\u202eecila", "U+202E"},
		{"byte order mark", "\ufeffalice", "U+FEFF"},
		{"soft hyphen", "al\u00adice", "U+00AD"},
		{"NUL", "alice\x00", "U+0000"},
		{"escape", "alice\x1b[31m", "U+001B"},
		{"DEL", "alice\x7f", "U+007F"},
		{"C1 control", "alice\u0085", "U+0085"},
		{"tab", "jane\tdoe", "U+0009"},
		{"newline", "alice\n", "U+000A"},
		{"no-break space", "jane\u00a0doe", "U+00A0"},
		{"ideographic space", "jane\u3000doe", "U+3000"},
		{"leading space", " alice", "starts or ends with a space"},
		{"trailing space", "alice ", "starts or ends with a space"},
		{"double space", "jane  doe", "repeated spaces"},
		{"Cyrillic a in Latin", "\u0430lice", "mixes the scripts Cyrillic and Latin"},
		{"Greek omicron in Latin", "b\u03bfb", "mixes the scripts"},
		{"Latin with Cyrillic and Han", "ali田са", "mixes the scripts"},
		{"Hangul with Hiragana", "김さん", "mixes the scripts"},
		{"private use", "alice\ue000", "private-use"},
		{"unassigned", "alice\U000e0fff", "unassigned"},
		{"symbol", "alice!", "a symbol or punctuation"},
		{"slash", "hr/alice", "a symbol or punctuation"},
		{"emoji", "alice😀", "a symbol or punctuation"},
		{"invalid UTF-8", "alice\xff", "not valid UTF-8"},
		{"one byte over the limit", strings.Repeat("a", identity.MaxLen+1), "the limit is 128"},
		{"over the limit once normalised", strings.Repeat("ﬃ", 43), "the limit is 128"},
		{"megabytes", strings.Repeat("a", 1<<20), "the limit is 128"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := identity.Normalize(c.in)
			require.Error(t, err)
			assert.Empty(t, got)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func Test_GivenALongRefusedIdentity_ShouldEchoAtMost64BytesQuoted(t *testing.T) {
	in := strings.Repeat("é", 100) + "\u200b"
	_, err := identity.Normalize(in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"`+strings.Repeat("é", 32)+`…"`)
	assert.NotContains(t, err.Error(), strings.Repeat("é", 33))

	_, err = identity.Normalize("evil\x1b]0;title\x07")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "\x1b", "the input is escaped")
	assert.Contains(t, err.Error(), `\x1b`)
}

func Test_GivenTwoSpellings_ShouldCompareTheirNormalForms(t *testing.T) {
	assert.True(t, identity.Equal("Alice", "ａｌｉｃｅ"))
	assert.True(t, identity.Equal("jose\u0301", "JOSÉ"))
	assert.False(t, identity.Equal("alice", "alice\u200b"), "a zero-width space is refused, not ignored")
	assert.False(t, identity.Equal("alice", "\u0430lice"))
	assert.False(t, identity.Equal("alice", "bob"))
	assert.False(t, identity.Equal("", ""), "two invalid identities are not equal")
}

func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{"alice", "ALICE", "ａｌｉｃｅ", "alice\u200b", "\u0430lice", "Jane Doe", "ﬁ", "STRAßE",
		"ΣΟΦΊΑ", "jose\u0301", "Tanaka田中さん", "\u0345", "ǅ", "ᾈ", "İstanbul", "ﷺ", "\u1e9e", "\u0390"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := identity.Normalize(in)
		if err != nil {
			assert.Empty(t, got)
			return
		}
		again, err := identity.Normalize(got)
		require.NoError(t, err, "a normal form is itself valid")
		assert.Equal(t, got, again, "Normalize is idempotent")
		assert.LessOrEqual(t, len(got), identity.MaxLen)
		for _, r := range got {
			assert.False(t, unicode.In(r, unicode.Cc, unicode.Cf), "no control or format character in %q", got)
		}
		assert.True(t, identity.Equal(in, got))
	})
}
