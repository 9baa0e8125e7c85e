package genesys_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenMoreActiveUsersThanAPage_ShouldListEachActiveUserOnceWithEmailAndEmployeeID(t *testing.T) {
	f := newFixture(t, emulator.Options{Users: 120})
	c := f.dev(t)
	want := map[string]emulator.UserRecord{}
	for _, u := range f.emu.SeedUsers() {
		if u.State == "active" {
			want[u.ID], _ = f.emu.User(u.ID)
		}
	}
	require.Greater(t, len(want), 50)

	got := map[string]genesys.DirectoryUser{}
	pages := 0
	for page := 1; ; page++ {
		p, err := c.ListUsers(context.Background(), genesys.StateActive, 50, page)
		require.NoError(t, err)
		pages++
		assert.Equal(t, len(want), p.Total)
		for _, u := range p.Users {
			assert.NotContains(t, got, u.ID, "a user listed twice")
			got[u.ID] = u
		}
		if !p.More {
			break
		}
	}
	assert.Equal(t, (len(want)+49)/50, pages)
	require.Len(t, got, len(want))
	for id, rec := range want {
		assert.Equal(t, genesys.DirectoryUser{ID: id, Email: rec.Email, EmployeeID: rec.EmployeeID, State: genesys.StateActive}, got[id])
	}
}

func Test_GivenAPageSizeAboveTheMaximum_ShouldRefuseWithoutACall(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	_, err := f.dev(t).ListUsers(context.Background(), genesys.StateActive, genesys.MaxUsersPageSize+1, 1)
	requireKind(t, err, genesys.KindInvalid)
	p, err := f.dev(t).ListUsers(context.Background(), genesys.StateActive, genesys.MaxUsersPageSize, 1)
	require.NoError(t, err)
	assert.False(t, p.More)
}
