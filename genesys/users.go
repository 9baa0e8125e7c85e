package genesys

import (
	"context"
	"fmt"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
)

func toUser(u *platformclientv2.User) User {
	out := User{
		ID:      deref(u.Id),
		Name:    deref(u.Name),
		Email:   deref(u.Email),
		State:   UserState(deref(u.State)),
		Version: deref(u.Version),
	}
	if u.Division != nil {
		out.DivisionID, out.DivisionName = deref(u.Division.Id), deref(u.Division.Name)
	}
	if u.Manager != nil && *u.Manager != nil {
		out.ManagerID = deref((*u.Manager).Id)
	}
	if u.Authorization != nil {
		for _, r := range deref(u.Authorization.Roles) {
			out.Roles = append(out.Roles, Role{ID: deref(r.Id), Name: deref(r.Name)})
		}
	}
	return out
}

// getUser looks the user up with its roles; state "" finds active and inactive users, "deleted"
// deleted ones.
func (c *SDKClient) getUser(ctx context.Context, userID, state string) (User, error) {
	op := "get user " + userID
	if state != "" {
		op += " (state=" + state + ")"
	}
	u, err := fetch(ctx, c.do, op, func(cfg *sdkConfiguration) (*platformclientv2.User, *sdkResponse, error) {
		return platformclientv2.NewUsersApiWithConfig(cfg).GetUser(userID, []string{"authorization"}, "", state)
	})
	if err != nil {
		return User{}, err
	}
	return toUser(u), nil
}

// GetUser implements Client: the default lookup (active or inactive), then state=deleted.
func (c *SDKClient) GetUser(ctx context.Context, userID string) (User, error) {
	if userID == "" {
		return User{}, &Error{Kind: KindInvalid, Op: "get user", Message: "empty user ID"}
	}
	u, err := c.getUser(ctx, userID, "")
	if !IsNotFound(err) {
		return u, err
	}
	u, err2 := c.getUser(ctx, userID, string(StateDeleted))
	if IsNotFound(err2) {
		return User{}, err // the first 404 names the plain lookup
	}
	return u, err2
}

// SetUserState implements Client.
func (c *SDKClient) SetUserState(ctx context.Context, userID string, state UserState) (User, error) {
	if state == "" {
		return User{}, &Error{Kind: KindInvalid, Op: "set user state " + userID, Message: "empty target state"}
	}
	return c.versioned(ctx, userID, "set user "+userID+" "+string(state),
		func(u User) bool { return u.State == state },
		func(u User) (User, error) { return c.patchState(ctx, u, state) })
}

// versioned reads the user, and unless done says it is already as wanted, applies the change to
// that version, re-reading and retrying on a version conflict.
func (c *SDKClient) versioned(ctx context.Context, userID, op string, done func(User) bool, apply func(User) (User, error)) (User, error) {
	var lastErr error
	for range c.retries + 1 {
		u, err := c.GetUser(ctx, userID)
		if err != nil {
			return User{}, err
		}
		if done(u) {
			return u, nil
		}
		changed, err := apply(u)
		if KindOf(err) == KindConflict {
			lastErr = err
			c.log.DebugContext(ctx, "genesys version conflict; re-reading", "user_id", userID, "version", u.Version)
			continue
		}
		return changed, err
	}
	return User{}, fmt.Errorf("%s: gave up after %d version conflicts: %w", op, c.retries+1, lastErr)
}

// patchState moves u to state, provided its version is still u.Version.
func (c *SDKClient) patchState(ctx context.Context, u User, state UserState) (User, error) {
	op := fmt.Sprintf("patch user %s state %s->%s (version %d)", u.ID, u.State, state, u.Version)
	s, v := string(state), u.Version
	return c.patchUser(ctx, op, u, platformclientv2.Updateuser{State: &s, Version: &v})
}

// patchUser applies body (which carries u.Version) to u and returns the user Genesys answers with.
func (c *SDKClient) patchUser(ctx context.Context, op string, u User, body platformclientv2.Updateuser) (User, error) {
	out, err := fetch(ctx, c.do, op, func(cfg *sdkConfiguration) (*platformclientv2.User, *sdkResponse, error) {
		return platformclientv2.NewUsersApiWithConfig(cfg).PatchUser(u.ID, body)
	})
	if err != nil {
		return User{}, err
	}
	got := toUser(out)
	if got.Roles == nil {
		got.Roles = u.Roles // PATCH does not expand authorization
	}
	return got, nil
}

// DeleteUser implements Client.
func (c *SDKClient) DeleteUser(ctx context.Context, userID string) error {
	if userID == "" {
		return &Error{Kind: KindInvalid, Op: "delete user", Message: "empty user ID"}
	}
	_, err := c.do(ctx, "delete user "+userID, func(cfg *sdkConfiguration) (*sdkResponse, error) {
		return ignoreBody(platformclientv2.NewUsersApiWithConfig(cfg).DeleteUser(userID))
	})
	if !IsNotFound(err) {
		return err
	}
	// Deleting a deleted user is a 404 too; tell it apart from an unknown one.
	u, gerr := c.getUser(ctx, userID, string(StateDeleted))
	switch {
	case gerr == nil && u.State == StateDeleted:
		return nil
	case gerr != nil && !IsNotFound(gerr):
		return gerr
	}
	return err
}
