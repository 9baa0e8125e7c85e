package emulator_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"

	"github.com/offboard/offboard/genesys/emulator"
)

func Test_GivenIssuedTokens_ShouldExpireThemAndIssueNewOnes(t *testing.T) {
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

func Test_GivenAReadOnlyClient_ShouldReadItsRolesAndBeDeniedWrites(t *testing.T) {
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
