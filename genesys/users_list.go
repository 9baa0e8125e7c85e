package genesys

import (
	"context"
	"fmt"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
)

// MaxUsersPageSize is the largest page GET /api/v2/users serves (the emulator refuses more).
const MaxUsersPageSize = 500

// StateAny lists users in every state, deleted ones included (ListUsers only).
const StateAny UserState = "any"

// DirectoryUser is one user of a users listing: what a reconciliation matches HR's roster on.
// Email and EmployeeID are personal data.
type DirectoryUser struct {
	ID         string    `json:"id"`
	Email      string    `json:"email,omitempty"`
	EmployeeID string    `json:"employeeId,omitempty"`
	State      UserState `json:"state"`
}

// UsersPage is one page of a users listing; More says that a later page follows.
type UsersPage struct {
	Users []DirectoryUser
	Total int
	More  bool
}

// ListUsers implements Client: page pageNumber (1-based) of GET /api/v2/users in state, with
// expand=employerInfo for the employee IDs.
func (c *SDKClient) ListUsers(ctx context.Context, state UserState, pageSize, pageNumber int) (UsersPage, error) {
	op := fmt.Sprintf("list %s users (page %d)", state, pageNumber)
	if state == "" || pageSize < 1 || pageSize > MaxUsersPageSize || pageNumber < 1 {
		return UsersPage{}, &Error{Kind: KindInvalid, Op: op, Message: fmt.Sprintf("want a state, a page size of 1..%d and a page number from 1", MaxUsersPageSize)}
	}
	res, err := fetch(ctx, c.do, op, func(cfg *sdkConfiguration) (*platformclientv2.Userentitylisting, *sdkResponse, error) {
		return platformclientv2.NewUsersApiWithConfig(cfg).GetUsers(pageSize, pageNumber, nil, nil, "", []string{"employerInfo"}, "", string(state))
	})
	if err != nil {
		return UsersPage{}, err
	}
	out := UsersPage{Total: deref(res.Total), More: morePages(pageNumber, res.PageCount)}
	for _, u := range deref(res.Entities) {
		d := DirectoryUser{ID: deref(u.Id), Email: deref(u.Email), State: UserState(deref(u.State))}
		if u.EmployerInfo != nil {
			d.EmployeeID = deref(u.EmployerInfo.EmployeeId)
		}
		out.Users = append(out.Users, d)
	}
	return out, nil
}
