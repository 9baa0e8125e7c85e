package activities_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/offboard/offboard/activities"
)

var dispositions = []string{"archive", "delete"}

func Test_GivenACSVOrJSONRoster_ShouldReadTheSameRowsWithTheirLines(t *testing.T) {
	csv := "\ufeffEmail,status,terminationDate,disposition\r\nana@example.com,terminated,2026-03-01,delete\r\n\"bo@example.com\",active,,\r\n"
	json := `[{"email":"ana@example.com","status":"terminated","terminationDate":"2026-03-01","disposition":"delete"},
	          {"email":"bo@example.com","status":"active"}]`
	want := []activities.RosterRow{
		{Line: 2, Email: "ana@example.com", Status: "terminated", TerminationDate: "2026-03-01", Disposition: "delete"},
		{Line: 3, Email: "bo@example.com", Status: "active"},
	}
	got, err := activities.ParseRoster("s3://hr/leavers.csv?region=eu-west-1", []byte(csv), dispositions)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	got, err = activities.ParseRoster("file:///hr/leavers.json", []byte(json), dispositions)
	require.NoError(t, err)
	want[0].Line, want[1].Line = 1, 2
	assert.Equal(t, want, got)
}

func Test_GivenABadRoster_ShouldRefuseItNamingLineAndFieldButNoPersonalData(t *testing.T) {
	for name, c := range map[string]struct{ body, want string }{
		"unknown column": {"email,status,name\n", `line 1, column 3: "name" is not a roster column`},
		"no status":      {"email\nana@example.com\n", "line 1: the header has no status column"},
		"no identifier":  {"status\nterminated\n", "line 1: the header names no userId, email or employeeId column"},
		"two ids":        {"email,employeeId,status\nana@example.com,E1,terminated\n", "line 2, userId/email/employeeId: give exactly one of them, 2 given"},
		"bad status":     {"email,status\nana@example.com,gone\n", `line 2, status: "gone" is not "terminated" or "active"`},
		"bad date":       {"email,status,terminationDate\nana@example.com,terminated,31/03/2026\n", "line 2, terminationDate: is not a date such as 2026-03-31"},
		"bad user ID":    {"userId,status\nana,terminated\n", "line 2, userId: is not a Genesys user ID"},
		"bad email":      {"email,status\nana.example.com,terminated\n", "line 2, email: is not an email address"},
		"disposition":    {"email,status,disposition\nana@example.com,terminated,shred\n", `line 2, disposition: "shred" is not one of archive, delete`},
		"duplicate":      {"email,status\nana@example.com,terminated\nANA@example.com,active\n", "line 3, email: names the same person as line 2"},
		"short row":      {"email,status\nana@example.com\n", "not valid CSV at line 2: wrong number of fields"},
		"json key":       {`[{"mail":"ana@example.com","status":"terminated"}]`, "line 1, object: want an object whose keys are among userId"},
		"json shape":     {`{"email":"ana@example.com"}`, "the roster is not a JSON array of objects"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := activities.ParseRoster("roster", []byte(c.body), dispositions)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			for _, personal := range []string{"ana@example.com", "ana.example.com", "E1"} {
				if !strings.Contains(c.want, personal) {
					assert.NotContains(t, err.Error(), personal)
				}
			}
		})
	}
}
