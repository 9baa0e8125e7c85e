package genesys_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// seededRecord is the inspection record of the seeded user at index i.
func (f *fixture) seededRecord(t *testing.T, i int) emulator.UserRecord {
	t.Helper()
	rec, ok := f.emu.User(f.emu.SeedUsers()[i].ID)
	require.True(t, ok)
	return rec
}

func Test_GivenAnEmailInAnotherCase_ShouldFindTheOneUserItBelongsTo(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	rec := f.seededRecord(t, 1)
	got, err := f.dev(t).FindUsers(context.Background(), genesys.FieldEmail, "  "+strings.ToUpper(rec.Email)+" ")
	require.NoError(t, err)
	assert.Equal(t, genesys.Matches{Users: []genesys.UserMatch{{ID: rec.ID, State: genesys.StateActive}}, Total: 1}, got)
	require.Len(t, f.calls("POST", "/api/v2/users/search"), 1)
	reads := f.calls("GET", "/api/v2/users/"+rec.ID)
	require.Len(t, reads, 1, "the match is read back")
	assert.Contains(t, reads[0].Query, "expand=employerInfo")
}

func Test_GivenAnEmployeeID_ShouldFindItsUserAndAnInactiveOneToo(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	active := f.seededRecord(t, 0)
	got, err := c.FindUsers(context.Background(), genesys.FieldEmployeeID, active.EmployeeID)
	require.NoError(t, err)
	assert.Equal(t, []genesys.UserMatch{{ID: active.ID, State: genesys.StateActive}}, got.Users)

	rec := f.seededRecord(t, 25) // inactive (every 13th), and no rehire
	require.Equal(t, "inactive", rec.State)
	got, err = c.FindUsers(context.Background(), genesys.FieldEmployeeID, rec.EmployeeID)
	require.NoError(t, err)
	assert.Equal(t, []genesys.UserMatch{{ID: rec.ID, State: genesys.StateInactive}}, got.Users)

	got, err = c.FindUsers(context.Background(), genesys.FieldEmployeeID, strings.ToLower(rec.EmployeeID))
	require.NoError(t, err)
	assert.Empty(t, got.Users, "employee IDs compare exactly")
}

func Test_GivenARehireSharingAnEmployeeID_ShouldFindBothUsers(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	rehire, earlier := f.seededRecord(t, emulator.AmbiguousRehireIndex), f.seededRecord(t, emulator.AmbiguousEarlierIndex)
	require.Equal(t, rehire.EmployeeID, earlier.EmployeeID)
	got, err := f.dev(t).FindUsers(context.Background(), genesys.FieldEmployeeID, rehire.EmployeeID)
	require.NoError(t, err)
	assert.Equal(t, 2, got.Total)
	assert.ElementsMatch(t, []genesys.UserMatch{{ID: rehire.ID, State: genesys.StateActive}, {ID: earlier.ID, State: genesys.StateInactive}}, got.Users)
}

func Test_GivenADeletedUsersEmailOrAnUnknownOne_ShouldFindNoUser(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	deleted, _ := f.emu.User(f.userIn(t, "deleted", 0).ID)
	for _, q := range []struct {
		field genesys.SearchField
		value string
	}{{genesys.FieldEmail, deleted.Email}, {genesys.FieldEmployeeID, deleted.EmployeeID}, {genesys.FieldEmail, "nobody@example.com"}} {
		got, err := c.FindUsers(context.Background(), q.field, q.value)
		require.NoError(t, err)
		assert.Equal(t, genesys.Matches{Users: []genesys.UserMatch{}}, got, q.field)
	}
}

func Test_GivenASearchIndexThatHasNotCaughtUp_ShouldRefuseTheStaleResult(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	rec := f.seededRecord(t, 1)
	f.emu.SetFaults(emulator.Faults{FreezeSearch: true})
	require.NoError(t, c.DeleteUser(context.Background(), rec.ID))

	got, err := c.FindUsers(context.Background(), genesys.FieldEmail, rec.Email)
	require.NoError(t, err)
	assert.Equal(t, genesys.Matches{Users: []genesys.UserMatch{}, Total: 1, Stale: 1}, got, "the search still lists the user; the read-back does not")
}

func Test_GivenAnEmptyValueOrAnUnknownField_ShouldRefuseWithoutCallingGenesys(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	c := f.dev(t)
	_, err := c.FindUsers(context.Background(), genesys.FieldEmail, "  ")
	requireKind(t, err, genesys.KindInvalid)
	_, err = c.FindUsers(context.Background(), "name", "Ada")
	requireKind(t, err, genesys.KindInvalid)
	assert.Empty(t, f.calls("POST", "/api/v2/users/search"))
}

func Test_GivenAClientWithoutUserView_ShouldDenyTheSearchNamingThePermission(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.emu.AddClient("no-view", "no-view-secret", genesys.PermUserEdit)
	_, err := f.client(t, "no-view", "no-view-secret").FindUsers(context.Background(), genesys.FieldEmail, "ada@example.com")
	ge := requireKind(t, err, genesys.KindPermissionDenied)
	assert.Equal(t, []string{genesys.PermUserView}, ge.MissingPermissions)
	assert.NotContains(t, err.Error(), "ada@example.com", "the value stays out of errors")
}

func Test_GivenASearchResultNamingSomeoneElse_ShouldRefuseItOnTheReadBack(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	target, other := f.seededRecord(t, 1), f.seededRecord(t, 3)
	// A lagging index that still has target's email and employee ID on other's ID.
	stale := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/users/search" {
			f.emu.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		f.emu.ServeHTTP(rec, r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		_, _ = io.WriteString(w, strings.ReplaceAll(rec.Body.String(), target.ID, other.ID))
	}))
	t.Cleanup(stale.Close)
	cfg := f.config(emulator.DevClientID, emulator.DevClientSecret)
	cfg.APIURL = stale.URL
	c, err := genesys.New(context.Background(), cfg)
	require.NoError(t, err)
	for field, value := range map[genesys.SearchField]string{genesys.FieldEmail: target.Email, genesys.FieldEmployeeID: target.EmployeeID} {
		got, err := c.FindUsers(context.Background(), field, value)
		require.NoError(t, err)
		assert.Equal(t, genesys.Matches{Users: []genesys.UserMatch{}, Total: 1, Stale: 1}, got, field)
	}
}
