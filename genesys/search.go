package genesys

import (
	"context"
	"strings"

	"github.com/mypurecloud/platform-client-sdk-go/v157/platformclientv2"
)

// PermUserView is the permission users search and reading users need
// (x-inin-requires-permissions of POST /api/v2/users/search).
const PermUserView = "directory:user:view"

// SearchField is a user field that FindUsers matches exactly.
type SearchField string

// The fields an HR system may name a person by. FieldEmployeeID is the search field name that
// swagger.json lists (x-genesys-search-fields) for employerInfo.employeeId.
const (
	FieldEmail      SearchField = "email"
	FieldEmployeeID SearchField = "hr.employeeId"
)

// searchPageSize is the one page FindUsers reads: an exact email or employee ID matching more
// users than this is ambiguous whatever the rest would say, so no further page is needed.
const searchPageSize = 25

// UserMatch is a user that a search found and a read-back confirmed.
type UserMatch struct {
	ID    string    `json:"id"`
	State UserState `json:"state"`
}

// Matches is what FindUsers found: the users whose field really equals the value, how many
// the search reported in all, and how many of those it read back and found not to match
// (the search index lags the users themselves).
type Matches struct {
	Users []UserMatch `json:"users"`
	// Total is the search's own count, which may exceed what was read back.
	Total int `json:"total"`
	// Stale counts results whose read-back disagreed with the search: changed or deleted since
	// they were indexed.
	Stale int `json:"stale,omitempty"`
}

// Same is how a field's values compare: emails case-insensitively after trimming, employee
// IDs exactly.
func (f SearchField) Same(have, want string) bool {
	if f == FieldEmail {
		return strings.EqualFold(strings.TrimSpace(have), strings.TrimSpace(want))
	}
	return have == want
}

// FindUsers implements Client: one users search with an EXACT criterion on field and one on
// state (active or inactive, so deleted users never match), then a read-back of each result
// (GET /api/v2/users/{id}?expand=employerInfo) that keeps only the users whose field really
// equals value. Neither value nor results appear in errors or logs.
func (c *SDKClient) FindUsers(ctx context.Context, field SearchField, value string) (Matches, error) {
	op := "search users by " + string(field)
	if field != FieldEmail && field != FieldEmployeeID {
		return Matches{}, &Error{Kind: KindInvalid, Op: op, Message: "unknown search field"}
	}
	if field == FieldEmail {
		value = strings.TrimSpace(value)
	}
	if value == "" {
		return Matches{}, &Error{Kind: KindInvalid, Op: op, Message: "empty search value"}
	}
	res, err := fetch(ctx, c.do, op, func(cfg *sdkConfiguration) (*platformclientv2.Userssearchresponse, *sdkResponse, error) {
		return platformclientv2.NewUsersApiWithConfig(cfg).PostUsersSearch(searchRequest(field, value))
	})
	if err != nil {
		return Matches{}, err
	}
	results := deref(res.Results)
	out := Matches{Total: max(deref(res.Total), len(results)), Users: []UserMatch{}}
	if out.Total > searchPageSize {
		return out, nil // ambiguous; reading back would spend the budget to no purpose
	}
	for _, r := range results {
		m, ok, err := c.confirm(ctx, deref(r.Id), field, value)
		if err != nil {
			return Matches{}, err
		}
		if !ok {
			out.Stale++
			continue
		}
		out.Users = append(out.Users, m)
	}
	return out, nil
}

// searchRequest is one page of users whose field is value exactly, active or inactive.
func searchRequest(field SearchField, value string) platformclientv2.Usersearchrequest {
	exact, size, page := "EXACT", searchPageSize, 1
	return platformclientv2.Usersearchrequest{
		PageSize: &size, PageNumber: &page,
		Query: &[]platformclientv2.Usersearchcriteria{
			{VarType: &exact, Fields: &[]string{string(field)}, Value: &value},
			{VarType: &exact, Fields: &[]string{"state"}, Values: &[]string{string(StateActive), string(StateInactive)}},
		},
	}
}

// confirm reads the user a search returned and reports whether it is still active or inactive
// and its field still equals value. A user gone since (404) is no match.
func (c *SDKClient) confirm(ctx context.Context, userID string, field SearchField, value string) (UserMatch, bool, error) {
	if userID == "" {
		return UserMatch{}, false, nil
	}
	u, err := fetch(ctx, c.do, "read back search result "+userID, func(cfg *sdkConfiguration) (*platformclientv2.User, *sdkResponse, error) {
		return platformclientv2.NewUsersApiWithConfig(cfg).GetUser(userID, []string{"employerInfo"}, "", "")
	})
	if IsNotFound(err) {
		return UserMatch{}, false, nil
	}
	if err != nil {
		return UserMatch{}, false, err
	}
	state := UserState(deref(u.State))
	if state != StateActive && state != StateInactive {
		return UserMatch{}, false, nil
	}
	have := deref(u.Email)
	if field == FieldEmployeeID {
		have = ""
		if u.EmployerInfo != nil {
			have = deref(u.EmployerInfo.EmployeeId)
		}
	}
	if !field.Same(have, value) {
		return UserMatch{}, false, nil
	}
	return UserMatch{ID: deref(u.Id), State: state}, true, nil
}
