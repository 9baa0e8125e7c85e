package emulator_test

import (
	"testing"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/genesys/emulator"
)

// exact is an EXACT criterion on field for values.
func exact(field string, values ...string) platformclientv2.Usersearchcriteria {
	return platformclientv2.Usersearchcriteria{VarType: ptr("EXACT"), Fields: &[]string{field}, Values: &values}
}

func Test_GivenSearchesByEmailEmployeeIDAndState_ShouldAnswerTheMatchingUsers(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	api := users(e.dev())
	rehire, _ := e.emu.User(e.emu.SeedUsers()[emulator.AmbiguousRehireIndex].ID)
	earlier, _ := e.emu.User(e.emu.SeedUsers()[emulator.AmbiguousEarlierIndex].ID)
	require.Equal(t, rehire.EmployeeID, earlier.EmployeeID, "the seeded rehire")

	ids := func(r *platformclientv2.Userssearchresponse) []string {
		var out []string
		for _, u := range *r.Results {
			out = append(out, *u.Id)
		}
		return out
	}
	got, resp, err := api.PostUsersSearch(platformclientv2.Usersearchrequest{Query: &[]platformclientv2.Usersearchcriteria{exact("hr.employeeId", rehire.EmployeeID)}})
	ok(t, resp, err)
	assert.Equal(t, []string{rehire.ID}, ids(got), "without a state criterion only active users match")

	got, resp, err = api.PostUsersSearch(platformclientv2.Usersearchrequest{Expand: &[]string{"employerInfo"}, Query: &[]platformclientv2.Usersearchcriteria{
		exact("hr.employeeId", rehire.EmployeeID), exact("state", "active", "inactive")}})
	ok(t, resp, err)
	assert.Equal(t, []string{rehire.ID, earlier.ID}, ids(got))
	assert.Equal(t, 2, *got.Total)
	assert.Equal(t, 1, *got.PageCount)
	assert.Equal(t, 25, *got.PageSize)
	assert.Equal(t, []string{"users"}, *got.Types)
	assert.Equal(t, rehire.EmployeeID, *(*got.Results)[0].EmployerInfo.EmployeeId)

	got, resp, err = api.PostUsersSearch(platformclientv2.Usersearchrequest{Query: &[]platformclientv2.Usersearchcriteria{exact("email", "ADA@nowhere.example")}})
	ok(t, resp, err)
	assert.Equal(t, 0, *got.Total)
	assert.Empty(t, *got.Results)
}

func Test_GivenMalformedSearches_ShouldAnswer400AsGenesysDoes(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	api := users(e.dev())
	q := &[]platformclientv2.Usersearchcriteria{exact("email", "a@example.com")}
	for name, c := range map[string]struct {
		body platformclientv2.Usersearchrequest
		code string
	}{
		"page size over 100": {platformclientv2.Usersearchrequest{PageSize: ptr(101), Query: q}, "invalid.value"},
		"no query":           {platformclientv2.Usersearchrequest{}, "bad.request"},
		"no type":            {platformclientv2.Usersearchrequest{Query: &[]platformclientv2.Usersearchcriteria{{Fields: &[]string{"email"}, Value: ptr("x")}}}, "bad.request"},
		"unknown type":       {platformclientv2.Usersearchrequest{Query: &[]platformclientv2.Usersearchcriteria{{VarType: ptr("FUZZY"), Fields: &[]string{"email"}, Value: ptr("x")}}}, "invalid.value"},
		"unknown field":      {platformclientv2.Usersearchrequest{Query: &[]platformclientv2.Usersearchcriteria{exact("employerInfo.employeeId", "E1")}}, "invalid.property"},
		"no value":           {platformclientv2.Usersearchrequest{Query: &[]platformclientv2.Usersearchcriteria{{VarType: ptr("EXACT"), Fields: &[]string{"email"}}}}, "bad.request"},
	} {
		_, resp, err := api.PostUsersSearch(c.body)
		require.NotNil(t, resp, name)
		assert.Equal(t, 400, resp.StatusCode, name)
		require.Error(t, err, name)
		require.NotNil(t, resp.Error, name)
		assert.Equal(t, c.code, resp.Error.Code, name)
	}
}
