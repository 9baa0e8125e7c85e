package genesys_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenAStation_ShouldNameTheUserWhoHoldsItOrNone(t *testing.T) {
	f := newFixture(t, emulator.Options{Conversations: 100})
	c, ctx := f.dev(t), context.Background()
	var held, free string
	var holder string
	for _, s := range f.emu.Stations() {
		switch {
		case s.AssociatedUserID != "" && held == "":
			held, holder = s.ID, s.AssociatedUserID
		case s.AssociatedUserID == "" && free == "":
			free = s.ID
		}
	}
	require.NotEmpty(t, held)
	require.NotEmpty(t, free)

	got, err := c.StationHolder(ctx, held)
	require.NoError(t, err)
	assert.Equal(t, holder, got)
	got, err = c.StationHolder(ctx, free)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = c.StationHolder(ctx, "00000000-0000-4000-8000-00000000dead")
	assert.True(t, genesys.IsNotFound(err), "%v", err)
	_, err = c.StationHolder(ctx, "")
	assert.Equal(t, genesys.KindInvalid, genesys.KindOf(err))
}
