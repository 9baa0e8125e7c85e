package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/internal/version"
)

// existing returns the summary of a bundle whose manifest is already written, after checking
// that it is the bundle this input asks for and that it verifies.
func (x *exporter) existing(ctx context.Context) (ExportSummary, bool, error) {
	key := bundle.Key(x.prefix, bundle.ManifestName)
	ok, err := x.store.Exists(ctx, key)
	if err != nil || !ok {
		return ExportSummary{}, false, err
	}
	rep, err := bundle.Verify(ctx, x.store, x.prefix)
	if err != nil {
		return ExportSummary{}, false, err
	}
	if !rep.OK() || rep.Manifest == nil {
		return ExportSummary{}, false, failure(ErrBundleCorrupt, nil, fmt.Sprintf(
			"the bundle %s already has a manifest but fails verification: %s", x.store.URL(x.prefix), strings.Join(rep.Problems, "; ")), rep.Problems)
	}
	m := rep.Manifest
	if m.UserID != x.in.UserID || !m.Window.Start.Equal(x.in.Window.Start) || !m.Window.End.Equal(x.in.Window.End) {
		return ExportSummary{}, false, failf(ErrInvalidInput,
			"the bundle %s already holds the export of user %s over %s; use another bundle prefix for user %s over %s..%s",
			x.store.URL(x.prefix), m.UserID, m.Window, x.in.UserID, x.in.Window.Start.Format(time.RFC3339), x.in.Window.End.Format(time.RFC3339))
	}
	return x.summary(m), true, nil
}

func (x *exporter) summary(m *bundle.Manifest) ExportSummary {
	return ExportSummary{
		Bundle:         x.prefix,
		ManifestURL:    x.store.URL(bundle.Key(x.prefix, bundle.ManifestName)),
		ManifestSHA256: m.ManifestSHA256,
		Parts:          m.Totals.Parts,
		Conversations:  m.Totals.Conversations,
		Bytes:          m.Totals.Bytes,
		Windows:        len(m.Windows),
	}
}

// finish writes user.json, access.json (when the input has the access snapshot) and, last,
// manifest.json.
func (x *exporter) finish(ctx context.Context) (ExportSummary, error) {
	user, err := x.writeObject(ctx, bundle.UserName, x.in.User)
	if err != nil {
		return ExportSummary{}, err
	}
	m := x.manifest(user)
	if x.in.Access != nil {
		access, err := x.writeObject(ctx, bundle.AccessName, x.in.Access)
		if err != nil {
			return ExportSummary{}, err
		}
		m.Access = &bundle.ObjectRecord{Name: bundle.AccessName, Bytes: int64(len(access)), SHA256: sha256Hex(access)}
	}
	if err := m.Seal(); err != nil {
		return ExportSummary{}, err
	}
	raw, err := m.Encode()
	if err != nil {
		return ExportSummary{}, err
	}
	if err := x.store.WriteOnce(ctx, bundle.Key(x.prefix, bundle.ManifestName), raw, "application/json"); err != nil {
		return ExportSummary{}, err
	}
	sum := x.summary(&m)
	x.logger(ctx).Info("export written", "bundle", x.prefix, "parts", sum.Parts, "conversations", sum.Conversations, "bytes", sum.Bytes)
	return sum, nil
}

// writeObject writes v as indented JSON under name in the bundle, once, and returns its bytes.
func (x *exporter) writeObject(ctx context.Context, name string, v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	data = append(data, '\n')
	if err := x.store.WriteOnce(ctx, bundle.Key(x.prefix, name), data, "application/json"); err != nil {
		return nil, err
	}
	return data, nil
}

func (x *exporter) manifest(user []byte) bundle.Manifest {
	filters, _ := json.Marshal([]map[string]any{{
		"type":       "and",
		"predicates": []map[string]string{{"dimension": "userId", "operator": "matches", "value": x.in.UserID}},
	}})
	m := bundle.Manifest{
		Format:      bundle.Format,
		ToolVersion: toolVersion(),
		UserID:      x.in.UserID,
		Window:      bundle.Window{Start: x.in.Window.Start.UTC(), End: x.in.Window.End.UTC()},
		Query: bundle.Query{
			API:            "POST /api/v2/analytics/conversations/details/jobs, one job per window, order asc by conversationStart",
			SegmentFilters: filters,
			Selection:      "conversations whose conversationStart is in [window.start, window.end), each once, in the window containing its start",
			CountAPI:       "POST /api/v2/analytics/conversations/details/query, per window in pieces of at most 31 days: totalHits for whole UTC days, distinct conversationIds starting in the window for a partial day",
		},
		User: bundle.ObjectRecord{Name: bundle.UserName, Bytes: int64(len(user)), SHA256: sha256Hex(user)},
	}
	for i, w := range x.windows {
		m.Windows = append(m.Windows, bundle.JobWindow{Start: w.Start, End: w.End, JobIDs: x.p.Windows[i].JobIDs, Conversations: x.p.Windows[i].Conversations})
	}
	for _, p := range x.p.Parts {
		m.Parts = append(m.Parts, p.PartRecord)
	}
	return m
}

// toolVersion names the build that wrote the bundle or the audit record.
func toolVersion() string { return "offboard " + version.String() }
