package emulator_test

import (
	"strings"
	"testing"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenAUser_ShouldFollowTheGenesysStateMachine(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	api := users(e.dev())
	u := activeUser(t, e)

	got, resp, err := api.GetUser(u.ID, []string{"authorization"}, "", "")
	ok(t, resp, err)
	if *got.State != "active" || got.Authorization == nil || len(*got.Authorization.Roles) == 0 || *got.Email == "" {
		t.Fatalf("GET user = %+v", got)
	}
	v := *got.Version

	_, resp, err = api.PatchUser(u.ID, platformclientv2.Updateuser{State: ptr("inactive")})
	wantStatus(t, resp, err, 400, "bad.request")
	_, resp, err = api.PatchUser(u.ID, platformclientv2.Updateuser{State: ptr("archived"), Version: &v})
	wantStatus(t, resp, err, 400, "invalid.value")
	_, resp, err = api.PatchUser(u.ID, platformclientv2.Updateuser{State: ptr("inactive"), Name: ptr("x"), Version: &v})
	wantStatus(t, resp, err, 400, "bad.request")
	_, resp, err = api.PatchUser(u.ID, platformclientv2.Updateuser{State: ptr("inactive"), Version: ptr(v - 1)})
	wantStatus(t, resp, err, 409, "")
	if resp.Error.Message != "Resource conflict - Unexpected version was provided" {
		t.Errorf("409 message = %q", resp.Error.Message)
	}

	patched, resp, err := api.PatchUser(u.ID, platformclientv2.Updateuser{State: ptr("inactive"), Version: &v})
	ok(t, resp, err)
	if *patched.State != "inactive" || *patched.Version != v+1 || *patched.Id != u.ID {
		t.Fatalf("PATCH result = state %s version %d", *patched.State, *patched.Version)
	}
	got, resp, err = api.GetUser(u.ID, nil, "", "active") // default state returns inactive users too
	ok(t, resp, err)
	if *got.State != "inactive" {
		t.Fatalf("state = %s", *got.State)
	}

	body, resp, err := api.DeleteUser(u.ID)
	ok(t, resp, err)
	if string(resp.RawBody) != "{}" || body == nil {
		t.Errorf("DELETE body = %s", resp.RawBody)
	}
	_, resp, err = api.GetUser(u.ID, nil, "", "")
	wantStatus(t, resp, err, 404, "not.found")
	_, resp, err = api.DeleteUser(u.ID)
	wantStatus(t, resp, err, 404, "not.found")
	_, resp, err = api.DeleteUser("00000000-0000-4000-8000-000000000000")
	wantStatus(t, resp, err, 404, "not.found")
	del, resp, err := api.GetUser(u.ID, nil, "", "deleted")
	ok(t, resp, err)
	if *del.State != "deleted" {
		t.Fatalf("state=deleted lookup state = %s", *del.State)
	}
	restored, resp, err := api.PatchUser(u.ID, platformclientv2.Updateuser{State: ptr("active"), Version: del.Version})
	ok(t, resp, err)
	if *restored.State != "active" || *restored.Version != *del.Version+1 {
		t.Fatalf("restore = %s v%d", *restored.State, *restored.Version)
	}
	if rec, found := e.emu.User(u.ID); !found || rec.State != "active" || rec.Version != *restored.Version {
		t.Fatalf("inspection after restore = %+v", rec)
	}

	_, resp, err = api.GetUsersMe(nil, "")
	wantStatus(t, resp, err, 400, "bad.request")
}

func Test_GivenAUserListing_ShouldFilterPageAndLookUpInBulk(t *testing.T) {
	e := newEnv(t, emulator.Options{Users: 60})
	api := users(e.dev())
	counts := map[string]int{}
	for _, u := range e.emu.SeedUsers() {
		counts[u.State]++
	}
	for _, st := range []string{"active", "inactive", "deleted"} {
		if counts[st] == 0 {
			t.Fatalf("seed has no %s user: %v", st, counts)
		}
		l, resp, err := api.GetUsers(100, 1, nil, nil, "", nil, "", st)
		ok(t, resp, err)
		if *l.Total != counts[st] || len(*l.Entities) != counts[st] {
			t.Errorf("state %s: total %d entities %d, want %d", st, *l.Total, len(*l.Entities), counts[st])
		}
	}
	l, resp, err := api.GetUsers(0, 0, nil, nil, "", nil, "", "") // SDK zero values: defaults
	ok(t, resp, err)
	if *l.PageSize != 25 || *l.PageNumber != 1 || *l.Total != counts["active"] || l.NextUri == nil || l.PreviousUri != nil {
		t.Fatalf("default listing = size %d page %d total %d", *l.PageSize, *l.PageNumber, *l.Total)
	}
	seen := map[string]bool{}
	for page := 1; ; page++ {
		l, resp, err := api.GetUsers(7, page, nil, nil, "", nil, "", "any")
		ok(t, resp, err)
		for _, u := range *l.Entities {
			if seen[*u.Id] {
				t.Fatalf("user %s on two pages", *u.Id)
			}
			seen[*u.Id] = true
		}
		if page > 1 && l.PreviousUri == nil || l.FirstUri == nil || l.LastUri == nil || l.SelfUri == nil {
			t.Fatalf("page %d lacks URIs", page)
		}
		if l.NextUri == nil {
			if page != *l.PageCount {
				t.Fatalf("nextUri missing on page %d of %d", page, *l.PageCount)
			}
			break
		}
	}
	if len(seen) != 60 {
		t.Fatalf("state=any paging saw %d users, want 60", len(seen))
	}
	all := e.emu.SeedUsers()
	ids := []string{all[0].ID, all[1].ID, all[2].ID}
	l, resp, err = api.GetUsers(25, 1, ids, nil, "", nil, "", "any")
	ok(t, resp, err)
	if !strings.Contains(resp.Response.Request.URL.RawQuery, "id="+ids[0]+"%2C") {
		t.Errorf("SDK did not comma-join ids: %s", resp.Response.Request.URL.RawQuery)
	}
	if *l.Total != 3 {
		t.Fatalf("bulk id lookup total = %d", *l.Total)
	}
}
