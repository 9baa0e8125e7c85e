package credential

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/offboard/offboard/internal/identity"
)

// payload is the JSON form of Claims. It decodes strictly: exact claim names only, each once.
type payload struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Role      string           `json:"role"`
	Audience  jwt.ClaimStrings `json:"aud"`
	RunID     string           `json:"run,omitempty"`
	Request   string           `json:"req,omitempty"`
	Action    Action           `json:"act"`
	Comment   string           `json:"comment,omitempty"`
	Until     string           `json:"until,omitempty"`
	ID        string           `json:"jti"`
	IssuedAt  int64            `json:"iat"`
	ExpiresAt int64            `json:"exp"`
}

// claimNames are payload's JSON names, read from its tags so that they are declared once.
var claimNames = func() []string {
	t := reflect.TypeFor[payload]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return names
}()

// UnmarshalJSON refuses unknown, duplicate and differently cased claim names, which
// encoding/json would ignore, keep the last of, or match case-insensitively.
func (p *payload) UnmarshalJSON(b []byte) error {
	if err := checkClaimNames(b); err != nil {
		return err
	}
	type plain payload
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode((*plain)(p)); err != nil {
		return refusal(ReasonMalformed, "its claims do not match the credential schema")
	}
	return nil
}

func checkClaimNames(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return refusal(ReasonMalformed, "its claims are not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		name, _ := tok.(string)
		var value json.RawMessage
		switch {
		case err != nil:
			return refusal(ReasonMalformed, "its claims are not valid JSON")
		case !slices.Contains(claimNames, name):
			return refusal(ReasonMalformed, "it has the unknown claim %q", clip(name))
		case seen[name]:
			return refusal(ReasonMalformed, "it repeats the claim %q", name)
		case dec.Decode(&value) != nil:
			return refusal(ReasonMalformed, "its claims are not valid JSON")
		}
		seen[name] = true
	}
	return nil
}

func clip(s string) string {
	const most = 32
	if len(s) <= most {
		return s
	}
	return strings.ToValidUTF8(s[:most], "") + "…"
}

// The jwt.Claims methods; claims are validated by check, not by jwt's validator.

func (p *payload) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(p.ExpiresAt, 0)), nil
}
func (p *payload) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(p.IssuedAt, 0)), nil
}
func (p *payload) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (p *payload) GetIssuer() (string, error)              { return p.Issuer, nil }
func (p *payload) GetSubject() (string, error)             { return p.Subject, nil }
func (p *payload) GetAudience() (jwt.ClaimStrings, error)  { return p.Audience, nil }

func toPayload(c Claims) *payload {
	p := &payload{
		Issuer: c.Issuer, Subject: c.Identity, Role: c.Role, Audience: jwt.ClaimStrings{c.WorkflowID},
		RunID: c.RunID, Request: c.Request, Action: c.Action, Comment: c.Comment, ID: c.ID,
		IssuedAt: c.IssuedAt.Unix(), ExpiresAt: c.ExpiresAt.Unix(),
	}
	if !c.Until.IsZero() {
		p.Until = c.Until.UTC().Format(time.RFC3339Nano)
	}
	return p
}

func (p *payload) claims() (Claims, *Error) {
	c := Claims{
		Issuer: p.Issuer, Identity: p.Subject, Role: p.Role, RunID: p.RunID, Request: p.Request, Action: p.Action,
		Comment: p.Comment, ID: p.ID, IssuedAt: unixTime(p.IssuedAt), ExpiresAt: unixTime(p.ExpiresAt),
	}
	if len(p.Audience) != 1 {
		return Claims{}, refusal(ReasonMalformed, "its audience (aud) must name exactly one workflow")
	}
	c.WorkflowID = p.Audience[0]
	if p.Until != "" {
		until, err := time.Parse(time.RFC3339, p.Until)
		if _, offset := until.Zone(); err != nil || offset != 0 {
			return Claims{}, refusal(ReasonMalformed, "its until is not an RFC 3339 time in UTC")
		}
		c.Until = until.UTC()
	}
	return c, nil
}

// unixTime reads a NumericDate, 0 meaning absent.
func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// check refuses claims that are incomplete or ill-formed, or whose lifetime is not positive and
// at most MaxTTL. It does not look at the clock.
func check(c Claims) *Error {
	if err := checkFields(c); err != nil {
		return refusal(ReasonMalformed, "%s", err)
	}
	switch {
	case !c.ExpiresAt.After(c.IssuedAt):
		return refusal(ReasonMalformed, "it expires (exp) before it is issued (iat)")
	case c.ExpiresAt.Sub(c.IssuedAt) > MaxTTL:
		return refusal(ReasonTooLong, "it is valid for %s; the most is %s", c.ExpiresAt.Sub(c.IssuedAt), MaxTTL)
	}
	return nil
}

type fieldError string

func (e fieldError) Error() string { return string(e) }

func checkFields(c Claims) error {
	if err := checkIdentity(c.Identity); err != nil {
		return err
	}
	if err := checkBinding(c); err != nil {
		return err
	}
	switch {
	case !isText(c.Comment):
		return fieldError("its comment contains control characters or invalid UTF-8")
	case c.Role != RoleHR && c.Role != RoleApprover:
		return fieldError("its role is missing or unknown: want " + RoleHR + " or " + RoleApprover)
	case c.Action == ActionRetention && c.Until.IsZero():
		return fieldError("an " + string(ActionRetention) + " credential needs until")
	case c.Action != ActionRetention && !c.Until.IsZero():
		return fieldError("until belongs to " + string(ActionRetention) + " credentials only")
	case c.IssuedAt.IsZero(), c.ExpiresAt.IsZero():
		return fieldError("its issue time (iat) or expiry (exp) is missing")
	}
	return nil
}

// checkBinding checks the claims that say what the credential is for: the issuer, the workflow,
// the action, the run it decides on (a start: the request it starts) and its own ID.
func checkBinding(c Claims) error {
	if !slices.Contains(Actions(), c.Action) && c.Action != ActionStart {
		return fieldError("its action (act) is missing or unknown")
	}
	binding := struct{ name, value string }{"run (run)", c.RunID}
	if c.Action == ActionStart {
		binding = struct{ name, value string }{"request digest (req)", c.Request}
	}
	for _, f := range []struct{ name, value string }{{"issuer (iss)", c.Issuer}, {"workflow (aud)", c.WorkflowID},
		binding, {"ID (jti)", c.ID}} {
		if f.value == "" {
			return fieldError("its " + f.name + " is missing")
		}
		if !isText(f.value) {
			return fieldError("its " + f.name + " contains control characters or invalid UTF-8")
		}
	}
	if c.RunID != "" && c.Request != "" {
		return fieldError("a start credential names a request (req) and no run; any other names a run and no request")
	}
	return nil
}

func checkIdentity(id string) error {
	n, err := identity.Normalize(id)
	switch {
	case err != nil:
		return fieldError("its identity (sub) is refused: " + err.Error())
	case n != id:
		return fieldError("its identity (sub) is not in normal form")
	}
	return nil
}

// isText reports whether s is valid UTF-8 without control characters.
func isText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}
