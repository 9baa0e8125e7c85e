package workflows

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/offboard/offboard/internal/credential"
	"github.com/offboard/offboard/internal/identity"
)

// SignedDecision is the payload of every control (approve, reject, cancel, hold, release and
// extendRetention), as update or signal: a decision credential, which says who decided what for
// which offboarding. The HR API issues it to an authenticated caller
// (POST /v1/offboardings/{userId}/credentials); it holds nothing else.
type SignedDecision struct {
	Credential string `json:"credential"`
}

// maxMessageBytes bounds a control's payload; a credential is well under 2 KiB.
const maxMessageBytes = 8 << 10

// changeCredentials marks runs that require decision credentials; runs begun before them replay
// their messages as they were (see trustsLegacy).
const changeCredentials = "decision-credentials"

// keyRefresh is the longest a waiting run goes without taking up the worker's decision keys.
const keyRefresh = 24 * time.Hour

// actionRoles are the roles that may take each action: one home for the workflow's check and the
// HR API's issuing.
var actionRoles = map[credential.Action][]string{
	credential.ActionApprove:   {credential.RoleApprover},
	credential.ActionReject:    {credential.RoleApprover},
	credential.ActionCancel:    {credential.RoleHR},
	credential.ActionHold:      {credential.RoleHR},
	credential.ActionRelease:   {credential.RoleHR},
	credential.ActionRetention: {credential.RoleHR, credential.RoleApprover},
}

// RolesFor lists the roles that may take action.
func RolesFor(action credential.Action) []string { return slices.Clone(actionRoles[action]) }

// decision is a control as the run counts it.
type decision struct {
	action credential.Action
	// by is who decided, normalised; approver is who approves a shortening of retention.
	by, approver string
	role         string
	// text is the comment of a decision or the reason of a control.
	text  string
	until time.Time
	// credID and expires identify the credential; credID is empty for an unsigned decision.
	credID  string
	expires time.Time
}

func (d decision) unsigned() bool { return d.credID == "" }

// via says how a decision came, for the history: "update", or "signal, unsigned".
func (d decision) via(path string) string {
	if d.unsigned() {
		return path + ", unsigned"
	}
	return path
}

// messageBody is every field a control's payload may hold: the credential alone or, where
// unsigned decisions count, the fields of DecisionInput, ControlInput and RetentionInput.
type messageBody struct {
	fields map[string]string
}

// legacyFields are the payload fields of each action without a credential.
var legacyFields = map[credential.Action][]string{
	credential.ActionApprove:   {"approver", "comment"},
	credential.ActionReject:    {"approver", "comment"},
	credential.ActionCancel:    {"by", "reason"},
	credential.ActionHold:      {"by", "reason"},
	credential.ActionRelease:   {"by", "reason"},
	credential.ActionRetention: {"until", "by", "approver", "reason"},
}

// knownField reports whether a payload may hold the field at all.
func knownField(key string) bool {
	if key == "credential" {
		return true
	}
	for _, fields := range legacyFields {
		if slices.Contains(fields, key) {
			return true
		}
	}
	return false
}

func malformed(format string, args ...any) *refusal {
	return &refusal{Reason: reasonMalformed, Detail: fmt.Sprintf(format, args...) + `; send {"credential": "<credential from the HR API>"}`, Sender: unverified}
}

// decodeBody reads a payload strictly: one JSON object of string fields, each named exactly
// (encoding/json would match names without regard to case) and at most once.
func decodeBody(raw converter.RawValue) (messageBody, *refusal) {
	p := raw.Payload()
	if enc := string(p.GetMetadata()[converter.MetadataEncoding]); enc != converter.MetadataEncodingJSON {
		return messageBody{}, malformed("the payload is %q, not a JSON object", truncate(enc, 32))
	}
	data := p.GetData()
	switch {
	case len(data) > maxMessageBytes:
		return messageBody{}, &refusal{Reason: reasonOversized, Detail: fmt.Sprintf("the payload is %d bytes; at most %d are accepted", len(data), maxMessageBytes), Sender: unverified}
	case !utf8.Valid(data):
		return messageBody{}, malformed("the payload is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return messageBody{}, malformed("the payload is not a JSON object")
	}
	b := messageBody{fields: map[string]string{}}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return messageBody{}, malformed("the payload is not valid JSON")
		}
		key := t.(string)
		if _, dup := b.fields[key]; dup {
			return messageBody{}, malformed("the field %q appears twice", truncate(key, 32))
		}
		if !knownField(key) {
			return messageBody{}, malformed("the field %q is unknown (names are case-sensitive)", truncate(key, 32))
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return messageBody{}, malformed("the field %q must be a JSON string", truncate(key, 32))
		}
		b.fields[key] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return messageBody{}, malformed("the payload is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return messageBody{}, malformed("the payload holds more than one JSON value")
	}
	return b, nil
}

// admissible decides whether the control name with payload raw counts, and as what. It only
// reads state, so validators use it. trustLegacy lets a payload without credential count, as in
// runs begun before credentials.
func (o *offboarding) admissible(ctx workflow.Context, name string, raw converter.RawValue, trustLegacy bool) (decision, *refusal) {
	action := credential.Action(name)
	b, r := decodeBody(raw)
	if r != nil {
		return decision{}, r
	}
	var d decision
	tok, signed := b.fields["credential"]
	switch {
	case signed && len(b.fields) > 1:
		return decision{}, malformed("a payload with a credential holds nothing else: the decision's details are in the credential")
	case signed:
		d, r = o.verifyCredential(ctx, action, tok)
	case trustLegacy || o.st.Policy.UnsignedDecisions:
		d, r = unsignedDecision(action, b)
	default:
		r = &refusal{Reason: reasonNoCredential, Sender: unverified, Detail: name + ` needs a decision credential: get one from the HR API (POST /v1/offboardings/{userId}/credentials) and send {"credential": "..."}`}
	}
	if r != nil {
		return d, r
	}
	if err := o.rules(ctx, d); err != nil {
		return d, &refusal{Reason: reasonRefused, Detail: err.Error(), Sender: d.by}
	}
	return d, nil
}

// verifyCredential checks a credential and its binding to this run, action and role.
func (o *offboarding) verifyCredential(ctx workflow.Context, action credential.Action, tok string) (decision, *refusal) {
	keys, err := o.keySet()
	if err != nil {
		return decision{}, &refusal{Reason: credential.ReasonUnknownKey, Detail: "the run's decision keys are unusable: " + err.Error(), Sender: unverified}
	}
	c, err := keys.Verify(tok, now(ctx))
	if err != nil {
		var ce *credential.Error
		if errors.As(err, &ce) {
			return decision{}, &refusal{Reason: ce.Reason, Detail: "the credential is refused: " + ce.Detail, Sender: unverified}
		}
		return decision{}, &refusal{Reason: reasonMalformed, Detail: "the credential is refused: " + err.Error(), Sender: unverified}
	}
	wid := workflow.GetInfo(ctx).WorkflowExecution.ID
	refuse := func(reason, format string, args ...any) (decision, *refusal) {
		return decision{}, &refusal{Reason: reason, Detail: fmt.Sprintf(format, args...), Sender: c.Identity}
	}
	switch {
	case c.WorkflowID != wid || c.RunID != o.st.FirstRunID:
		return refuse(reasonWrongRun, "the credential is for another offboarding (%s, run %s), not %s run %s", truncate(c.WorkflowID, 64), truncate(c.RunID, 64), wid, o.st.FirstRunID)
	case c.Action != action:
		return refuse(reasonWrongAction, "the credential is for %s, not %s", c.Action, action)
	case !slices.Contains(actionRoles[action], c.Role):
		return refuse(reasonWrongRole, "role %q may not %s", c.Role, action)
	case o.spent(c.ID):
		return refuse(reasonReused, "the credential %s was already used: each credential counts once", c.ID)
	}
	d := decision{action: action, by: c.Identity, role: c.Role, text: c.Comment, until: c.Until, credID: c.ID, expires: c.ExpiresAt}
	if action == credential.ActionRetention && c.Role == credential.RoleApprover {
		d.approver = c.Identity
	}
	return d, nil
}

// unsignedDecision reads a payload without credential as the legacy inputs did.
func unsignedDecision(action credential.Action, b messageBody) (decision, *refusal) {
	allowed := legacyFields[action]
	for k := range b.fields {
		if !slices.Contains(allowed, k) {
			return decision{}, malformed("the field %q is not part of %s", truncate(k, 32), action)
		}
	}
	d := decision{action: action, text: b.fields["comment"] + b.fields["reason"]}
	who := b.fields["by"]
	if action == credential.ActionApprove || action == credential.ActionReject {
		who = b.fields["approver"]
	} else if a := b.fields["approver"]; a != "" {
		id, err := identity.Normalize(a)
		if err != nil {
			return decision{}, malformed("approver: %v", err)
		}
		d.approver = id
	}
	id, err := identity.Normalize(who)
	if err != nil {
		return decision{}, malformed("who decided: %v", err)
	}
	d.by = id
	if u := b.fields["until"]; u != "" {
		t, err := time.Parse(time.RFC3339, u)
		if err != nil {
			return decision{}, malformed("until %q is not an RFC 3339 time", truncate(u, 40))
		}
		d.until = t.UTC()
	}
	return d, nil
}

// keySet parses the run's decision keys once per change.
func (o *offboarding) keySet() (credential.KeySet, error) {
	if o.keys == nil || !slices.Equal(o.keysFrom, o.st.Policy.DecisionKeys) {
		ks, err := credential.ParseKeySet(o.st.Policy.DecisionKeys)
		if err != nil {
			return credential.KeySet{}, err
		}
		o.keys, o.keysFrom = &ks, slices.Clone(o.st.Policy.DecisionKeys)
	}
	return *o.keys, nil
}

// maxSpent bounds the credentials a run remembers; expired ones are forgotten first, since
// Verify refuses them anyway.
const maxSpent = 1000

func (o *offboarding) spent(id string) bool {
	return slices.ContainsFunc(o.st.Spent, func(s SpentCredential) bool { return s.ID == id })
}

// spend remembers a verified credential, so that it never counts again.
func (o *offboarding) spend(ctx workflow.Context, d decision) {
	if d.unsigned() || o.spent(d.credID) {
		return
	}
	t := now(ctx)
	o.st.Spent = slices.DeleteFunc(o.st.Spent, func(s SpentCredential) bool { return !t.Before(s.Expires) })
	if len(o.st.Spent) >= maxSpent {
		o.st.Spent = o.st.Spent[1:]
	}
	o.st.Spent = append(o.st.Spent, SpentCredential{ID: d.credID, Expires: d.expires})
}

// SpentCredential is a credential a run has seen, remembered until it expires.
type SpentCredential struct {
	ID      string    `json:"id"`
	Expires time.Time `json:"expires"`
}

// credentials reports whether this run began with decision credentials. The answer is recorded
// once per run.
func (o *offboarding) credentials(ctx workflow.Context) bool {
	if o.mode == 0 {
		o.mode = -1
		if workflow.GetVersion(ctx, changeCredentials, workflow.DefaultVersion, 1) == 1 {
			o.mode = 1
		}
	}
	return o.mode == 1
}

// trustsLegacy reports whether the message handled now may count without a credential. Only a
// run begun before credentials has such messages, and there each message decides by a marker
// of its own: messages handled before the upgrade replay as they were, and every later one
// needs a credential.
func (o *offboarding) trustsLegacy(ctx workflow.Context) bool {
	if o.credentials(ctx) {
		return false
	}
	o.legacyMessages++
	id := fmt.Sprintf("%s-%d", changeCredentials, o.legacyMessages)
	return workflow.GetVersion(ctx, id, workflow.DefaultVersion, 1) == workflow.DefaultVersion
}

// refreshKeys takes up the worker's current decision keys, recording them in history when they
// change, so that a run waiting for months accepts credentials of a rotated key.
func (o *offboarding) refreshKeys(ctx workflow.Context) {
	var keys []string
	equal := func(a, b any) bool { return slices.Equal(a.([]string), b.([]string)) }
	err := workflow.MutableSideEffect(ctx, "decision-keys", func(workflow.Context) any { return o.worker.Policy.DecisionKeys }, equal).Get(&keys)
	if err != nil || slices.Equal(keys, o.st.Policy.DecisionKeys) {
		return
	}
	if _, err := credential.ParseKeySet(keys); err != nil {
		o.noteForAudit("the worker's decision keys are unusable and were not taken up: %v", err)
		return
	}
	o.st.Policy.DecisionKeys = keys
	o.recordEvent(ctx, fmt.Sprintf("decision keys now %d: taken up from the worker", len(keys)))
}

// RequestDigest is the digest a start credential binds: SHA-256 over the request's JSON without
// its credential and resume state, base64url.
func RequestDigest(req Request) string {
	req.Credential, req.Resume = "", nil
	return digestJSON(req)
}

// digestJSON is SHA-256 over v's JSON, base64url: the digest a start credential binds.
func digestJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("a %T always marshals: %v", v, err))
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkRequester proves who asked for this offboarding with the request's start credential,
// checked at the time the server accepted the start.
func (o *offboarding) checkRequester(ctx workflow.Context) error {
	if o.req.Credential == "" && o.req.Batch != nil {
		return o.checkBatchRequester(ctx)
	}
	if o.req.Credential == "" {
		if o.st.Policy.UnsignedDecisions {
			o.noteForAudit("the request carries no start credential: requestedBy %q is only what the caller claimed (unsigned decisions allowed)", o.req.RequestedBy)
			return nil
		}
		return errors.New("the request carries no start credential, so nothing proves who asked: start offboardings through the HR API, which signs one for your token's identity")
	}
	keys, err := o.keySet()
	if err != nil {
		return fmt.Errorf("the run's decision keys are unusable: %w", err)
	}
	info := workflow.GetInfo(ctx)
	return verifyStart(keys, o.req.Credential, info.WorkflowStartTime, info.WorkflowExecution.ID, RequestDigest(o.req), o.req.RequestedBy)
}

// verifyStart checks a start credential at time at: signed by one of keys, a start by role hr,
// for the workflow workflowID over the input whose digest is digest, by requestedBy. A single
// start, a batch and a run a batch started are all proved by it.
func verifyStart(keys credential.KeySet, tok string, at time.Time, workflowID, digest, requestedBy string) error {
	c, err := keys.Verify(tok, at)
	switch {
	case err != nil:
		return fmt.Errorf("the start credential is refused: %w", err)
	case c.Action != credential.ActionStart || c.Role != credential.RoleHR:
		return fmt.Errorf("the start credential is a %s credential of role %s, not a start by role hr", c.Action, c.Role)
	case c.WorkflowID != workflowID || c.Request != digest:
		return errors.New("the start credential is for another request: it was changed after it was signed")
	case c.Identity != requestedBy:
		return fmt.Errorf("the start credential proves %q, not the requester %q", c.Identity, truncate(requestedBy, 64))
	}
	return nil
}
