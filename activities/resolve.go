package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/offboard/offboard/genesys"
)

// Ways an HR system may name a person instead of by Genesys user ID.
const (
	IdentifyByEmail      = "email"
	IdentifyByEmployeeID = "employeeId"
)

// Identification is how HR named a person, and when Genesys's user search matched it.
type Identification struct {
	// By is IdentifyByEmail or IdentifyByEmployeeID.
	By string `json:"by"`
	// Value is the email or employee ID as HR sent it: personal data, so it travels only in
	// encrypted payloads, never in search attributes, summaries or logs.
	Value string `json:"value"`
	// ResolvedAt is when the search matched it to the request's UserID.
	ResolvedAt time.Time `json:"resolvedAt,omitzero"`
}

// ResolveInput names a person as an HR system knows them.
type ResolveInput struct {
	By    string `json:"by"` // IdentifyByEmail or IdentifyByEmployeeID
	Value string `json:"value"`
}

// Resolution is the Genesys user a ResolveInput named, and how it was matched.
type Resolution struct {
	UserID string `json:"userId"`
	// By is the input's By; Field is the Genesys search field that matched it, exactly (emails
	// case-insensitively), confirmed by reading the user back.
	By    string            `json:"by"`
	Field string            `json:"field"`
	State genesys.UserState `json:"state"`
}

// searchFields maps how HR names a person to the Genesys search field.
var searchFields = map[string]genesys.SearchField{
	IdentifyByEmail:      genesys.FieldEmail,
	IdentifyByEmployeeID: genesys.FieldEmployeeID,
}

// whatFor names the identifier in messages, which never carry its value.
var whatFor = map[string]string{IdentifyByEmail: "email", IdentifyByEmployeeID: "employee ID"}

// ResolvePerson finds the one active or inactive Genesys user that HR's email or employee ID
// names (users search, then a read-back of each match). None is ErrPersonUnknown, several
// ErrPersonAmbiguous (details: the count); a search whose results all disagree with their
// read-back is ErrNotYetConsistent, retried while the index catches up. It needs
// directory:user:view. Neither the value nor the names found appear in errors or logs.
//
// Retry: a short policy; ErrPersonUnknown, ErrPersonAmbiguous and ErrInvalidInput are final.
func (a *Activities) ResolvePerson(ctx context.Context, in ResolveInput) (Resolution, error) {
	field, ok := searchFields[in.By]
	if !ok {
		return Resolution{}, failf(ErrInvalidInput, "resolve: by %q is unknown: use %q or %q", in.By, IdentifyByEmail, IdentifyByEmployeeID)
	}
	if in.Value == "" {
		return Resolution{}, failf(ErrInvalidInput, "resolve: the %s is empty", whatFor[in.By])
	}
	m, err := a.Genesys.FindUsers(ctx, field, in.Value)
	if err != nil {
		return Resolution{}, asTemporalError(err)
	}
	activity.GetLogger(ctx).Info("resolved a person", "by", in.By, "total", m.Total, "confirmed", len(m.Users), "stale", m.Stale)
	what := whatFor[in.By]
	// n is how many users match: those confirmed, or the search's count when it named too many
	// to read back.
	n := max(len(m.Users), m.Total-m.Stale)
	switch {
	case n == 1 && len(m.Users) == 1:
		u := m.Users[0]
		return Resolution{UserID: u.ID, By: in.By, Field: string(field), State: u.State}, nil
	case n > 1:
		return Resolution{}, failure(ErrPersonAmbiguous, nil, fmt.Sprintf(
			"%d Genesys users share that %s; send the Genesys user ID instead", n, what), n)
	case m.Stale > 0:
		return Resolution{}, failure(ErrNotYetConsistent, nil, fmt.Sprintf(
			"the Genesys users search named %d user(s) for that %s that no longer match it; the search index lags and will be asked again", m.Stale, what))
	}
	return Resolution{}, failure(ErrPersonUnknown, nil, fmt.Sprintf(
		"no active or inactive Genesys user has that %s; check it, or send the Genesys user ID instead", what))
}
