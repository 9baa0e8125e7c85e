package bundle_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities/bundle"
)

func Test_GivenStoredBatchItems_ShouldPageThemAndRefuseAChangedObject(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := bundle.Open(ctx, "file://"+dir)
	require.NoError(t, err)
	defer st.Close()
	items := []json.RawMessage{json.RawMessage(`{"line":2}`), json.RawMessage(`{"line":3}`), json.RawMessage(`{"line":4}`)}
	ref, err := st.WriteBatchItems(ctx, "b1", items)
	require.NoError(t, err)
	assert.Equal(t, 3, ref.Count)

	again, err := st.WriteBatchItems(ctx, "b1", items)
	require.NoError(t, err, "a retry with the same items converges")
	assert.Equal(t, ref, again)
	_, err = st.WriteBatchItems(ctx, "b1", items[:1])
	require.ErrorIs(t, err, bundle.ErrObjectExists)

	page, err := st.ReadBatchItems(ctx, ref, 1, 5)
	require.NoError(t, err)
	assert.Equal(t, []json.RawMessage{items[1], items[2]}, page)
	page, err = st.ReadBatchItems(ctx, ref, 3, 5)
	require.NoError(t, err)
	assert.Empty(t, page)

	_, err = st.WriteBatchItems(ctx, "b2", []json.RawMessage{json.RawMessage("{\"a\":\n1}")})
	require.Error(t, err, "an item must be one line")

	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(ref.Key)), []byte(`{"line":9}`+"\n"), 0o600))
	_, err = st.ReadBatchItems(ctx, ref, 0, 5)
	require.ErrorIs(t, err, bundle.ErrBatchItemsChanged)
}
