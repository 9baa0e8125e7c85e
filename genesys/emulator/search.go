package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Seeded employee IDs. Every user has one, derived from the seed; the users at the two indexes
// below share one, as a rehire does whose earlier employment's account is still there (the
// earlier one, AmbiguousEarlierIndex, is seeded inactive).
const (
	AmbiguousRehireIndex  = 2
	AmbiguousEarlierIndex = 12
)

// employeeIDFor is the seeded employee ID of the user at index i.
func employeeIDFor(seed int64, i int) string {
	if i == AmbiguousEarlierIndex {
		i = AmbiguousRehireIndex
	}
	return fmt.Sprintf("E%07d", 1_000_000+int(mix(uint64(seed))%8_000_000)+i)
}

// maxSearchPageSize is the largest page of users a search answers.
const maxSearchPageSize = 100

// searchFields are the fields the emulator searches; the document lists more
// (x-genesys-search-fields), which it refuses as not emulated.
var searchFields = map[string]func(u *userRec) string{
	"email":         func(u *userRec) string { return u.email },
	"hr.employeeId": func(u *userRec) string { return u.employeeID },
	"state":         func(u *userRec) string { return u.state },
	"id":            func(u *userRec) string { return u.id },
}

// documentedSearchFields are the other fields swagger.json names as searchable.
var documentedSearchFields = []string{"addresses.email", "addresses.voice", "addresses.address", "addresses.voicemailEnabled",
	"chat.jabberId", "department", "username", "siteId", "manager.id", "integration", "groups.social.id", "groups.official.id",
	"groups.distribution.id", "languages.guid", "languages.name", "languages.namespace", "languages.proficiency", "name",
	"primaryContactInfo.voice", "primaryContactInfo.sms", "primaryContactInfo.email", "profileSkills", "queueMembership.added",
	"queueMembership.joined", "routingSkills.guid", "routingSkills.name", "routingSkills.namespace", "routingSkills.proficiency",
	"title", "divisionId", "teamId"}

// searchTypes are the criterion types of the document; the emulator evaluates EXACT only.
var searchTypes = []string{"EXACT", "STARTS_WITH", "CONTAINS", "REGEX", "TERM", "TERMS", "REQUIRED_FIELDS", "MATCH_ALL", "QUERY_STRING"}

// searchCriterion is one UserSearchCriteria of a request.
type searchCriterion struct {
	Type     string            `json:"type"`
	Fields   []string          `json:"fields"`
	Value    *string           `json:"value"`
	Values   []string          `json:"values"`
	Operator string            `json:"operator"`
	Group    []json.RawMessage `json:"group"`
}

// userSearch is a validated POST /api/v2/users/search body.
type userSearch struct {
	PageSize   int               `json:"pageSize"`
	PageNumber int               `json:"pageNumber"`
	Expand     []string          `json:"expand"`
	Query      []searchCriterion `json:"query"`
	SortOrder  string            `json:"sortOrder"`
	SortBy     string            `json:"sortBy"`
}

// parseUserSearch reads a search body as Genesys does: the criteria must name known fields
// and types; what the emulator does not evaluate is refused rather than answered wrongly.
func parseUserSearch(body []byte) (userSearch, error) {
	var s userSearch
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&s); err != nil {
		return s, errBadRequest("The request body is not a valid search request: " + err.Error())
	}
	if s.PageSize == 0 {
		s.PageSize = 25
	}
	if s.PageNumber == 0 {
		s.PageNumber = 1
	}
	if s.PageSize < 0 || s.PageNumber < 0 {
		return s, errInvalid("pageSize and pageNumber must be positive")
	}
	if err := checkPageSize(s.PageSize, maxSearchPageSize); err != nil {
		return s, err
	}
	if len(s.Query) == 0 {
		return s, errBadRequest("A search request needs at least one query criterion.")
	}
	for _, c := range s.Query {
		if err := c.check(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// check refuses a criterion the document does not allow, or that the emulator does not evaluate.
func (c searchCriterion) check() error {
	switch {
	case c.Type == "":
		return errBadRequest("Each query criterion needs a type.")
	case !slices.Contains(searchTypes, c.Type):
		return errInvalid(fmt.Sprintf("Value [%s] is not valid for field type [type]. Allowable values are: %s", c.Type, strings.Join(searchTypes, ", ")))
	case c.Type != "EXACT":
		return errBadRequest("The emulator evaluates only EXACT criteria, not " + c.Type + ".")
	case len(c.Group) > 0 || (c.Operator != "" && c.Operator != "AND"):
		return errBadRequest("The emulator evaluates only criteria joined by AND, without groups.")
	case len(c.Fields) == 0:
		return errBadRequest("An EXACT criterion needs the fields to match.")
	case c.Value == nil && len(c.Values) == 0:
		return errBadRequest("An EXACT criterion needs a value or values.")
	}
	for _, f := range c.Fields {
		if _, ok := searchFields[f]; ok {
			continue
		}
		if slices.Contains(documentedSearchFields, f) {
			return errBadRequest("The emulator does not search the field " + f + ".")
		}
		return &rejection{"invalid.property", fmt.Sprintf("Value [%s] is not a valid property for object [UserSearchCriteria]", f)}
	}
	return nil
}

// matches reports whether u matches the criterion: one of its fields equals one of its values,
// emails compared case-insensitively as Genesys does.
func (c searchCriterion) matches(u *userRec) bool {
	values := c.Values
	if c.Value != nil {
		values = append(slices.Clone(values), *c.Value)
	}
	for _, f := range c.Fields {
		have := searchFields[f](u)
		for _, v := range values {
			if have == v || (f == "email" && strings.EqualFold(have, v)) {
				return true
			}
		}
	}
	return false
}

// matchesAll reports whether u matches every criterion. Without a state criterion a search
// finds only active users (the behaviour reported of Genesys; see docs/genesys.md).
func (s userSearch) matchesAll(u *userRec) bool {
	stated := false
	for _, c := range s.Query {
		if !c.matches(u) {
			return false
		}
		stated = stated || slices.Contains(c.Fields, "state")
	}
	return stated || u.state == "active"
}

// handleSearchUsers serves POST /api/v2/users/search, from the search index: the users as they
// are, or as they were when the freezeSearch fault was set.
func (e *Emulator) handleSearchUsers(q *request) {
	body, err := io.ReadAll(q.r.Body)
	if err != nil {
		q.badRequest("The request body could not be read.")
		return
	}
	s, err := parseUserSearch(body)
	if err != nil {
		q.reject(err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	index := e.users
	if e.searchIndex != nil {
		index = e.searchIndex
	}
	var matched []*userRec
	for _, u := range index {
		if s.matchesAll(u) {
			matched = append(matched, e.users[e.userIdx[u.id]])
		}
	}
	total := len(matched)
	expand := slices.Contains(s.Expand, "authorization")
	results := []userJSON{}
	if from := (s.PageNumber - 1) * s.PageSize; from < total {
		for _, u := range matched[from:min(from+s.PageSize, total)] {
			results = append(results, withEmployerInfo(e.userJSONLocked(u, expand), u, slices.Contains(s.Expand, "employerInfo")))
		}
	}
	q.json(http.StatusOK, map[string]any{
		"total": total, "pageCount": (total + s.PageSize - 1) / s.PageSize, "pageSize": s.PageSize,
		"pageNumber": s.PageNumber, "types": []string{"users"}, "results": results,
	})
}

// freezeSearchLocked takes or drops the search index snapshot as the faults say.
func (e *Emulator) freezeSearchLocked(freeze bool) {
	switch {
	case !freeze:
		e.searchIndex = nil
	case e.searchIndex == nil:
		e.searchIndex = make([]*userRec, len(e.users))
		for i, u := range e.users {
			c := *u
			e.searchIndex[i] = &c
		}
	}
}
