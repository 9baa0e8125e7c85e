package emulator_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/genesys/emulator"
)

// shape counts what the seeded users hold.
type shape struct {
	users, withGrants, multiGrant, inQueues, viaGroup, unjoined, idle, interacting, offQueue           int
	withStation, webRTC, withDefault, forwarding, forwardingNumber, withManager, managers, withClients int
}

func seedShape(e *emulator.Emulator) shape {
	var s shape
	for _, u := range e.SeedUsers() {
		a, _ := e.Access(u.ID)
		s.users++
		count(&s.withGrants, len(a.Grants) > 0)
		count(&s.multiGrant, len(a.Grants) > 1)
		count(&s.inQueues, len(a.Queues) > 0)
		for _, q := range a.Queues {
			count(&s.viaGroup, q.MemberBy == "group")
			count(&s.unjoined, !q.Joined)
		}
		count(&s.idle, a.RoutingStatus == "IDLE")
		count(&s.interacting, a.RoutingStatus == "INTERACTING")
		count(&s.offQueue, a.RoutingStatus == "OFF_QUEUE")
		count(&s.withStation, a.StationID != "")
		count(&s.webRTC, a.StationType == "inin_webrtc_softphone")
		count(&s.withDefault, a.DefaultStationID != "")
		count(&s.forwarding, a.Forwarding.Enabled)
		count(&s.forwardingNumber, a.Forwarding.PhoneNumber != "")
		count(&s.withManager, a.ManagerID != "")
		count(&s.managers, len(a.DirectReports) > 0)
		count(&s.withClients, len(a.OAuthClients) > 0)
	}
	return s
}

func count(n *int, cond bool) {
	if cond {
		*n++
	}
}

func Test_GivenASeed_ShouldGiveTheUsersEveryKindOfAccessDeterministically(t *testing.T) {
	e := newEnv(t, emulator.Options{Users: 50})
	s := seedShape(e.emu)
	t.Logf("seeded access of 50 users: %+v", s)
	if s.withGrants != 50 || s.multiGrant == 0 || s.inQueues == 0 || s.viaGroup == 0 || s.unjoined == 0 ||
		s.idle == 0 || s.interacting == 0 || s.offQueue <= s.idle+s.interacting || s.webRTC == 0 ||
		s.withStation == 0 || s.withStation == 50 || s.withDefault != s.withStation || s.forwarding == 0 ||
		s.forwardingNumber <= s.forwarding || s.withManager != 49 || s.managers < 2 || s.withClients != 1 {
		t.Fatalf("seeded access lacks a kind: %+v", s)
	}
	again := emulator.New(emulator.Options{Users: 50, Now: e.clock.Now, Conversations: 10})
	other := emulator.New(emulator.Options{Users: 50, Now: e.clock.Now, Conversations: 10, Seed: 7})
	u := e.emu.SeedUsers()[3]
	a, _ := e.emu.Access(u.ID)
	b, _ := again.Access(u.ID)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("the same seed gave different access:\n%+v\n%+v", a, b)
	}
	if _, found := other.Access(u.ID); found {
		t.Fatal("another seed gave the same user IDs")
	}
	if len(e.emu.Stations()) != s.withStation+3 {
		t.Fatalf("stations = %d, want the users' %d and 3 spare", len(e.emu.Stations()), s.withStation)
	}
}

// meAs calls GET /api/v2/users/me with token.
func (e *env) meAs(token string) (*platformclientv2.Userme, *platformclientv2.APIResponse, error) {
	cfg := e.unauthorized()
	cfg.AccessToken = token
	return users(cfg).GetUsersMe(nil, "")
}

func Test_GivenAUserToken_ShouldServeUsersMeAndTheUsersOwnPermissionsUntilRevoked(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	agent, supervisor := e.emu.SeedUsers()[0], e.emu.SeedUsers()[3] // user 3 holds the supervisor role
	var issued struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	resp, err := http.Post(e.url+"/emulator/v1/users/"+agent.ID+"/tokens", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("issue token: %v %v", resp, err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&issued); err != nil || issued.AccessToken == "" || issued.ExpiresIn == 0 {
		t.Fatalf("issued %+v: %v", issued, err)
	}
	resp.Body.Close()

	me, r, err := e.meAs(issued.AccessToken)
	ok(t, r, err)
	if *me.Id != agent.ID {
		t.Fatalf("users/me = %s, want %s", *me.Id, agent.ID)
	}
	cfg := e.unauthorized()
	cfg.AccessToken = issued.AccessToken
	_, r, err = users(cfg).GetUsers(25, 1, nil, nil, "", nil, "", "")
	wantStatus(t, r, err, 403, "missing.permissions")
	supTok, err := e.emu.IssueUserToken(supervisor.ID)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AccessToken = supTok
	_, r, err = users(cfg).GetUsers(25, 1, nil, nil, "", nil, "", "")
	ok(t, r, err)

	dev := e.dev()
	_, r, err = users(dev).GetUsersMe(nil, "")
	wantStatus(t, r, err, 400, "bad.request")
	r, err = platformclientv2.NewTokensApiWithConfig(dev).DeleteToken(agent.ID)
	wantStatus(t, r, err, 204, "")
	_, r, err = e.meAs(issued.AccessToken)
	wantStatus(t, r, err, 401, "bad.credentials")
	_, r, err = e.meAs(supTok)
	ok(t, r, err) // only the agent's tokens were revoked

	_, r, err = users(dev).DeleteUser(supervisor.ID)
	ok(t, r, err)
	_, r, err = e.meAs(supTok)
	wantStatus(t, r, err, 401, "bad.credentials")
	resp, err = http.Post(e.url+"/emulator/v1/users/"+supervisor.ID+"/tokens", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("a deleted user got a token: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Post(e.url+"/emulator/v1/users/00000000-0000-4000-8000-000000000000/tokens", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown user got a token: %v %v", resp, err)
	}
	resp.Body.Close()
}

func Test_GivenAccessRequestsGenesysRejects_ShouldAnswerWithItsStatusesAndCodes(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	dev := e.dev()
	u := e.emu.SeedUsers()[2]
	a, _ := e.emu.Access(u.ID)
	routing, api, authz := platformclientv2.NewRoutingApiWithConfig(dev), users(dev), platformclientv2.NewAuthorizationApiWithConfig(dev)

	many := make([]platformclientv2.Writableentity, 101)
	for i := range many {
		many[i] = platformclientv2.Writableentity{Id: ptr(u.ID)}
	}
	r, err := routing.PostRoutingQueueMembers(a.Queues[0].QueueID, many, true)
	wantStatus(t, r, err, 400, "invalid.value")
	r, err = routing.PostRoutingQueueMembers("00000000-0000-4000-8000-000000000000", many[:1], true)
	wantStatus(t, r, err, 404, "not.found")
	_, r, err = routing.GetRoutingQueueMembers(a.Queues[0].QueueID, 1, 25, "", nil, "", nil, nil, nil, nil, nil, "team", true)
	wantStatus(t, r, err, 400, "invalid.value")
	_, r, err = api.PatchUserQueues(u.ID, []platformclientv2.Userqueue{{Id: ptr("no-such-queue"), Joined: ptr(true)}}, nil)
	wantStatus(t, r, err, 400, "invalid.value")
	_, r, err = api.PutUserRoutingstatus(u.ID, platformclientv2.Routingstatus{Status: ptr("INTERACTING")})
	wantStatus(t, r, err, 400, "invalid.value")
	_, r, err = api.PutUserCallforwarding(u.ID, platformclientv2.Callforwarding{Enabled: ptr(false), Voicemail: ptr("MAYBE")})
	wantStatus(t, r, err, 400, "invalid.value")
	r, err = authz.PostAuthorizationSubjectBulkadd(u.ID, platformclientv2.Roledivisiongrants{Grants: &[]platformclientv2.Roledivisionpair{
		{RoleId: ptr("no-such-role"), DivisionId: ptr(a.Grants[0].DivisionID)}}}, "PC_USER")
	wantStatus(t, r, err, 400, "invalid.value")

	got, r, err := api.GetUser(u.ID, nil, "", "")
	ok(t, r, err)
	v := *got.Version
	_, r, err = api.PutUserState(u.ID, platformclientv2.Userstate{State: ptr("inactive"), Version: ptr(v - 1)})
	wantStatus(t, r, err, 409, "general.conflict")
	_, r, err = api.PutUserState(u.ID, platformclientv2.Userstate{State: ptr("inactive"), Version: &v, StateChangeReason: ptr("Bored")})
	wantStatus(t, r, err, 400, "invalid.value")
	_, r, err = api.PatchUser(u.ID, platformclientv2.Updateuser{Manager: ptr(u.ID), Version: &v})
	wantStatus(t, r, err, 400, "invalid.value")
	st, r, err := api.PutUserState(u.ID, platformclientv2.Userstate{State: ptr("inactive"), Version: &v, StateChangeReason: ptr("Conduct")})
	ok(t, r, err)
	if *st.State != "inactive" || *st.Version != v+1 || *st.StateChangeReason != "Conduct" || st.StateChangeDate == nil {
		t.Fatalf("PUT state = %+v", st)
	}
	read, r, err := api.GetUserState(u.ID)
	ok(t, r, err)
	if *read.StateChangeReason != "Conduct" {
		t.Fatalf("GET state = %+v", read)
	}
}

func Test_GivenStationWrites_ShouldAnswer202AndFollowTheFaultsSetOverHTTP(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	api := users(e.dev())
	u := e.emu.SeedUsers()[0]
	req, _ := http.NewRequest(http.MethodPut, e.url+"/emulator/v1/faults", strings.NewReader(`{"stationLag":1,"stationConflicts":1}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT faults: %v %v", resp, err)
	}
	resp.Body.Close()
	if f := e.emu.Faults(); f.StationLag != 1 || f.StationConflicts != 1 {
		t.Fatalf("faults = %+v", f)
	}

	r, err := api.DeleteUserStationAssociatedstation(u.ID)
	wantStatus(t, r, err, 409, "general.conflict")
	if !strings.Contains(r.Error.Message, "version number") {
		t.Fatalf("409 message = %q", r.Error.Message)
	}
	r, err = api.DeleteUserStationAssociatedstation(u.ID)
	wantStatus(t, r, err, 202, "")
	lag, r, err := api.GetUserStation(u.ID)
	ok(t, r, err)
	if lag.AssociatedStation == nil {
		t.Fatal("the first read-back after the change should lag")
	}
	now, r, err := api.GetUserStation(u.ID)
	ok(t, r, err)
	if now.AssociatedStation != nil || now.LastAssociatedStation == nil || *now.LastAssociatedStation.Id != *lag.AssociatedStation.Id {
		t.Fatalf("stations after the lag = %+v", now)
	}
	r, err = api.DeleteUserStationAssociatedstation(u.ID)
	wantStatus(t, r, err, 404, "not.found")

	var access emulator.AccessRecord
	resp, err = http.Get(e.url + "/emulator/v1/users/" + u.ID + "/access")
	if err != nil || resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&access) != nil {
		t.Fatalf("GET access: %v %v", resp, err)
	}
	resp.Body.Close()
	if access.StationID != "" || access.DefaultStationID == "" || access.UserID != u.ID {
		t.Fatalf("inspected access = %+v", access)
	}
	var stations []emulator.StationRecord
	resp, err = http.Get(e.url + "/emulator/v1/stations")
	if err != nil || json.NewDecoder(resp.Body).Decode(&stations) != nil || len(stations) == 0 {
		t.Fatalf("GET stations: %v %v", resp, err)
	}
	resp.Body.Close()
}
