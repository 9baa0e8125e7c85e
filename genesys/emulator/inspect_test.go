package emulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenTheInspectionSurface_ShouldShowUsersCountsCallsAndSetFaults(t *testing.T) {
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

func Test_GivenWritesWithBodies_ShouldLogEachBodysDigestAndNoneForLogins(t *testing.T) {
	e := newEnv(t, emulator.Options{CallLog: 3})
	u := activeUser(t, e)
	api := users(e.dev())
	for _, title := range []string{"Agent", "Former agent"} {
		rec, _ := e.emu.User(u.ID)
		_, resp, err := api.PatchUser(u.ID, platformclientv2.Updateuser{Version: ptr(rec.Version), Title: ptr(title)})
		ok(t, resp, err)
	}
	calls := e.emu.Calls()
	if len(calls) != 3 || calls[0].Path != "/oauth/token" {
		t.Fatalf("CallLog 3 keeps the login and both patches, got %+v", calls)
	}
	if calls[0].BodySHA256 != "" {
		t.Fatalf("a login's body may hold a secret, yet its digest was logged")
	}
	if len(calls[1].BodySHA256) != 64 || calls[1].BodySHA256 == calls[2].BodySHA256 {
		t.Fatalf("two patches with other bodies: digests %q and %q", calls[1].BodySHA256, calls[2].BodySHA256)
	}
}
