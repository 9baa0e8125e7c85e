package activities_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

// resolve runs ResolvePerson in the activity environment.
func (h *harness) resolve(by, value string) (activities.Resolution, error) {
	v, err := h.env.ExecuteActivity(h.a.ResolvePerson, activities.ResolveInput{By: by, Value: value})
	if err != nil {
		return activities.Resolution{}, err
	}
	var r activities.Resolution
	return r, v.Get(&r)
}

// record is the inspection record of the seeded user at index i.
func (h *harness) record(t *testing.T, i int) emulator.UserRecord {
	t.Helper()
	rec, ok := h.emu.User(h.emu.SeedUsers()[i].ID)
	require.True(t, ok)
	return rec
}

func Test_GivenAnEmailOrAnEmployeeID_ShouldResolveTheOneUserAndSayHow(t *testing.T) {
	h := dev(t)
	rec := h.record(t, 3)
	got, err := h.resolve(activities.IdentifyByEmail, strings.ToUpper(rec.Email))
	require.NoError(t, err)
	assert.Equal(t, activities.Resolution{UserID: rec.ID, By: activities.IdentifyByEmail, Field: "email", State: genesys.StateActive}, got)

	got, err = h.resolve(activities.IdentifyByEmployeeID, rec.EmployeeID)
	require.NoError(t, err)
	assert.Equal(t, activities.Resolution{UserID: rec.ID, By: activities.IdentifyByEmployeeID, Field: "hr.employeeId", State: genesys.StateActive}, got)
}

func Test_GivenARehireSharingAnEmployeeID_ShouldRefuseTheAmbiguousMatchFinally(t *testing.T) {
	h := dev(t)
	rec := h.record(t, emulator.AmbiguousRehireIndex)
	_, err := h.resolve(activities.IdentifyByEmployeeID, rec.EmployeeID)
	ae := appError(t, err, activities.ErrPersonAmbiguous, false)
	assert.Contains(t, ae.Error(), "2 Genesys users share that employee ID; send the Genesys user ID instead")
	assert.NotContains(t, err.Error(), rec.EmployeeID)
	var n int
	require.NoError(t, ae.Details(&n))
	assert.Equal(t, 2, n)
}

func Test_GivenAnUnknownOrDeletedUsersEmail_ShouldRefuseTheUnknownPersonFinally(t *testing.T) {
	h := dev(t)
	deleted, _ := h.emu.User(h.userIn(t, "deleted", 0).ID)
	for _, email := range []string{"nobody@example.com", deleted.Email} {
		_, err := h.resolve(activities.IdentifyByEmail, email)
		appError(t, err, activities.ErrPersonUnknown, false)
		assert.ErrorContains(t, err, "no active or inactive Genesys user has that email; check it, or send the Genesys user ID instead")
		assert.NotContains(t, err.Error(), email)
	}
}

func Test_GivenASearchResultTheReadBackContradicts_ShouldNotResolveToItAndRetry(t *testing.T) {
	h := dev(t)
	rec := h.record(t, 3)
	h.emu.SetFaults(emulator.Faults{FreezeSearch: true})
	_, err := h.env.ExecuteActivity(h.a.DeleteUser, activities.UserRef{UserID: rec.ID})
	require.NoError(t, err)

	_, err = h.resolve(activities.IdentifyByEmail, rec.Email)
	appError(t, err, activities.ErrNotYetConsistent, true)
	assert.NotContains(t, err.Error(), rec.Email)
}

func Test_GivenAnUnknownWayOrNoValue_ShouldRefuseTheInput(t *testing.T) {
	h := dev(t)
	_, err := h.resolve("phone", "+13175550100")
	appError(t, err, activities.ErrInvalidInput, false)
	_, err = h.resolve(activities.IdentifyByEmail, "")
	appError(t, err, activities.ErrInvalidInput, false)
}
