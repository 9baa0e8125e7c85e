package bundle_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities/bundle"
)

func openStore(t *testing.T) (*bundle.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "exports")
	s, err := bundle.Open(context.Background(), "file://"+dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, dir
}

func Test_GivenAWrittenObject_ShouldAcceptAnIdenticalRewriteAndRefuseOtherContent(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	require.NoError(t, s.WriteOnce(ctx, "u1/r1/audit.json", []byte(`{"a":1}`), "application/json"))
	require.NoError(t, s.WriteOnce(ctx, "u1/r1/audit.json", []byte(`{"a":1}`), "application/json"))
	err := s.WriteOnce(ctx, "u1/r1/audit.json", []byte(`{"a":2}`), "application/json")
	require.ErrorIs(t, err, bundle.ErrObjectExists)
	got, err := s.ReadAll(ctx, "u1/r1/audit.json")
	require.NoError(t, err)
	assert.Equal(t, `{"a":1}`, string(got), "the first write stays")
	assert.Equal(t, "file://"+dir+"/u1/r1/audit.json", s.URL("u1/r1/audit.json"))
}

func Test_GivenALocalStore_ShouldMakeFilesAndDirectoriesOwnerOnly(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	require.NoError(t, s.WriteOnce(ctx, "u1/r1/user.json", []byte(`{}`), "application/json"))
	p, err := s.CreatePart(ctx, "u1/r1", bundle.PartName(0))
	require.NoError(t, err)
	require.NoError(t, p.Add([]byte(`{"conversationId":"c1","conversationStart":"2024-01-01T00:00:00.000Z"}`)))
	_, err = p.Close(ctx)
	require.NoError(t, err)

	for _, f := range []string{"u1/r1/user.json", "u1/r1/part-00000.ndjson.gz"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
	for _, d := range []string{"u1", "u1/r1"} {
		fi, err := os.Stat(filepath.Join(dir, d))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), d)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "u1/r1"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasSuffix(e.Name(), ".attrs") || strings.HasSuffix(e.Name(), ".tmp"), "stray file %s", e.Name())
	}
}

func Test_GivenAnAbortedOrCancelledPart_ShouldLeaveNoObject(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	p, err := s.CreatePart(ctx, "u/r", bundle.PartName(0))
	require.NoError(t, err)
	require.NoError(t, p.Add([]byte(`{"conversationId":"c1"}`)))
	p.Abort()
	ok, err := s.Exists(ctx, "u/r/part-00000.ndjson.gz")
	require.NoError(t, err)
	assert.False(t, ok)

	cctx, cancel := context.WithCancel(ctx)
	p, err = s.CreatePart(cctx, "u/r", bundle.PartName(0))
	require.NoError(t, err)
	require.NoError(t, p.Add([]byte(`{"conversationId":"c1"}`)))
	cancel()
	_, err = p.Close(ctx)
	require.Error(t, err)
	ok, err = s.Exists(ctx, "u/r/part-00000.ndjson.gz")
	require.NoError(t, err)
	assert.False(t, ok)
}

func Test_GivenTheSameConversations_ShouldWriteTheSameBytesAndRecord(t *testing.T) {
	ctx := context.Background()
	lines := [][]byte{
		[]byte(`{"conversationId":"c1","conversationStart":"2024-01-01T00:00:00.000Z"}`),
		[]byte("{\n  \"conversationId\": \"c2\",\n  \"conversationStart\": \"2024-01-02T00:00:00.000Z\"\n}"),
	}
	write := func(s *bundle.Store) (bundle.PartRecord, []byte) {
		p, err := s.CreatePart(ctx, "u/r", bundle.PartName(3))
		require.NoError(t, err)
		for _, l := range lines {
			require.NoError(t, p.Add(l))
		}
		rec, err := p.Close(ctx)
		require.NoError(t, err)
		raw, err := s.ReadAll(ctx, "u/r/"+bundle.PartName(3))
		require.NoError(t, err)
		return rec, raw
	}
	s1, _ := openStore(t)
	s2, _ := openStore(t)
	rec1, raw1 := write(s1)
	rec2, raw2 := write(s2)
	assert.Equal(t, raw1, raw2)
	assert.Equal(t, rec1, rec2)
	sum := sha256.Sum256(raw1)
	assert.Equal(t, bundle.PartRecord{Name: "part-00003.ndjson.gz", Conversations: 2, Bytes: int64(len(raw1)), SHA256: hex.EncodeToString(sum[:])}, rec1)

	// Rewriting the same part (a retried attempt) is fine; different content is refused.
	rec3, _ := write(s1)
	assert.Equal(t, rec1, rec3)
	p, err := s1.CreatePart(ctx, "u/r", bundle.PartName(3))
	require.NoError(t, err)
	require.NoError(t, p.Add(lines[0]))
	_, err = p.Close(ctx)
	require.ErrorIs(t, err, bundle.ErrObjectExists)

	zr, err := gzip.NewReader(bytes.NewReader(raw1))
	require.NoError(t, err)
	assert.True(t, zr.ModTime.IsZero())
	assert.Empty(t, zr.Name)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, `{"conversationId":"c1","conversationStart":"2024-01-01T00:00:00.000Z"}`+"\n"+
		`{"conversationId":"c2","conversationStart":"2024-01-02T00:00:00.000Z"}`+"\n", string(plain))
}

// A store reuses compressors from part to part: what an earlier part wrote, or an aborted one
// left behind, must not change the bytes of the next.
func Test_GivenAReusedCompressor_ShouldWriteTheSameBytesAsAFreshOne(t *testing.T) {
	ctx := context.Background()
	big := func(i int) []byte { return conv(fmt.Sprintf("c%06d", i), t0.Add(time.Duration(i)*time.Minute)) }
	write := func(s *bundle.Store, seq, from, to int) bundle.PartRecord {
		p, err := s.CreatePart(ctx, "u/r", bundle.PartName(seq))
		require.NoError(t, err)
		for i := from; i < to; i++ {
			require.NoError(t, p.Add(big(i)))
		}
		rec, err := p.Close(ctx)
		require.NoError(t, err)
		return rec
	}
	fresh, _ := openStore(t)
	want := write(fresh, 1, 5000, 5100)

	s, _ := openStore(t)
	write(s, 0, 0, 5000) // several compressor blocks and output buffers
	aborted, err := s.CreatePart(ctx, "u/r", bundle.PartName(9))
	require.NoError(t, err)
	for i := 0; i < 3000; i++ {
		require.NoError(t, aborted.Add(big(i)))
	}
	aborted.Abort()
	for range 3 {
		got := write(s, 1, 5000, 5100)
		assert.Equal(t, want, got)
	}
	require.Error(t, aborted.Add(big(0)), "an aborted part takes no more lines")
	st, err := s.ReadPart(ctx, "u/r/"+bundle.PartName(0), func(bundle.Line) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, 5000, st.Lines)
}

func Test_GivenAManifest_ShouldDigestItsCanonicalFormWithSHA256(t *testing.T) {
	raw := []byte(`{
	  "z": "caf\u00e9 <&> \u0001\t",
	  "a": [3, {"b": -1, "B": true, "€": null}],
	  "manifestSha256": "ignored"
	}`)
	// RFC 8785: members sorted by UTF-16 code units, no whitespace, minimal escaping.
	canonical := `{"a":[3,{"B":true,"b":-1,"€":null}],"manifestSha256":"","z":"café <&> \u0001\t"}`
	want := sha256.Sum256([]byte(canonical))
	got, err := bundle.ManifestDigest(raw)
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(want[:]), got)

	_, err = bundle.ManifestDigest([]byte(`{"a":1.5}`))
	require.Error(t, err, "the canonical form of a manifest holds integers only")
}

var (
	t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 = t0.AddDate(0, 0, 30)
	t2 = t1.AddDate(0, 0, 30)
)

func conv(id string, start time.Time) []byte {
	return []byte(fmt.Sprintf(`{"conversationId":%q,"conversationStart":%q,"participants":[{"userId":"u"}]}`, id, start.Format("2006-01-02T15:04:05.000Z")))
}

// writeBundle writes a sound two-part bundle and returns its manifest.
func writeBundle(t *testing.T, s *bundle.Store, prefix string, parts [][][]byte) bundle.Manifest {
	t.Helper()
	ctx := context.Background()
	m := bundle.Manifest{
		Format: bundle.Format, ToolVersion: "test", UserID: "u",
		Window:  bundle.Window{Start: t0, End: t2},
		Query:   bundle.Query{API: "jobs", SegmentFilters: json.RawMessage(`[]`), Selection: "start in window", CountAPI: "query"},
		Windows: []bundle.JobWindow{{Start: t0, End: t1, JobIDs: []string{"j1"}}, {Start: t1, End: t2, JobIDs: []string{"j2"}}},
	}
	for i, lines := range parts {
		p, err := s.CreatePart(ctx, prefix, bundle.PartName(i))
		require.NoError(t, err)
		for _, l := range lines {
			require.NoError(t, p.Add(l))
			var h bundle.ConversationHead
			require.NoError(t, json.Unmarshal(l, &h))
			if h.ConversationStart < t1.Format(time.RFC3339) {
				m.Windows[0].Conversations++
			} else {
				m.Windows[1].Conversations++
			}
		}
		rec, err := p.Close(ctx)
		require.NoError(t, err)
		m.Parts = append(m.Parts, rec)
	}
	user := []byte(`{"user":{"id":"u"}}`)
	require.NoError(t, s.WriteOnce(ctx, bundle.Key(prefix, bundle.UserName), user, "application/json"))
	sum := sha256.Sum256(user)
	m.User = bundle.ObjectRecord{Name: bundle.UserName, Bytes: int64(len(user)), SHA256: hex.EncodeToString(sum[:])}
	require.NoError(t, m.Seal())
	raw, err := m.Encode()
	require.NoError(t, err)
	require.NoError(t, s.WriteOnce(ctx, bundle.Key(prefix, bundle.ManifestName), raw, "application/json"))
	return m
}

func soundParts() [][][]byte {
	return [][][]byte{
		{conv("c1", t0.Add(time.Hour)), conv("c2", t0.Add(2*time.Hour))},
		{conv("c3", t1.Add(time.Minute))},
	}
}

func Test_GivenASoundBundle_ShouldVerifyWithoutProblems(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	m := writeBundle(t, s, "u/r", soundParts())

	rep, err := bundle.Verify(ctx, s, "u/r")
	require.NoError(t, err)
	assert.Empty(t, rep.Problems)
	assert.True(t, rep.OK())
	assert.Equal(t, 2, rep.Parts)
	assert.Equal(t, 3, rep.Conversations)
	assert.Equal(t, m.Totals.Bytes, rep.Bytes)

	for _, u := range []string{"file://" + dir + "/u/r", "file://" + dir + "/u/r/", "file://" + dir + "/u/r/manifest.json"} {
		rep, err := bundle.VerifyURL(ctx, u)
		require.NoError(t, err, u)
		assert.True(t, rep.OK(), "%s: %v", u, rep.Problems)
		assert.Equal(t, 3, rep.Conversations)
	}
	_, err = bundle.VerifyURL(ctx, "file://"+dir+"/nope/none")
	require.Error(t, err, "verifying must not create a missing bundle")
	_, err = os.Stat(filepath.Join(dir, "nope"))
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

func requireProblem(t *testing.T, rep bundle.Report, substrings ...string) {
	t.Helper()
	require.False(t, rep.OK())
	for _, want := range substrings {
		found := false
		for _, p := range rep.Problems {
			if strings.Contains(p, want) {
				found = true
			}
		}
		assert.True(t, found, "no problem mentions %q in %q", want, rep.Problems)
	}
}

func Test_GivenAFlippedByte_ShouldFailVerification(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	writeBundle(t, s, "u/r", soundParts())
	path := filepath.Join(dir, "u/r/part-00001.ndjson.gz")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	raw[len(raw)/2] ^= 0x01
	require.NoError(t, os.WriteFile(path, raw, 0o600))

	rep, err := bundle.VerifyURL(ctx, "file://"+dir+"/u/r")
	require.NoError(t, err)
	requireProblem(t, rep, "part-00001.ndjson.gz: sha256")
}

func Test_GivenAMissingPart_ShouldFailVerification(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	writeBundle(t, s, "u/r", soundParts())
	require.NoError(t, os.Remove(filepath.Join(dir, "u/r/part-00000.ndjson.gz")))

	rep, err := bundle.VerifyURL(ctx, "file://"+dir+"/u/r")
	require.NoError(t, err)
	requireProblem(t, rep, "part-00000.ndjson.gz is listed in the manifest but missing")
}

func Test_GivenADuplicatedLineAndARecomputedManifest_ShouldFailVerification(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	parts := soundParts()
	parts[1] = append(parts[1], parts[0][1]) // c2 again, in another part
	writeBundle(t, s, "u/r", parts)

	rep, err := bundle.VerifyURL(ctx, "file://"+dir+"/u/r")
	require.NoError(t, err)
	requireProblem(t, rep, "part-00001.ndjson.gz line 2: conversation c2 duplicates part-00000.ndjson.gz line 2")
}

func Test_GivenATamperedManifestAnExtraPartAndBadLines_ShouldReportEach(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	writeBundle(t, s, "u/r", soundParts())

	// A part the manifest does not list, with a bad line and a conversation outside the window.
	p, err := s.CreatePart(ctx, "u/r", bundle.PartName(2))
	require.NoError(t, err)
	require.NoError(t, p.Add([]byte(`{"conversationId":"c9","conversationStart":"2023-06-01T00:00:00.000Z"}`)))
	require.NoError(t, p.Add([]byte(`[1,2]`)))
	_, err = p.Close(ctx)
	require.NoError(t, err)

	// Edit the manifest's totals without resealing it.
	mpath := filepath.Join(dir, "u/r/manifest.json")
	raw, err := os.ReadFile(mpath)
	require.NoError(t, err)
	var m bundle.Manifest
	require.NoError(t, json.Unmarshal(raw, &m))
	m.Parts[0].Conversations = 5
	raw, err = m.Encode()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(mpath, raw, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "u/r/part-00003.ndjson.gz.1a2b.tmp"), []byte("x"), 0o600))

	rep, err := bundle.VerifyURL(ctx, "file://"+dir+"/u/r/manifest.json")
	require.NoError(t, err)
	requireProblem(t, rep,
		"manifest.json: manifestSha256",
		"totals",
		"part-00000.ndjson.gz: 2 conversations stored, manifest says 5",
		"part-00002.ndjson.gz is in the store but not in the manifest",
		"part-00002.ndjson.gz line 2: not a JSON object",
	)
	assert.Len(t, rep.Notes, 1)
	assert.Contains(t, rep.Notes[0], "temporary file")
}

func Test_GivenNoManifest_ShouldFailVerification(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	writeBundle(t, s, "u/r", soundParts())
	require.NoError(t, os.Remove(filepath.Join(dir, "u/r/manifest.json")))
	rep, err := bundle.Verify(ctx, s, "u/r")
	require.NoError(t, err)
	requireProblem(t, rep, "manifest.json is missing")
}

// addAccess writes access.json under prefix and records it in a resealed manifest.
func addAccess(t *testing.T, s *bundle.Store, dir, prefix string, m bundle.Manifest, access []byte) bundle.Manifest {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.WriteOnce(ctx, bundle.Key(prefix, bundle.AccessName), access, "application/json"))
	sum := sha256.Sum256(access)
	m.Access = &bundle.ObjectRecord{Name: bundle.AccessName, Bytes: int64(len(access)), SHA256: hex.EncodeToString(sum[:])}
	require.NoError(t, m.Seal())
	raw, err := m.Encode()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, prefix, bundle.ManifestName), raw, 0o600))
	return m
}

func Test_GivenABundleWithItsAccessSnapshot_ShouldVerifyItAndCatchATamperedOne(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	m := writeBundle(t, s, "u/r", soundParts())
	addAccess(t, s, dir, "u/r", m, []byte(`{"userId":"u","grants":[]}`))

	rep, err := bundle.Verify(ctx, s, "u/r")
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%v", rep.Problems)
	assert.Empty(t, rep.Notes)
	require.NotNil(t, rep.Manifest.Access)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "u/r", bundle.AccessName), []byte(`{"userId":"u","grants":[{}]}`), 0o600))
	rep, err = bundle.Verify(ctx, s, "u/r")
	require.NoError(t, err)
	requireProblem(t, rep, bundle.AccessName, "manifest says")

	require.NoError(t, os.Remove(filepath.Join(dir, "u/r", bundle.AccessName)))
	rep, err = bundle.Verify(ctx, s, "u/r")
	require.NoError(t, err)
	requireProblem(t, rep, bundle.AccessName+" is listed in the manifest but missing")
}

func Test_GivenAnOldBundleWithoutAccess_ShouldStillVerifyAndNoteAnUnrecordedOne(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	m := writeBundle(t, s, "u/r", soundParts())
	raw, err := m.Encode()
	require.NoError(t, err)
	assert.NotContains(t, string(raw), `"access"`, "a manifest without access keeps the old layout and digest")

	require.NoError(t, s.WriteOnce(ctx, bundle.Key("u/r", bundle.AccessName), []byte(`{}`), "application/json"))
	rep, err := bundle.Verify(ctx, s, "u/r")
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%v", rep.Problems)
	require.Len(t, rep.Notes, 1)
	assert.Contains(t, rep.Notes[0], "not recorded in the manifest")
}
