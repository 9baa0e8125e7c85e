// Package identity gives every identity Offboard compares (approvers, requesters, allow-list
// entries, token identities) one canonical form, so that the four-eyes rule cannot be passed by
// spelling one person two ways ("Alice", "ａｌｉｃｅ", "alice" followed by a zero-width space).
// It is deterministic and safe to call from workflow code.
package identity

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxLen is the longest identity, in bytes, after normalisation.
const MaxLen = 128

// echoLen bounds how much of a refused input an error repeats.
const echoLen = 64

// Normalize returns the one canonical form of an identity: NFKC, then Unicode case folding, then
// NFKC again, so "Alice", "ALICE" and "ａｌｉｃｅ" (fullwidth) are one identity. It never trims: it
// refuses, with an error that says what is wrong and how to fix it, an empty or over-long
// identity; control, format, private-use, surrogate or unassigned characters; leading, trailing
// or repeated spaces and any white space other than U+0020; characters other than letters,
// marks, digits, U+0020 and . - _ @ +; and letters whose scripts mix beyond UTS #39's "highly
// restrictive" level (so "аlice" with a Cyrillic а is refused, "alice" and "алиса" are not).
func Normalize(s string) (string, error) {
	if s == "" {
		return "", errors.New("identity is empty: name a person or system, e.g. alice")
	}
	// No character shrinks more than fourfold under NFKC (𝐚 is 4 bytes, a is 1), so this bound
	// refuses nothing valid and spares normalising megabytes.
	if len(s) > 8*MaxLen {
		return "", refuse(s, fmt.Sprintf("is %d bytes long; the limit is %d once normalised", len(s), MaxLen))
	}
	if !utf8.ValidString(s) {
		return "", refuse(s, "is not valid UTF-8")
	}
	// Cf characters survive NFKC, but check the input too so that no mapping can hide one.
	if err := refuseHidden(s); err != nil {
		return "", err
	}
	n := fold(s)
	if fold(n) != n {
		return "", refuse(s, "has no stable normal form: use plain letters and digits")
	}
	if len(n) > MaxLen {
		return "", refuse(s, fmt.Sprintf("is %d bytes long once normalised; the limit is %d", len(n), MaxLen))
	}
	if err := checkRunes(s, n); err != nil {
		return "", err
	}
	if err := checkSpaces(s, n); err != nil {
		return "", err
	}
	if err := checkScripts(s, n); err != nil {
		return "", err
	}
	return n, nil
}

// Equal reports whether a and b are valid and the same identity once normalised.
func Equal(a, b string) bool {
	na, errA := Normalize(a)
	nb, errB := Normalize(b)
	return errA == nil && errB == nil && na == nb
}

func fold(s string) string {
	// A Caser keeps state, so each call gets its own.
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
}

func refuse(input, problem string) error {
	return fmt.Errorf("identity %q %s", clip(input), problem)
}

// clip returns at most echoLen bytes of s, cut on a character boundary.
func clip(s string) string {
	if len(s) <= echoLen {
		return s
	}
	cut := echoLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func refuseHidden(s string) error {
	for _, r := range s {
		if r != ' ' && (unicode.IsSpace(r) || unicode.In(r, unicode.Cc, unicode.Cf)) {
			return refuseRune(s, r, "remove it (retype the identity rather than pasting it)")
		}
	}
	return nil
}

func checkRunes(input, n string) error {
	for _, r := range n {
		if runeProblem(r) != "" {
			return refuseRune(input, r, "use letters, digits, spaces and . - _ @ +")
		}
	}
	return nil
}

func refuseRune(input string, r rune, fix string) error {
	return refuse(input, fmt.Sprintf("contains %U, %s: %s", r, runeProblem(r), fix))
}

// runeProblem says why r may not appear in a normalised identity, or "" if it may.
func runeProblem(r rune) string {
	switch {
	case r == ' ', strings.ContainsRune(".-_@+", r):
		return ""
	case r == utf8.RuneError:
		return "a replacement character"
	case unicode.IsSpace(r):
		return "white space other than a plain space"
	case unicode.In(r, unicode.Cc, unicode.Cf):
		return "a control or format character"
	case unicode.Is(unicode.Co, r):
		return "a private-use character"
	case unicode.Is(unicode.Cs, r):
		return "a surrogate"
	case unicode.In(r, unicode.L, unicode.M, unicode.Nd):
		return ""
	case !unicode.In(r, unicode.N, unicode.P, unicode.S, unicode.Z):
		return "an unassigned character"
	}
	return "a symbol or punctuation"
}

func checkSpaces(input, n string) error {
	switch {
	case strings.HasPrefix(n, " "), strings.HasSuffix(n, " "):
		return refuse(input, "starts or ends with a space: remove it")
	case strings.Contains(n, "  "):
		return refuse(input, "contains repeated spaces: use one space between words")
	}
	return nil
}

// highlyRestrictive lists the script combinations UTS #39's "highly restrictive" level allows
// beyond a single script.
var highlyRestrictive = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

func checkScripts(input, n string) error {
	found := scriptsOf(n)
	if len(found) <= 1 {
		return nil
	}
	for _, allowed := range highlyRestrictive {
		if subset(found, allowed) {
			return nil
		}
	}
	return refuse(input, fmt.Sprintf("mixes the scripts %s, which lets one name pass for another: write it in one script", strings.Join(found, " and ")))
}

// scriptNames are Go's script tables in a fixed order, so that lookups are deterministic.
var scriptNames = func() []string {
	names := slices.Sorted(maps.Keys(unicode.Scripts))
	return slices.DeleteFunc(names, func(name string) bool { return name == "Common" || name == "Inherited" })
}()

// scriptsOf returns the scripts of n's characters, Common and Inherited aside, sorted.
func scriptsOf(n string) []string {
	seen := map[string]bool{}
	for _, r := range n {
		if name := scriptOf(r); name != "" {
			seen[name] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if unicode.IsLetter(r) {
			return "Latin"
		}
		return ""
	}
	for _, name := range scriptNames {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	return ""
}

func subset(found, allowed []string) bool {
	for _, f := range found {
		if !slices.Contains(allowed, f) {
			return false
		}
	}
	return true
}
