package activities_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
	"github.com/offboard/offboard/genesys"
)

func Test_GivenAnExportWithTheAccessSnapshot_ShouldWriteAccessJSONOnceAndRecordIt(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	in := f.input("run-access", start, end)
	in.Access = &activities.AccessSnapshot{
		UserID: f.user, State: genesys.StateActive, RoutingStatus: genesys.RoutingOffQueue,
		Grants:  []genesys.Grant{{RoleID: "r1", RoleName: "Agent", DivisionID: "d1"}},
		TakenAt: exportClock.Add(-time.Minute),
	}
	run := runExport(t, f.a, in, nil)
	require.NoError(t, run.err)

	m := exportManifest(t, f.dir, in.Bundle)
	require.NotNil(t, m.Access)
	assert.Equal(t, bundle.AccessName, m.Access.Name)
	raw, err := os.ReadFile(filepath.Join(f.dir, in.Bundle, bundle.AccessName))
	require.NoError(t, err)
	assert.Equal(t, int64(len(raw)), m.Access.Bytes)
	var got activities.AccessSnapshot
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Equal(t, *in.Access, got)
	rep := requireExportVerified(t, f.dir, in.Bundle)
	assert.Empty(t, rep.Notes)

	again := runExport(t, f.a, in, nil)
	require.NoError(t, again.err)
	assert.Equal(t, run.summary, again.summary)
}

func Test_GivenAnExportWithoutTheAccessSnapshot_ShouldWriteNoAccessJSON(t *testing.T) {
	f := newExportFixture(t, exportSeededOptions())
	start, end := exportSeededWindow()
	in := f.input("run-old", start, end)
	require.NoError(t, runExport(t, f.a, in, nil).err)
	assert.Nil(t, exportManifest(t, f.dir, in.Bundle).Access)
	_, err := os.Stat(filepath.Join(f.dir, in.Bundle, bundle.AccessName))
	assert.True(t, os.IsNotExist(err))
	requireExportVerified(t, f.dir, in.Bundle)
}
