package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/activities/bundle"
)

func Test_GivenStoredBatchItems_ShouldReadThemPageByPageAndRefuseChangedOnesFinally(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := bundle.Open(ctx, "file://"+dir)
	require.NoError(t, err)
	defer store.Close()
	items := []json.RawMessage{json.RawMessage(`{"line":2}`), json.RawMessage(`{"line":3}`), json.RawMessage(`{"line":4}`)}
	ref, err := store.WriteBatchItems(ctx, "b1", items)
	require.NoError(t, err)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Store: store})
	read := func(in activities.BatchPageInput) ([]json.RawMessage, error) {
		v, err := env.ExecuteActivity("ReadBatchItems", in)
		if err != nil {
			return nil, err
		}
		var out []json.RawMessage
		require.NoError(t, v.Get(&out))
		return out, nil
	}

	page, err := read(activities.BatchPageInput{Items: ref, From: 0, Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, items[:2], page)
	page, err = read(activities.BatchPageInput{Items: ref, From: 2, Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, items[2:], page)

	_, err = read(activities.BatchPageInput{Items: ref, From: -1, Limit: 2})
	requireFinal(t, err, activities.ErrInvalidInput)
	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(ref.Key)), []byte("{\"line\":9}\n"), 0o600))
	_, err = read(activities.BatchPageInput{Items: ref, From: 0, Limit: 2})
	requireFinal(t, err, activities.ErrBundleCorrupt)
}

// requireFinal asserts that err is a non-retryable failure of type typ.
func requireFinal(t *testing.T, err error, typ string) {
	t.Helper()
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "got %v", err)
	assert.Equal(t, typ, ae.Type())
	assert.True(t, ae.NonRetryable())
}
