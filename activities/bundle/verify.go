package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Report is the outcome of verifying a bundle. The bundle is sound when Problems is empty.
type Report struct {
	// Bundle names the verified bundle.
	Bundle string `json:"bundle"`
	// Manifest is the manifest as read, nil if it is missing or unreadable.
	Manifest *Manifest `json:"manifest,omitempty"`
	// Parts, Conversations and Bytes are what was found in the store for the manifest's parts.
	Parts         int   `json:"parts"`
	Conversations int   `json:"conversations"`
	Bytes         int64 `json:"bytes"`
	// Problems lists every discrepancy found.
	Problems []string `json:"problems,omitempty"`
	// Notes lists findings that do not make the bundle unsound, such as a temporary file left
	// by an interrupted write.
	Notes []string `json:"notes,omitempty"`
}

// OK reports whether no discrepancy was found.
func (r Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// maxLineProblems bounds the per-line problems reported for one part; the rest are summarised.
const maxLineProblems = 20

type lineRef struct {
	part string
	line int
}

// Verify checks the bundle under prefix ("<userId>/<runId>", or "" when the store is the bundle
// itself) against its manifest and returns every discrepancy in the Report. The error is
// reserved for failures to read the store, such as a network error; a missing or corrupt
// object is a discrepancy.
func Verify(ctx context.Context, s *Store, prefix string) (Report, error) {
	r, err := verify(ctx, s, prefix)
	if err != nil {
		return Report{}, err
	}
	return *r, nil
}

func verify(ctx context.Context, s *Store, prefix string) (*Report, error) {
	prefix = strings.Trim(prefix, "/")
	v := &verifier{s: s, prefix: prefix, r: &Report{Bundle: s.URL(prefix)}, seen: map[string]lineRef{}}
	if prefix == "" {
		v.r.Bundle = s.url
	}
	stored, err := v.inventory(ctx)
	if err != nil {
		return nil, err
	}
	v.m = readManifest(ctx, s, Key(prefix, ManifestName), v.present[ManifestName], v.r)
	v.r.Manifest = v.m
	if v.m != nil {
		checkManifest(ctx, s, prefix, v.m, v.present, v.r)
		v.perWindow = make([]int, len(v.m.Windows))
	}
	for _, p := range v.partsToRead(stored) {
		if err := v.checkPart(ctx, p); err != nil {
			return nil, err
		}
	}
	v.checkWindowCounts()
	return v.r, nil
}

// verifier is one verification of a bundle: what it found so far.
type verifier struct {
	s      *Store
	prefix string
	r      *Report
	// m is the manifest, nil if it is missing or unreadable.
	m *Manifest
	// present holds the names of the bundle's objects in the store.
	present map[string]bool
	// seen is where each conversation was first found.
	seen map[string]lineRef
	// perWindow counts the conversations found in each of the manifest's job windows.
	perWindow []int
}

// inventory lists the bundle's objects, noting those that are not part of a bundle, and
// returns the names of the parts among them.
func (v *verifier) inventory(ctx context.Context) ([]string, error) {
	listPrefix := ""
	if v.prefix != "" {
		listPrefix = v.prefix + "/"
	}
	keys, err := v.s.Keys(ctx, listPrefix)
	if err != nil {
		return nil, err
	}
	v.present = map[string]bool{}
	var stored []string
	for _, k := range keys {
		name := strings.TrimPrefix(k, listPrefix)
		v.present[name] = true
		switch _, isPart := PartSeq(name); {
		case name == ManifestName || name == UserName || name == AccessName || name == AuditName:
		case strings.HasSuffix(name, ".tmp"):
			v.r.Notes = append(v.r.Notes, fmt.Sprintf("%s is a temporary file left by an interrupted write; it is not part of the bundle", name))
		case isPart:
			stored = append(stored, name)
		default:
			v.r.Notes = append(v.r.Notes, fmt.Sprintf("%s is not a bundle object", name))
		}
	}
	return stored, nil
}

// partsToRead is the manifest's parts, then those in the store that the manifest does not
// list (Conversations -1): discrepancies, still read so that their duplicates and bad lines
// are reported too.
func (v *verifier) partsToRead(stored []string) []PartRecord {
	var listed []PartRecord
	if v.m != nil {
		listed = v.m.Parts
	}
	inManifest := map[string]bool{}
	for _, p := range listed {
		inManifest[p.Name] = true
	}
	for _, name := range stored {
		if inManifest[name] {
			continue
		}
		if v.m != nil {
			v.r.problem("%s is in the store but not in the manifest", name)
		}
		listed = append(listed, PartRecord{Name: name, Conversations: -1})
	}
	return listed
}

// checkPart reads part p line by line and compares what it holds with its record. The error is
// ctx's, if it ended.
func (v *verifier) checkPart(ctx context.Context, p PartRecord) error {
	if !v.present[p.Name] {
		v.r.problem("%s is listed in the manifest but missing from the store", p.Name)
		return nil
	}
	lines := &lineProblems{r: v.r}
	st, err := v.s.ReadPart(ctx, Key(v.prefix, p.Name), func(l Line) error {
		v.checkLine(lines, p.Name, l)
		return nil
	})
	if lines.n > maxLineProblems {
		v.r.problem("%s: %d more line problems not listed", p.Name, lines.n-maxLineProblems)
	}
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		v.r.problem("%s: %v", p.Name, err)
		if st.SHA256 == "" {
			return nil
		}
	}
	if p.Conversations >= 0 { // else not in the manifest: already reported
		v.tally(p, st)
	}
	return nil
}

// lineProblems reports the first maxLineProblems problems of one part's lines and counts all.
type lineProblems struct {
	r *Report
	n int
}

func (lp *lineProblems) add(format string, args ...any) {
	lp.n++
	if lp.n <= maxLineProblems {
		lp.r.problem(format, args...)
	}
}

// checkLine checks one line of a part: that it parses, that its conversation is not found
// twice, and that it started in the manifest's window, counting it in its job window.
func (v *verifier) checkLine(lines *lineProblems, part string, l Line) {
	if l.Err != nil {
		lines.add("%s line %d: %v", part, l.N, l.Err)
		if l.ID == "" {
			return
		}
	}
	if first, dup := v.seen[l.ID]; dup {
		lines.add("%s line %d: conversation %s duplicates %s line %d", part, l.N, l.ID, first.part, first.line)
	} else {
		v.seen[l.ID] = lineRef{part, l.N}
	}
	if l.Err != nil || v.m == nil {
		return
	}
	if !v.m.Window.Contains(l.Start) {
		lines.add("%s line %d: conversation %s started %s, outside the window %s", part, l.N, l.ID, l.Start.Format("2006-01-02T15:04:05.000Z"), &v.m.Window)
	}
	for i, w := range v.m.Windows {
		if (Window{w.Start, w.End}).Contains(l.Start) {
			v.perWindow[i]++
			break
		}
	}
}

// tally adds a listed part's figures to the report and compares them with its record.
func (v *verifier) tally(p PartRecord, st PartStats) {
	v.r.Parts++
	v.r.Conversations += st.Lines
	v.r.Bytes += st.Bytes
	if st.Bytes != p.Bytes {
		v.r.problem("%s: %d bytes stored, manifest says %d", p.Name, st.Bytes, p.Bytes)
	}
	if st.SHA256 != p.SHA256 {
		v.r.problem("%s: sha256 %s stored, manifest says %s", p.Name, st.SHA256, p.SHA256)
	}
	if st.Lines != p.Conversations {
		v.r.problem("%s: %d conversations stored, manifest says %d", p.Name, st.Lines, p.Conversations)
	}
}

// checkWindowCounts compares the conversations found in each job window with the manifest's.
func (v *verifier) checkWindowCounts() {
	if v.m == nil {
		return
	}
	for i, w := range v.m.Windows {
		if v.perWindow[i] != w.Conversations {
			v.r.problem("window %s: %d conversations in the parts, manifest says %d", Window{w.Start, w.End}, v.perWindow[i], w.Conversations)
		}
	}
}

func readManifest(ctx context.Context, s *Store, key string, present bool, r *Report) *Manifest {
	if !present {
		r.problem("%s is missing: the export did not complete, or the manifest was removed", ManifestName)
		return nil
	}
	raw, err := s.ReadAll(ctx, key)
	if err != nil {
		r.problem("%s cannot be read: %v", ManifestName, err)
		return nil
	}
	var m Manifest
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		r.problem("%s is not a valid manifest: %v", ManifestName, err)
		return nil
	}
	sum, err := ManifestDigest(raw)
	switch {
	case err != nil:
		r.problem("%s: %v", ManifestName, err)
	case sum != m.ManifestSHA256:
		r.problem("%s: manifestSha256 is %q, but the manifest's canonical form hashes to %s", ManifestName, m.ManifestSHA256, sum)
	}
	return &m
}

// checkManifest checks that the manifest agrees with itself and that user.json and access.json
// match it.
func checkManifest(ctx context.Context, s *Store, prefix string, m *Manifest, present map[string]bool, r *Report) {
	if m.Format != Format {
		r.problem("%s: format %q, want %q", ManifestName, m.Format, Format)
	}
	if !m.Window.Start.Before(m.Window.End) {
		r.problem("%s: window %s is empty", ManifestName, m.Window)
	}
	t := checkPartList(m, r)
	checkJobWindows(m, t.Conversations, r)
	if m.User.Name != "" {
		checkObject(ctx, s, prefix, m.User, present, r)
	}
	switch {
	case m.Access != nil:
		checkObject(ctx, s, prefix, *m.Access, present, r)
	case present[AccessName]:
		r.Notes = append(r.Notes, fmt.Sprintf("%s is not recorded in the manifest, so it is not part of the verified bundle", AccessName))
	}
}

// checkPartList checks the parts' names and the totals, and returns what the parts add up to.
func checkPartList(m *Manifest, r *Report) Totals {
	var t Totals
	names := map[string]bool{}
	for i, p := range m.Parts {
		if p.Name != PartName(i) {
			r.problem("%s: part %d is named %s, want %s (parts are numbered from 0 without gaps)", ManifestName, i, p.Name, PartName(i))
		}
		if names[p.Name] {
			r.problem("%s: part %s is listed twice", ManifestName, p.Name)
		}
		names[p.Name] = true
		t.Parts++
		t.Conversations += p.Conversations
		t.Bytes += p.Bytes
	}
	if t != m.Totals {
		r.problem("%s: totals %+v do not add up; the parts sum to %+v", ManifestName, m.Totals, t)
	}
	return t
}

// checkJobWindows checks that the job windows tile the window and hold the parts' conversations.
func checkJobWindows(m *Manifest, conversations int, r *Report) {
	windowSum := 0
	for i, w := range m.Windows {
		windowSum += w.Conversations
		if i > 0 && !w.Start.Equal(m.Windows[i-1].End) {
			r.problem("%s: window %d starts at %s, not where window %d ends", ManifestName, i, w.Start.Format("2006-01-02T15:04:05Z"), i-1)
		}
	}
	if len(m.Windows) > 0 && (!m.Windows[0].Start.Equal(m.Window.Start) || !m.Windows[len(m.Windows)-1].End.Equal(m.Window.End)) {
		r.problem("%s: the job windows do not cover the window %s", ManifestName, m.Window)
	}
	if windowSum != conversations {
		r.problem("%s: the windows hold %d conversations, the parts %d", ManifestName, windowSum, conversations)
	}
}

// checkObject checks that a stored object (user.json, access.json) is the one the manifest records.
func checkObject(ctx context.Context, s *Store, prefix string, u ObjectRecord, present map[string]bool, r *Report) {
	if !present[u.Name] {
		r.problem("%s is listed in the manifest but missing from the store", u.Name)
	} else if sum, n, err := s.Digest(ctx, Key(prefix, u.Name)); err != nil {
		r.problem("%s: %v", u.Name, err)
	} else if sum != u.SHA256 || n != u.Bytes {
		r.problem("%s: %d bytes with sha256 %s stored, manifest says %d bytes with sha256 %s", u.Name, n, sum, u.Bytes, u.SHA256)
	}
}

// VerifyURL verifies the bundle at bundleURL, which names the bundle's directory or its
// manifest: file:///var/lib/offboard/exports/<userId>/<runId>, s3://bucket/<userId>/<runId>?region=eu-west-1,
// gs://bucket/exports/<userId>/<runId>/manifest.json, azblob://container/<userId>/<runId>. It
// only reads; nothing is created.
func VerifyURL(ctx context.Context, bundleURL string) (Report, error) {
	u, err := url.Parse(bundleURL)
	if err != nil || u.Scheme == "" {
		return Report{}, fmt.Errorf("bundle URL %q is not a URL: give e.g. file:///var/lib/offboard/exports/<userId>/<runId>", redactURL(bundleURL))
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/"+ManifestName)
	prefix := ""
	if u.Scheme != "file" {
		// The host is the bucket or container; the path is the bundle's prefix within it.
		prefix = strings.Trim(u.Path, "/")
		u.Path = ""
		if prefix == "" {
			return Report{}, fmt.Errorf("bundle URL %q names a bucket, not a bundle: append /<userId>/<runId>", redactURL(bundleURL))
		}
	}
	s, err := open(ctx, u.String(), false)
	if err != nil {
		return Report{}, err
	}
	defer s.Close()
	rep, err := Verify(ctx, s, prefix)
	if err != nil {
		return Report{}, err
	}
	rep.Bundle = redactURL(bundleURL)
	return rep, nil
}
