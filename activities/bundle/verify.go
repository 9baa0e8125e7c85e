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
	r := &Report{Bundle: s.URL(prefix)}
	if prefix == "" {
		r.Bundle = s.url
	}
	listPrefix := ""
	if prefix != "" {
		listPrefix = prefix + "/"
	}
	keys, err := s.Keys(ctx, listPrefix)
	if err != nil {
		return nil, err
	}
	present := map[string]bool{}
	var stored []string // part names present in the store
	for _, k := range keys {
		name := strings.TrimPrefix(k, listPrefix)
		present[name] = true
		switch {
		case name == ManifestName || name == UserName || name == AuditName:
		case strings.HasSuffix(name, ".tmp"):
			r.Notes = append(r.Notes, fmt.Sprintf("%s is a temporary file left by an interrupted write; it is not part of the bundle", name))
		default:
			if _, ok := PartSeq(name); ok {
				stored = append(stored, name)
			} else {
				r.Notes = append(r.Notes, fmt.Sprintf("%s is not a bundle object", name))
			}
		}
	}

	m := readManifest(ctx, s, Key(prefix, ManifestName), present[ManifestName], r)
	r.Manifest = m
	var listed []PartRecord
	var window *Window
	if m != nil {
		listed = m.Parts
		window = &m.Window
		checkManifest(ctx, s, prefix, m, present, r)
	}

	// Parts in the store that the manifest does not list are discrepancies; they are still read,
	// so that duplicates and bad lines in them are reported too.
	inManifest := map[string]bool{}
	for _, p := range listed {
		inManifest[p.Name] = true
	}
	for _, name := range stored {
		if !inManifest[name] {
			if m != nil {
				r.problem("%s is in the store but not in the manifest", name)
			}
			listed = append(listed, PartRecord{Name: name, Conversations: -1})
		}
	}

	seen := map[string]lineRef{}
	perWindow := make([]int, 0)
	if m != nil {
		perWindow = make([]int, len(m.Windows))
	}
	for _, p := range listed {
		if !present[p.Name] {
			r.problem("%s is listed in the manifest but missing from the store", p.Name)
			continue
		}
		lineProblems := 0
		lineProblem := func(format string, args ...any) {
			lineProblems++
			if lineProblems <= maxLineProblems {
				r.problem(format, args...)
			}
		}
		st, err := s.ReadPart(ctx, Key(prefix, p.Name), func(l Line) error {
			if l.Err != nil {
				lineProblem("%s line %d: %v", p.Name, l.N, l.Err)
				if l.ID == "" {
					return nil
				}
			}
			if first, dup := seen[l.ID]; dup {
				lineProblem("%s line %d: conversation %s duplicates %s line %d", p.Name, l.N, l.ID, first.part, first.line)
			} else {
				seen[l.ID] = lineRef{p.Name, l.N}
			}
			if l.Err == nil && window != nil {
				if !window.Contains(l.Start) {
					lineProblem("%s line %d: conversation %s started %s, outside the window %s", p.Name, l.N, l.ID, l.Start.Format("2006-01-02T15:04:05.000Z"), window)
				}
				for i, w := range m.Windows {
					if (Window{w.Start, w.End}).Contains(l.Start) {
						perWindow[i]++
						break
					}
				}
			}
			return nil
		})
		if lineProblems > maxLineProblems {
			r.problem("%s: %d more line problems not listed", p.Name, lineProblems-maxLineProblems)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			r.problem("%s: %v", p.Name, err)
			if st.SHA256 == "" {
				continue
			}
		}
		if p.Conversations < 0 {
			continue // not in the manifest: already reported
		}
		r.Parts++
		r.Conversations += st.Lines
		r.Bytes += st.Bytes
		if st.Bytes != p.Bytes {
			r.problem("%s: %d bytes stored, manifest says %d", p.Name, st.Bytes, p.Bytes)
		}
		if st.SHA256 != p.SHA256 {
			r.problem("%s: sha256 %s stored, manifest says %s", p.Name, st.SHA256, p.SHA256)
		}
		if st.Lines != p.Conversations {
			r.problem("%s: %d conversations stored, manifest says %d", p.Name, st.Lines, p.Conversations)
		}
	}
	if m != nil {
		for i, w := range m.Windows {
			if perWindow[i] != w.Conversations {
				r.problem("window %s: %d conversations in the parts, manifest says %d", Window{w.Start, w.End}, perWindow[i], w.Conversations)
			}
		}
	}
	return r, nil
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

func checkManifest(ctx context.Context, s *Store, prefix string, m *Manifest, present map[string]bool, r *Report) {
	if m.Format != Format {
		r.problem("%s: format %q, want %q", ManifestName, m.Format, Format)
	}
	if !m.Window.Start.Before(m.Window.End) {
		r.problem("%s: window %s is empty", ManifestName, m.Window)
	}
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
	if windowSum != t.Conversations {
		r.problem("%s: the windows hold %d conversations, the parts %d", ManifestName, windowSum, t.Conversations)
	}
	if m.User.Name != "" {
		if !present[m.User.Name] {
			r.problem("%s is listed in the manifest but missing from the store", m.User.Name)
		} else if sum, n, err := s.Digest(ctx, Key(prefix, m.User.Name)); err != nil {
			r.problem("%s: %v", m.User.Name, err)
		} else if sum != m.User.SHA256 || n != m.User.Bytes {
			r.problem("%s: %d bytes with sha256 %s stored, manifest says %d bytes with sha256 %s", m.User.Name, n, sum, m.User.Bytes, m.User.SHA256)
		}
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
