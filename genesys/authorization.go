package genesys

import (
	"context"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
)

// subjectTypeUser is the bulkadd subject type of a user.
const subjectTypeUser = "PC_USER"

// UserGrants implements Client: the user's roles in divisions (GET /api/v2/authorization/subjects/{id}).
func (c *SDKClient) UserGrants(ctx context.Context, userID string) ([]Grant, error) {
	if err := needID("get grants", userID); err != nil {
		return nil, err
	}
	subject, err := fetch(ctx, c.do, "get grants of "+userID, func(cfg *sdkConfiguration) (*platformclientv2.Authzsubject, *sdkResponse, error) {
		return platformclientv2.NewAuthorizationApiWithConfig(cfg).GetAuthorizationSubject(userID, false)
	})
	if err != nil {
		return nil, err
	}
	grants := []Grant{}
	for _, g := range deref(subject.Grants) {
		var out Grant
		if g.Role != nil {
			out.RoleID, out.RoleName = deref(g.Role.Id), deref(g.Role.Name)
		}
		if g.Division != nil {
			out.DivisionID, out.DivisionName = deref(g.Division.Id), deref(g.Division.Name)
		}
		grants = append(grants, out)
	}
	return grants, nil
}

// roleDivisionGrants is the request body that names grants by role and division.
func roleDivisionGrants(grants []Grant) platformclientv2.Roledivisiongrants {
	pairs := make([]platformclientv2.Roledivisionpair, 0, len(grants))
	for _, g := range grants {
		pairs = append(pairs, platformclientv2.Roledivisionpair{RoleId: new(g.RoleID), DivisionId: new(g.DivisionID)})
	}
	return platformclientv2.Roledivisiongrants{Grants: &pairs}
}

// RemoveGrants implements Client (POST .../subjects/{id}/bulkremove). Removing a grant the user
// does not hold succeeds; no grants is no call.
func (c *SDKClient) RemoveGrants(ctx context.Context, userID string, grants []Grant) error {
	if err := needID("remove grants", userID); err != nil || len(grants) == 0 {
		return err
	}
	body := roleDivisionGrants(grants)
	_, err := c.do(ctx, "remove grants of "+userID, func(cfg *sdkConfiguration) (*sdkResponse, error) {
		return platformclientv2.NewAuthorizationApiWithConfig(cfg).PostAuthorizationSubjectBulkremove(userID, body)
	})
	return err
}

// AddGrants implements Client (POST .../subjects/{id}/bulkadd, subject type PC_USER). Adding a
// grant the user holds succeeds; no grants is no call.
func (c *SDKClient) AddGrants(ctx context.Context, userID string, grants []Grant) error {
	if err := needID("add grants", userID); err != nil || len(grants) == 0 {
		return err
	}
	body := roleDivisionGrants(grants)
	_, err := c.do(ctx, "add grants to "+userID, func(cfg *sdkConfiguration) (*sdkResponse, error) {
		return platformclientv2.NewAuthorizationApiWithConfig(cfg).PostAuthorizationSubjectBulkadd(userID, body, subjectTypeUser)
	})
	return err
}

// RevokeTokens implements Client: every token issued to the user stops working
// (DELETE /api/v2/tokens/{userId}).
func (c *SDKClient) RevokeTokens(ctx context.Context, userID string) error {
	if err := needID("revoke tokens", userID); err != nil {
		return err
	}
	_, err := c.do(ctx, "revoke tokens of "+userID, func(cfg *sdkConfiguration) (*sdkResponse, error) {
		return platformclientv2.NewTokensApiWithConfig(cfg).DeleteToken(userID)
	})
	return err
}

// OAuthClientsCreatedBy implements Client: the OAuth clients whose createdBy is the user, from
// GET /api/v2/oauth/clients (one listing: the SDK offers no paging for it).
func (c *SDKClient) OAuthClientsCreatedBy(ctx context.Context, userID string) ([]OAuthClientRef, error) {
	if err := needID("list oauth clients", userID); err != nil {
		return nil, err
	}
	list, err := fetch(ctx, c.do, "list oauth clients", func(cfg *sdkConfiguration) (*platformclientv2.Oauthcliententitylisting, *sdkResponse, error) {
		return platformclientv2.NewOAuthApiWithConfig(cfg).GetOauthClients()
	})
	if err != nil {
		return nil, err
	}
	owned := []OAuthClientRef{}
	for _, oc := range deref(list.Entities) {
		if oc.CreatedBy != nil && deref(oc.CreatedBy.Id) == userID {
			owned = append(owned, OAuthClientRef{ID: deref(oc.Id), Name: deref(oc.Name)})
		}
	}
	return owned, nil
}

// needID rejects an empty ID before any call.
func needID(op, id string) error {
	if id == "" {
		return &Error{Kind: KindInvalid, Op: op, Message: "empty ID"}
	}
	return nil
}
