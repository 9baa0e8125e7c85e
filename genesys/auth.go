package genesys

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
)

// tokenMargin is how long before expiry a token is replaced.
func tokenMargin(ttl time.Duration) time.Duration {
	return min(ttl/10, 5*time.Minute)
}

// accessToken returns a valid token, logging in when there is none or it is about to expire.
func (c *SDKClient) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok, at := c.token, c.refreshAt
	c.mu.Unlock()
	if tok != "" && time.Now().Before(at) {
		return tok, nil
	}
	return c.login(ctx, tok)
}

// reauthorize discards stale (after a 401) and logs in again, unless another goroutine has
// already replaced it.
func (c *SDKClient) reauthorize(ctx context.Context, stale string) (string, error) {
	return c.login(ctx, stale)
}

func (c *SDKClient) login(ctx context.Context, stale string) (string, error) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	c.mu.Lock()
	tok, at := c.token, c.refreshAt
	c.mu.Unlock()
	if tok != "" && tok != stale && time.Now().Before(at) {
		return tok, nil // someone else logged in while we waited
	}

	const op = "login"
	if err := ctx.Err(); err != nil {
		return "", &Error{Kind: KindTransient, Op: op, Err: err}
	}
	if err := c.limiter.wait(ctx, op, c.maxWait); err != nil {
		return "", err
	}
	cfg, t := c.sdkConfig(ctx, "")
	started := time.Now()
	err := cfg.AuthorizeClientCredentials(c.cfg.ClientID, c.cfg.ClientSecret.Reveal())
	if t.resp != nil {
		c.limiter.observe(t.resp.Header)
	}
	if err != nil {
		return "", c.loginError(t.resp, err)
	}
	ttl := time.Duration(cfg.AccessTokenExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Hour
	}
	c.mu.Lock()
	c.token = cfg.AccessToken
	c.refreshAt = started.Add(ttl - tokenMargin(ttl))
	c.mu.Unlock()
	c.log.DebugContext(ctx, "genesys login", "client_id", c.cfg.ClientID, "expires_in", ttl)
	return cfg.AccessToken, nil
}

func (c *SDKClient) loginError(resp *http.Response, err error) error {
	const op = "login"
	if resp == nil {
		return transportError(op, err)
	}
	e := &Error{Op: op, Status: resp.StatusCode, CorrelationID: resp.Header.Get("Inin-Correlation-Id")}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = retryAfter(resp.Header, "")
		e.Message = "too many login requests"
		c.limiter.pause(e.RetryAfter)
	case resp.StatusCode >= 500:
		e.Kind, e.Message = KindTransient, "login service unavailable"
	case resp.StatusCode == http.StatusOK:
		e.Kind, e.Message = KindInvalid, "unexpected login response: "+err.Error()
	default:
		e.Kind = KindUnauthenticated
		e.Code = "invalid_client"
		e.Message = fmt.Sprintf("OAuth client %q was rejected; check %s and %s and that the client uses the Client Credentials grant in this region",
			c.cfg.ClientID, EnvClientID, EnvClientSecret)
	}
	return e
}

// Grants implements Client.
func (c *SDKClient) Grants(ctx context.Context) (Grants, error) {
	clientID, err := c.tokenClientID(ctx)
	if err != nil {
		return Grants{}, err
	}
	roleIDs, err := c.clientRoleIDs(ctx, clientID)
	if err != nil {
		return Grants{}, err
	}
	g := Grants{ClientID: clientID, Permissions: []string{}}
	for _, roleID := range roleIDs {
		perms, err := c.rolePermissions(ctx, roleID)
		if err != nil {
			return Grants{}, err
		}
		g.Permissions = append(g.Permissions, perms...)
	}
	slices.Sort(g.Permissions)
	g.Permissions = slices.Compact(g.Permissions)
	return g, nil
}

// tokenClientID names the OAuth client the token was issued to (tokens/me).
func (c *SDKClient) tokenClientID(ctx context.Context) (string, error) {
	const op = "get tokens/me"
	info, err := fetch(ctx, c.do, op, func(cfg *sdkConfiguration) (*platformclientv2.Tokeninfo, *sdkResponse, error) {
		return platformclientv2.NewTokensApiWithConfig(cfg).GetTokensMe(false)
	})
	if err != nil {
		return "", err
	}
	if info.OAuthClient == nil || deref(info.OAuthClient.Id) == "" {
		return "", &Error{Kind: KindInvalid, Op: op, Message: "the token names no OAuth client; use a Client Credentials grant"}
	}
	return *info.OAuthClient.Id, nil
}

// clientRoleIDs lists the roles of an OAuth client, each once, in the order Genesys gives them.
func (c *SDKClient) clientRoleIDs(ctx context.Context, clientID string) ([]string, error) {
	oc, err := fetch(ctx, c.do, "get oauth client "+clientID, func(cfg *sdkConfiguration) (*platformclientv2.Oauthclient, *sdkResponse, error) {
		return platformclientv2.NewOAuthApiWithConfig(cfg).GetOauthClient(clientID)
	})
	if err != nil {
		return nil, err
	}
	var ids []string
	add := func(id string) {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, rd := range deref(oc.RoleDivisions) {
		add(deref(rd.RoleId))
	}
	for _, id := range deref(oc.RoleIds) {
		add(id)
	}
	return ids, nil
}

// rolePermissions lists the domain:entity:action permissions a role grants.
func (c *SDKClient) rolePermissions(ctx context.Context, roleID string) ([]string, error) {
	role, err := fetch(ctx, c.do, "get role "+roleID, func(cfg *sdkConfiguration) (*platformclientv2.Domainorganizationrole, *sdkResponse, error) {
		return platformclientv2.NewAuthorizationApiWithConfig(cfg).GetAuthorizationRole(roleID, false, nil)
	})
	if err != nil {
		return nil, err
	}
	var perms []string
	for _, p := range deref(role.PermissionPolicies) {
		for _, action := range deref(p.ActionSet) {
			perms = append(perms, deref(p.Domain)+":"+deref(p.EntityName)+":"+action)
		}
	}
	for _, p := range deref(role.Permissions) {
		if strings.Count(p, ":") == 2 {
			perms = append(perms, p)
		}
	}
	return perms, nil
}
