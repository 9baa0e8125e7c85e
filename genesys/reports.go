package genesys

import (
	"context"
	"fmt"
	"slices"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
)

// DirectReports implements Client: the IDs of the users whose manager is userID
// (GET /users/{id}/directreports), in the order Genesys lists them.
func (c *SDKClient) DirectReports(ctx context.Context, userID string) ([]string, error) {
	op := "get direct reports of " + userID
	if err := needID(op, userID); err != nil {
		return nil, err
	}
	var reports []platformclientv2.User
	_, err := c.do(ctx, op, func(cfg *sdkConfiguration) (r *sdkResponse, err error) {
		reports, r, err = platformclientv2.NewUsersApiWithConfig(cfg).GetUserDirectreports(userID, nil)
		return r, err
	})
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, u := range reports {
		ids = append(ids, deref(u.Id))
	}
	return ids, nil
}

// SetManager implements Client: PATCH /users/{id} with manager and the version just read,
// re-read and retried on a version conflict. managerID "" removes the manager; setting the
// manager the user already has is a no-op.
func (c *SDKClient) SetManager(ctx context.Context, userID, managerID string) error {
	op := fmt.Sprintf("set manager of %s to %q", userID, managerID)
	if err := needID(op, userID); err != nil {
		return err
	}
	_, err := c.versioned(ctx, userID, op,
		func(u User) bool { return u.ManagerID == managerID },
		func(u User) (User, error) {
			v := u.Version
			return c.patchUser(ctx, op, u, platformclientv2.Updateuser{Manager: new(managerID), Version: &v})
		})
	return err
}

// SetUserStateWithReason implements Client: PUT /users/{id}/state with the state, the version
// just read and the reason (one of StateChangeReasons; "" sends none), re-read and retried on a
// version conflict. Setting the state the user already has is a no-op.
func (c *SDKClient) SetUserStateWithReason(ctx context.Context, userID string, state UserState, reason string) (User, error) {
	op := fmt.Sprintf("set user %s %s (reason %q)", userID, state, reason)
	switch {
	case state == "":
		return User{}, &Error{Kind: KindInvalid, Op: op, Message: "empty target state"}
	case reason != "" && !slices.Contains(StateChangeReasons(), reason):
		return User{}, &Error{Kind: KindInvalid, Op: op, Message: "unknown state change reason"}
	}
	return c.versioned(ctx, userID, op,
		func(u User) bool { return u.State == state },
		func(u User) (User, error) { return c.putState(ctx, op, u, state, reason) })
}

// putState moves u to state with reason, provided its version is still u.Version.
func (c *SDKClient) putState(ctx context.Context, op string, u User, state UserState, reason string) (User, error) {
	body := platformclientv2.Userstate{State: new(string(state)), Version: new(u.Version)}
	if reason != "" {
		body.StateChangeReason = new(reason)
	}
	out, err := fetch(ctx, c.do, op, func(cfg *sdkConfiguration) (*platformclientv2.Userstate, *sdkResponse, error) {
		return platformclientv2.NewUsersApiWithConfig(cfg).PutUserState(u.ID, body)
	})
	if err != nil {
		return User{}, err
	}
	u.State = UserState(deref(out.State))
	if v := deref(out.Version); v != 0 {
		u.Version = v
	}
	return u, nil
}
