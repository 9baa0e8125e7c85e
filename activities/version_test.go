package activities_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/internal/version"
)

// stampBuild sets the version the linker would stamp, for one test.
func stampBuild(t *testing.T, v, commit string) {
	t.Helper()
	oldV, oldC := version.Version, version.Commit
	version.Version, version.Commit = v, commit
	t.Cleanup(func() { version.Version, version.Commit = oldV, oldC })
}

func Test_GivenAStampedBuild_ShouldNameItInTheManifestsToolVersion(t *testing.T) {
	stampBuild(t, "v7.7.7-test", "c0ffee")
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	in := f.input("run-version", start, end)
	run := runExport(t, f.a, in, nil)
	require.NoError(t, run.err)
	m := exportManifest(t, f.dir, in.Bundle)
	assert.Equal(t, "offboard "+version.String(), m.ToolVersion)
	assert.Contains(t, m.ToolVersion, "v7.7.7-test")
	assert.Contains(t, m.ToolVersion, "c0ffee")
}

func Test_GivenAStampedBuild_ShouldNameItInTheAuditRecordAndKeepTheFirstOnARetryByAnother(t *testing.T) {
	stampBuild(t, "v7.7.7-test", "c0ffee")
	h := dev(t)
	rec := activities.AuditRecord{Bundle: "u2/run2", WorkflowID: "offboarding-u2", RunID: "run2", UserID: "u2",
		Disposition: "archive", RequestedBy: "hr", Outcome: "archived"}
	var ref, again activities.AuditRef
	require.NoError(t, run(t, h, &ref, h.a.WriteAudit, rec))
	data, err := h.a.Store.ReadAll(context.Background(), "u2/run2/audit.json")
	require.NoError(t, err)
	var stored activities.AuditRecord
	require.NoError(t, json.Unmarshal(data, &stored))
	assert.Equal(t, "offboard v7.7.7-test (commit c0ffee)", stored.ToolVersion)

	// A retry on a worker of another build finds the first write.
	version.Version = "v7.7.8-test"
	require.NoError(t, run(t, h, &again, h.a.WriteAudit, rec))
	assert.Equal(t, ref, again)
}
