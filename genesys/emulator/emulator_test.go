package emulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/genesys/emulator"
)

func users(cfg *platformclientv2.Configuration) *platformclientv2.UsersApi {
	return platformclientv2.NewUsersApiWithConfig(cfg)
}

// activeUser picks a seeded active user with conversations.
func activeUser(t *testing.T, e *env) emulator.UserSummary {
	t.Helper()
	for _, u := range e.emu.SeedUsers() {
		if u.State == "active" && u.Conversations > 50 {
			return u
		}
	}
	t.Fatal("no active seeded user with conversations")
	return emulator.UserSummary{}
}

func TestToken_IssueExpiryAndReauthorization(t *testing.T) {
	e := newEnv(t, emulator.Options{TokenTTL: time.Hour})
	cfg := e.dev()
	if cfg.AccessTokenExpiresIn != 3600 {
		t.Errorf("expires_in = %d, want 3600", cfg.AccessTokenExpiresIn)
	}
	tokens := platformclientv2.NewTokensApiWithConfig(cfg)
	me, resp, err := tokens.GetTokensMe(false)
	ok(t, resp, err)
	if *me.OAuthClient.Id != emulator.DevClientID || len(*me.OAuthClient.RoleDivisions) == 0 {
		t.Fatalf("tokens/me OAuthClient = %+v", me.OAuthClient)
	}
	if http.Header(http.Header(resp.Header)).Get("inin-ratelimit-allowed") != "300" || http.Header(http.Header(resp.Header)).Get("inin-ratelimit-count") != "1" {
		t.Errorf("rate-limit headers = %v", http.Header(resp.Header))
	}

	e.clock.Add(time.Hour + time.Second)
	_, resp, err = tokens.GetTokensMe(false)
	wantStatus(t, resp, err, 401, "bad.credentials")
	if err := cfg.AuthorizeClientCredentials(emulator.DevClientID, emulator.DevClientSecret); err != nil {
		t.Fatal(err)
	}
	_, resp, err = tokens.GetTokensMe(false)
	ok(t, resp, err)

	e.emu.SetFaults(emulator.Faults{ExpireTokens: true})
	if e.emu.Faults().ExpireTokens {
		t.Error("ExpireTokens should act once and read back false")
	}
	_, resp, err = tokens.GetTokensMe(false)
	wantStatus(t, resp, err, 401, "bad.credentials")

	e.emu.SetFaults(emulator.Faults{TokenTTL: 2 * time.Second})
	cfg = e.dev()
	if cfg.AccessTokenExpiresIn != 2 {
		t.Errorf("expires_in under TokenTTL fault = %d, want 2", cfg.AccessTokenExpiresIn)
	}

	_, resp, err = platformclientv2.NewTokensApiWithConfig(e.unauthorized()).GetTokensMe(false)
	wantStatus(t, resp, err, 401, "authentication.required")

	err = e.unauthorized().AuthorizeClientCredentials(emulator.DevClientID, "wrong")
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("bad secret: err = %v, want 401 invalid_client", err)
	}
	for _, c := range e.emu.Calls() {
		if strings.Contains(c.Query, cfg.AccessToken) || strings.Contains(c.Path, "secret") {
			t.Fatalf("call log leaks a credential: %+v", c)
		}
	}
}

func TestPermissions_ReadOnlyClientReadsItsRolesAndIsDeniedWrites(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	cfg := e.config(emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret)
	me, resp, err := platformclientv2.NewTokensApiWithConfig(cfg).GetTokensMe(false)
	ok(t, resp, err)
	oc, resp, err := platformclientv2.NewOAuthApiWithConfig(cfg).GetOauthClient(*me.OAuthClient.Id)
	ok(t, resp, err)
	var perms []string
	for _, rd := range *oc.RoleDivisions {
		role, resp, err := platformclientv2.NewAuthorizationApiWithConfig(cfg).GetAuthorizationRole(*rd.RoleId, false, nil)
		ok(t, resp, err)
		for _, p := range *role.PermissionPolicies {
			for _, a := range *p.ActionSet {
				perms = append(perms, *p.Domain+":"+*p.EntityName+":"+a)
			}
		}
	}
	if !slices.Contains(perms, emulator.PermConversationDetail) || slices.Contains(perms, emulator.PermUserDelete) {
		t.Fatalf("read-only permissions = %v", perms)
	}

	u := activeUser(t, e)
	got, resp, err := users(cfg).GetUser(u.ID, nil, "", "")
	ok(t, resp, err)
	_, resp, err = users(cfg).DeleteUser(u.ID)
	wantStatus(t, resp, err, 403, "missing.permissions")
	if !strings.Contains(resp.Error.Message, "directory:user:delete") {
		t.Errorf("403 message %q does not name the permission", resp.Error.Message)
	}
	_, resp, err = users(cfg).PatchUser(u.ID, platformclientv2.Updateuser{State: ptr("inactive"), Version: got.Version})
	wantStatus(t, resp, err, 403, "missing.permissions")
	if !strings.Contains(resp.Error.Message, "directory:user:edit") {
		t.Errorf("403 message %q does not name the permission", resp.Error.Message)
	}

	e.emu.AddClient("bare", "bare-secret")
	_, resp, err = platformclientv2.NewOAuthApiWithConfig(e.config("bare", "bare-secret")).GetOauthClient("bare")
	wantStatus(t, resp, err, 403, "missing.permissions")
	if !strings.Contains(resp.Error.Message, "oauth:client:view") {
		t.Errorf("403 message %q does not name oauth:client:view", resp.Error.Message)
	}
	e.emu.AddClient("wild", "wild-secret", "directory:*:*")
	_, resp, err = users(e.config("wild", "wild-secret")).DeleteUser(u.ID)
	ok(t, resp, err)
}

func TestUsers_StateMachine(t *testing.T) {
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

func TestUsers_ListFiltersPagingAndBulk(t *testing.T) {
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

func TestRateLimit_429WithRetryAfter(t *testing.T) {
	e := newEnv(t, emulator.Options{RequestsPerMinute: 3})
	tokens := platformclientv2.NewTokensApiWithConfig(e.dev())
	for range 3 {
		_, resp, err := tokens.GetTokensMe(false)
		ok(t, resp, err)
	}
	e.clock.Add(20 * time.Second)
	_, resp, err := tokens.GetTokensMe(false)
	wantStatus(t, resp, err, 429, "too.many.requests.retry.after")
	if ra := http.Header(http.Header(resp.Header)).Get("Retry-After"); ra != "40" {
		t.Errorf("Retry-After = %q, want 40", ra)
	}
	if resp.Error.Message != "Rate limit exceeded the maximum. Retry the request in [40] seconds" {
		t.Errorf("message = %q", resp.Error.Message)
	}
	// Another client has its own budget.
	_, resp, err = platformclientv2.NewTokensApiWithConfig(e.config(emulator.ReadOnlyClientID, emulator.ReadOnlyClientSecret)).GetTokensMe(false)
	ok(t, resp, err)
	e.clock.Add(40 * time.Second)
	_, resp, err = tokens.GetTokensMe(false)
	ok(t, resp, err)

	e.emu.SetFaults(emulator.Faults{RequestsPerMinute: -1, RateLimitBurst: 2, RetryAfter: 7})
	for range 2 {
		_, resp, err = tokens.GetTokensMe(false)
		wantStatus(t, resp, err, 429, "too.many.requests.retry.after")
		if http.Header(http.Header(resp.Header)).Get("Retry-After") != "7" {
			t.Errorf("injected Retry-After = %q", http.Header(http.Header(resp.Header)).Get("Retry-After"))
		}
	}
	for range 5 { // the limit is disabled by the fault override
		_, resp, err = tokens.GetTokensMe(false)
		ok(t, resp, err)
	}
}

func TestFaults_Injected5xxAndErrorRate(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	tokens := platformclientv2.NewTokensApiWithConfig(e.dev())
	e.emu.SetFaults(emulator.Faults{Burst5xx: 2, Latency: time.Millisecond})
	for range 2 {
		_, resp, err := tokens.GetTokensMe(false)
		wantStatus(t, resp, err, 503, "service.unavailable")
	}
	_, resp, err := tokens.GetTokensMe(false)
	ok(t, resp, err)
	if f := e.emu.Faults(); f.Burst5xx != 0 || f.Latency != time.Millisecond {
		t.Errorf("faults after burst = %+v", f)
	}

	e.emu.SetFaults(emulator.Faults{ErrorRate: 1})
	_, resp, err = tokens.GetTokensMe(false)
	if resp == nil || (resp.StatusCode != 500 && resp.StatusCode != 503) || resp.Error == nil {
		t.Fatalf("ErrorRate 1: resp %v err %v", resp, err)
	}
	e.emu.SetFaults(emulator.Faults{ErrorRate: 0.5})
	failures := 0
	for range 200 {
		if _, resp, _ := tokens.GetTokensMe(false); resp.StatusCode >= 500 {
			failures++
		}
	}
	if failures < 60 || failures > 140 {
		t.Errorf("ErrorRate 0.5 failed %d of 200", failures)
	}
}

func TestInspectionSurface(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	get := func(path string, v any) int {
		t.Helper()
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if v != nil {
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		return resp.StatusCode
	}
	var list []emulator.UserSummary
	if get("/emulator/v1/users", &list) != 200 || len(list) != 40 {
		t.Fatalf("users listing = %d", len(list))
	}
	u := activeUser(t, e)
	_, resp, err := users(e.dev()).DeleteUser(u.ID)
	ok(t, resp, err)
	var rec emulator.UserRecord
	if get("/emulator/v1/users/"+u.ID, &rec) != 200 || rec.State != "deleted" || rec.Conversations != u.Conversations {
		t.Fatalf("inspected user = %+v", rec)
	}
	var count struct{ Count int }
	get("/emulator/v1/users/"+u.ID+"/conversations/count", &count)
	if count.Count != u.Conversations {
		t.Fatalf("all-time count %d, want %d", count.Count, u.Conversations)
	}
	start, end := epoch.AddDate(-1, 0, 0), epoch.AddDate(0, -6, 0)
	get(fmt.Sprintf("/emulator/v1/users/%s/conversations/count?start=%s&end=%s", u.ID, start.Format(time.RFC3339), end.Format(time.RFC3339)), &count)
	if want := e.emu.ConversationCount(u.ID, start, end); count.Count != want || want == 0 || want >= u.Conversations {
		t.Fatalf("windowed count %d, want %d of %d", count.Count, want, u.Conversations)
	}
	var calls []emulator.Call
	get("/emulator/v1/calls", &calls)
	last := calls[len(calls)-1]
	if last.Method != "DELETE" || last.Path != "/api/v2/users/"+u.ID || last.Status != 200 || last.ClientID != emulator.DevClientID {
		t.Fatalf("last call = %+v", last)
	}
	if calls[0].Path != "/oauth/token" || calls[0].ClientID != emulator.DevClientID {
		t.Fatalf("first call = %+v", calls[0])
	}

	put := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, e.url+"/emulator/v1/faults", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := put(`{"burst5xx":1,"latency":"5ms","tokenTTL":"1m"}`); code != 200 || !strings.Contains(body, `"latency":"5ms"`) {
		t.Fatalf("PUT faults = %d %s", code, body)
	}
	if f := e.emu.Faults(); f.Burst5xx != 1 || f.Latency != 5*time.Millisecond || f.TokenTTL != time.Minute {
		t.Fatalf("faults = %+v", f)
	}
	if code, body := put(`{"burstt5xx":1}`); code != 400 || !strings.Contains(body, "burstt5xx") {
		t.Fatalf("typo accepted: %d %s", code, body)
	}

	resp2, err := http.Post(e.url+"/emulator/v1/reset", "", nil)
	if err != nil || resp2.StatusCode != 204 {
		t.Fatalf("reset: %v %v", resp2, err)
	}
	resp2.Body.Close()
	if rec, _ := e.emu.User(u.ID); rec.State != "active" || len(e.emu.Calls()) != 0 || e.emu.Faults() != (emulator.Faults{}) {
		t.Fatalf("after reset: user %s, %d calls, faults %+v", rec.State, len(e.emu.Calls()), e.emu.Faults())
	}
	if code := get("/emulator/v1/users/nope", nil); code != 404 {
		t.Fatalf("unknown user = %d", code)
	}
}

func TestDeterminism_SameSeedSameData(t *testing.T) {
	a := emulator.New(emulator.Options{Seed: 7, Users: 30, Conversations: 2000, Now: func() time.Time { return epoch }})
	b := emulator.New(emulator.Options{Seed: 7, Users: 30, Conversations: 2000, Now: func() time.Time { return epoch }})
	c := emulator.New(emulator.Options{Seed: 8, Users: 30, Conversations: 2000, Now: func() time.Time { return epoch }})
	if !slices.Equal(a.SeedUsers(), b.SeedUsers()) {
		t.Fatal("same seed gave different users")
	}
	if a.SeedUsers()[0].ID == c.SeedUsers()[0].ID {
		t.Fatal("different seeds gave the same user IDs")
	}
	total := 0
	for _, u := range a.SeedUsers() {
		total += u.Conversations
	}
	if total < 2000 || total > 2800 {
		t.Fatalf("per-user conversation total %d for 2000 conversations (transfers add a second agent)", total)
	}
	ea := &env{t: t, emu: a, url: newServer(t, a)}
	eb := &env{t: t, emu: b, url: newServer(t, b)}
	u := a.SeedUsers()[0].ID
	q := func(e *env) string {
		body := platformclientv2.Conversationquery{Interval: ptr(epoch.AddDate(-3, 0, 0).Format("2006-01-02T15:04:05.000Z") + "/" + epoch.Format("2006-01-02T15:04:05.000Z")),
			SegmentFilters: userFilter(u), Paging: &platformclientv2.Pagingspec{PageSize: ptr(50), PageNumber: ptr(1)}}
		_, resp, err := platformclientv2.NewConversationsApiWithConfig(e.dev()).PostAnalyticsConversationsDetailsQuery(body)
		ok(t, resp, err)
		return string(resp.RawBody)
	}
	if ra, rb := q(ea), q(eb); ra != rb || !strings.Contains(ra, u) {
		t.Fatal("same seed rendered different conversations")
	}
}
