package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Object names within a bundle.
const (
	ManifestName = "manifest.json"
	UserName     = "user.json"
	AccessName   = "access.json"
	AuditName    = "audit.json"
)

// Format identifies the bundle layout version in Manifest.Format.
const Format = "offboard-bundle/1"

var partName = regexp.MustCompile(`^part-([0-9]{5})\.ndjson\.gz$`)

// PartName is the object name of part number seq.
func PartName(seq int) string { return fmt.Sprintf("part-%05d.ndjson.gz", seq) }

// PartSeq returns the number of the part called name, and false if name is not a part's name.
func PartSeq(name string) (int, bool) {
	m := partName.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// Window is a half-open UTC time range [Start, End).
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Contains reports whether t lies in [Start, End).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// String formats the window for messages.
func (w Window) String() string {
	return w.Start.UTC().Format(time.RFC3339) + ".." + w.End.UTC().Format(time.RFC3339)
}

// Query records how the conversations were selected, so an auditor can repeat the query.
type Query struct {
	// API is the Genesys endpoint the conversations were read from.
	API string `json:"api"`
	// SegmentFilters is the request's segmentFilters member, verbatim.
	SegmentFilters json.RawMessage `json:"segmentFilters"`
	// Selection says which of the returned conversations the bundle keeps.
	Selection string `json:"selection"`
	// CountAPI is the endpoint whose count the bundle was checked against.
	CountAPI string `json:"countApi"`
}

// JobWindow is one analytics job window of the export.
type JobWindow struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// JobIDs are the jobs created for this window, in order; the last one's results were kept.
	JobIDs []string `json:"jobIds"`
	// Conversations is how many conversations starting in this window the bundle holds; the
	// conversation-details query returned the same count.
	Conversations int `json:"conversations"`
}

// ObjectRecord describes one stored object.
type ObjectRecord struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// PartRecord describes one part: its object and how many conversations (lines) it holds.
type PartRecord struct {
	Name          string `json:"name"`
	Conversations int    `json:"conversations"`
	Bytes         int64  `json:"bytes"`
	SHA256        string `json:"sha256"`
}

// Totals sums the parts.
type Totals struct {
	Parts         int   `json:"parts"`
	Conversations int   `json:"conversations"`
	Bytes         int64 `json:"bytes"`
}

// Manifest is manifest.json. See the package documentation for its digest.
type Manifest struct {
	Format      string       `json:"format"`
	ToolVersion string       `json:"toolVersion"`
	UserID      string       `json:"userId"`
	Window      Window       `json:"window"`
	Query       Query        `json:"query"`
	Windows     []JobWindow  `json:"windows"`
	User        ObjectRecord `json:"user"`
	// Access records access.json, the user's access before any change; bundles written before it
	// existed have none.
	Access *ObjectRecord `json:"access,omitempty"`
	Parts  []PartRecord  `json:"parts"`
	Totals Totals        `json:"totals"`
	// ManifestSHA256 is the digest of the canonical form of the manifest with this field empty.
	ManifestSHA256 string `json:"manifestSha256"`
}

// Seal computes the totals from the parts and sets ManifestSHA256.
func (m *Manifest) Seal() error {
	m.Totals = Totals{Parts: len(m.Parts)}
	for _, p := range m.Parts {
		m.Totals.Conversations += p.Conversations
		m.Totals.Bytes += p.Bytes
	}
	m.ManifestSHA256 = ""
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	sum, err := ManifestDigest(raw)
	if err != nil {
		return err
	}
	m.ManifestSHA256 = sum
	return nil
}

// Encode returns manifest.json's bytes: indented JSON with a trailing newline. The digest does
// not depend on this layout.
func (m *Manifest) Encode() ([]byte, error) {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(raw, '\n'), nil
}

// ManifestDigest returns the hex SHA-256 of the canonical form of the manifest JSON raw, with
// its manifestSha256 member set to "" (the member is added if absent).
func ManifestDigest(raw []byte) (string, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return "", fmt.Errorf("parse manifest: %w", err)
	}
	v["manifestSha256"] = ""
	var b bytes.Buffer
	if err := canonical(&b, v); err != nil {
		return "", fmt.Errorf("canonicalise manifest: %w", err)
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// canonical writes v in the RFC 8785 form, for the JSON values a manifest may hold (numbers
// must be integers, whose canonical form is their decimal digits).
func canonical(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		if err != nil || n > 1<<53 || n < -(1<<53) {
			return fmt.Errorf("number %s is not an integer the canonical form can hold", x)
		}
		b.WriteString(strconv.FormatInt(n, 10))
	case string:
		return canonicalString(b, x)
	case []any:
		return canonicalSeq(b, '[', ']', x, func(e any) error { return canonical(b, e) })
	case map[string]any:
		return canonicalSeq(b, '{', '}', memberNames(x), func(k string) error {
			if err := canonicalString(b, k); err != nil {
				return err
			}
			b.WriteByte(':')
			return canonical(b, x[k])
		})
	default:
		return fmt.Errorf("unexpected JSON value of type %T", v)
	}
	return nil
}

// canonicalSeq writes elems between opening and closing, separated by commas, each through write.
func canonicalSeq[E any](b *bytes.Buffer, opening, closing byte, elems []E, write func(E) error) error {
	b.WriteByte(opening)
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := write(e); err != nil {
			return err
		}
	}
	b.WriteByte(closing)
	return nil
}

// memberNames returns the object's member names in the order RFC 8785 gives them: by the
// UTF-16 code units of the names.
func memberNames(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
	})
	return keys
}

func canonicalString(b *bytes.Buffer, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("string %q is not valid UTF-8", s)
	}
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return nil
}
