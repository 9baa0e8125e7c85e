package emulator_test

import (
	"context"
	"testing"
	"time"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/genesys"
	"github.com/offboard/offboard/genesys/emulator"
)

func conformanceOptions() emulator.Options {
	return emulator.Options{Users: 40, Conversations: 800, RequestsPerMinute: -1, JobPolls: 1}
}

// conformanceClients are the Offboard client and raw SDK configurations against base.
type conformanceClients struct {
	dev, ro *genesys.SDKClient
	sdk     *platformclientv2.Configuration
}

func newConformanceClients(t *testing.T, e *env, base string) conformanceClients {
	t.Helper()
	client := func(id, secret string) *genesys.SDKClient {
		c, err := genesys.New(context.Background(), genesys.Config{ClientID: id, ClientSecret: genesys.Secret(secret),
			APIURL: base, RequestsPerMinute: 60000, Timeout: 10 * time.Second}, genesys.WithTransientRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sdk := e.unauthorizedAt(base)
	if err := sdk.AuthorizeClientCredentials(emulator.DevClientID, emulator.DevClientSecret); err != nil {
		t.Fatal(err)
	}
	return conformanceClients{dev: client(emulator.DevClientID, emulator.DevClientSecret),
		ro: client(emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret), sdk: sdk}
}

// must fails the test on an error of a step of the scenario.
func must[T any](t *testing.T, what string) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func mustDo(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// runConformanceScenario makes every served call at least once, and the usual failures.
func runConformanceScenario(t *testing.T, e *env, base string) {
	cc := newConformanceClients(t, e, base)
	ctx, c := context.Background(), cc.dev
	seed := e.emu.SeedUsers()
	u, lead, boss := seed[1], seed[8], seed[0]

	must[genesys.Grants](t, "grants")(c.Grants(ctx))
	_, r, err := users(cc.sdk).GetUsers(25, 1, nil, nil, "", nil, "", "")
	ok(t, r, err)
	must[genesys.User](t, "get user")(c.GetUser(ctx, u.ID))
	accessScenario(t, c, u.ID)
	stationScenario(t, c, u.ID)

	reports := must[[]string](t, "direct reports")(c.DirectReports(ctx, lead.ID))
	mustDo(t, "set manager", c.SetManager(ctx, reports[0], boss.ID))
	must[genesys.User](t, "state")(c.SetUserStateWithReason(ctx, reports[0], genesys.StateInactive, genesys.ReasonVoluntary))
	_, r, err = users(cc.sdk).GetUserState(reports[0])
	ok(t, r, err)
	must[genesys.User](t, "state")(c.SetUserState(ctx, reports[0], genesys.StateActive))

	tokenScenario(t, e, c, base, u.ID)
	must[[]genesys.OAuthClientRef](t, "oauth clients")(c.OAuthClientsCreatedBy(ctx, u.ID))
	analyticsScenario(t, c, u.ID)
	searchScenario(t, cc, u.ID)
	mustDo(t, "delete", c.DeleteUser(ctx, seed[5].ID))

	_, err = c.GetUser(ctx, "00000000-0000-4000-8000-000000000000") // 404
	if genesys.KindOf(err) != genesys.KindNotFound {
		t.Fatalf("unknown user: %v", err)
	}
	if err := cc.ro.RemoveGrants(ctx, u.ID, []genesys.Grant{{RoleID: "r", DivisionID: "d"}}); genesys.KindOf(err) != genesys.KindPermissionDenied { // 403
		t.Fatalf("read-only bulkremove: %v", err)
	}
	got, r, err := users(cc.sdk).GetUser(u.ID, nil, "", "")
	ok(t, r, err)
	_, r, err = users(cc.sdk).PutUserState(u.ID, platformclientv2.Userstate{State: ptr("inactive"), Version: ptr(*got.Version - 1)})
	wantStatus(t, r, err, 409, "general.conflict")
	_, r, err = users(cc.sdk).PatchUser(u.ID, platformclientv2.Updateuser{State: ptr("archived"), Version: got.Version})
	wantStatus(t, r, err, 400, "invalid.value")
}

// accessScenario reads and changes the user's grants, queues and routing.
func accessScenario(t *testing.T, c *genesys.SDKClient, userID string) {
	ctx := context.Background()
	grants := must[[]genesys.Grant](t, "grants")(c.UserGrants(ctx, userID))
	mustDo(t, "bulkremove", c.RemoveGrants(ctx, userID, grants))
	mustDo(t, "bulkadd", c.AddGrants(ctx, userID, grants))
	queues := must[[]genesys.QueueMembership](t, "queues")(c.UserQueues(ctx, userID))
	joined := map[string]bool{}
	for _, q := range queues {
		joined[q.QueueID] = q.Joined
	}
	mustDo(t, "leave", c.RemoveQueueMembers(ctx, queues[0].QueueID, []string{userID}))
	mustDo(t, "join", c.AddQueueMembers(ctx, queues[0].QueueID, []string{userID}))
	mustDo(t, "joined", c.SetQueuesJoined(ctx, userID, joined))
	must[[]genesys.Proficiency](t, "skills")(c.UserSkills(ctx, userID))
	must[[]genesys.Proficiency](t, "languages")(c.UserLanguages(ctx, userID))
	must[string](t, "routing status")(c.RoutingStatus(ctx, userID))
	mustDo(t, "off queue", c.SetRoutingStatus(ctx, userID, genesys.RoutingOffQueue))
}

// stationScenario ends and restores the user's station and forwarding.
func stationScenario(t *testing.T, c *genesys.SDKClient, userID string) {
	ctx := context.Background()
	st := must[genesys.Stations](t, "stations")(c.UserStations(ctx, userID))
	mustDo(t, "disassociate", c.DisassociateStation(ctx, userID))
	mustDo(t, "clear default", c.ClearDefaultStation(ctx, userID))
	must[genesys.Stations](t, "stations")(c.UserStations(ctx, userID))
	mustDo(t, "disassociate again (404)", c.DisassociateStation(ctx, userID))
	mustDo(t, "associate", c.AssociateStation(ctx, userID, st.AssociatedID))
	mustDo(t, "default", c.SetDefaultStation(ctx, userID, st.DefaultID))
	must[string](t, "station holder")(c.StationHolder(ctx, st.AssociatedID))
	must[genesys.Stations](t, "stations")(c.UserStations(ctx, userID))
	fwd := must[genesys.CallForwarding](t, "forwarding")(c.CallForwarding(ctx, userID))
	mustDo(t, "forwarding off", c.SetCallForwarding(ctx, userID, genesys.CallForwarding{PhoneNumber: "+13175550100"}))
	mustDo(t, "forwarding back", c.SetCallForwarding(ctx, userID, fwd))
}

// tokenScenario uses a user's token, revokes it and sees it refused (401).
func tokenScenario(t *testing.T, e *env, c *genesys.SDKClient, base, userID string) {
	tok, err := e.emu.IssueUserToken(userID)
	mustDo(t, "issue token", err)
	cfg := e.unauthorizedAt(base)
	cfg.AccessToken = tok
	_, r, err := users(cfg).GetUsersMe(nil, "")
	ok(t, r, err)
	mustDo(t, "revoke", c.RevokeTokens(context.Background(), userID))
	_, r, err = users(cfg).GetUsersMe(nil, "")
	wantStatus(t, r, err, 401, "bad.credentials")
}

// analyticsScenario queries the user's conversations and runs a job to its results.
func analyticsScenario(t *testing.T, c *genesys.SDKClient, userID string) {
	ctx := context.Background()
	iv := genesys.Interval{Start: epoch.AddDate(0, -1, 0), End: epoch}
	must[genesys.QueryPage](t, "query")(c.QueryConversations(ctx, userID, iv, 25, 1))
	must[time.Time](t, "availability")(c.DataAvailability(ctx))
	job := must[string](t, "create job")(c.CreateConversationJob(ctx, userID, genesys.Interval{Start: epoch.AddDate(-3, 0, 0), End: epoch}))
	for st := (genesys.JobStatus{}); st.State != genesys.JobFulfilled; {
		st = must[genesys.JobStatus](t, "poll job")(c.ConversationJob(ctx, job))
	}
	must[genesys.ResultsPage](t, "results")(c.ConversationJobResults(ctx, job, "", 50, func(int, genesys.Conversation) error { return nil }))
	mustDo(t, "delete job", c.DeleteConversationJob(ctx, job))
}

// searchScenario finds the user by email and by employee ID, and sends a malformed search (400).
func searchScenario(t *testing.T, cc conformanceClients, userID string) {
	ctx := context.Background()
	rec := must[genesys.User](t, "get user")(cc.dev.GetUser(ctx, userID))
	m := must[genesys.Matches](t, "search by email")(cc.dev.FindUsers(ctx, genesys.FieldEmail, rec.Email))
	if len(m.Users) != 1 || m.Users[0].ID != userID {
		t.Fatalf("search by email found %+v", m)
	}
	emp, r, err := users(cc.sdk).GetUser(userID, []string{"employerInfo"}, "", "")
	ok(t, r, err)
	must[genesys.Matches](t, "search by employee ID")(cc.dev.FindUsers(ctx, genesys.FieldEmployeeID, *emp.EmployerInfo.EmployeeId))
	_, r, err = users(cc.sdk).PostUsersSearch(platformclientv2.Usersearchrequest{PageSize: ptr(101),
		Query: &[]platformclientv2.Usersearchcriteria{{VarType: ptr("EXACT"), Fields: &[]string{"email"}, Value: &rec.Email}}})
	wantStatus(t, r, err, 400, "invalid.value")
}
