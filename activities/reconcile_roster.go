package activities

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// HR statuses of a roster row.
const (
	RosterTerminated = "terminated"
	RosterActive     = "active" // e.g. a rehire
)

// Roster bounds: a roster larger than these is refused whole.
const (
	MaxRosterBytes = 64 << 20
	MaxRosterRows  = 200_000
	// maxRosterProblems bounds how many problems a refused roster's error lists.
	maxRosterProblems = 20
)

// RosterRow is one person of HR's roster, as HR gave it: exactly one of UserID (a Genesys user
// ID), Email or EmployeeID, the HR Status, and optionally the TerminationDate (YYYY-MM-DD) and
// the Disposition of the offboarding a reconciliation would start. Line is the CSV line (the
// header is line 1) or the JSON array index plus one. Email and EmployeeID are personal data.
type RosterRow struct {
	Line            int    `json:"line"`
	UserID          string `json:"userId,omitempty"`
	Email           string `json:"email,omitempty"`
	EmployeeID      string `json:"employeeId,omitempty"`
	Status          string `json:"status"`
	TerminationDate string `json:"terminationDate,omitempty"`
	Disposition     string `json:"disposition,omitempty"`
}

// rosterColumns are the CSV header's column names, which are also the JSON objects' keys.
var rosterColumns = []string{"userId", "email", "employeeId", "status", "terminationDate", "disposition"}

// rosterProblems collects what is wrong with a roster, line by line.
type rosterProblems struct {
	list  []string
	total int
}

func (p *rosterProblems) add(line int, field, format string, args ...any) {
	p.total++
	if len(p.list) < maxRosterProblems {
		p.list = append(p.list, fmt.Sprintf("line %d, %s: %s", line, field, fmt.Sprintf(format, args...)))
	}
}

func (p *rosterProblems) err() error {
	if p.total == 0 {
		return nil
	}
	msg := "the roster is refused, nothing was compared or started: " + strings.Join(p.list, "; ")
	if more := p.total - len(p.list); more > 0 {
		msg += fmt.Sprintf("; and %d more", more)
	}
	return errors.New(msg)
}

// ParseRoster reads a roster: CSV with a header row naming some of the columns userId, email,
// employeeId, status, terminationDate, disposition (status and one identifying column at
// least), or a JSON array of objects with those keys. name (the object's key or URL) ending in
// .json, or a body starting with '[' or '{', is JSON; anything else is CSV. Dispositions are those a
// row may name. The error lists every problem found (up to 20) by line and field, never a value
// that may be personal data.
func ParseRoster(name string, body []byte, dispositions []string) ([]RosterRow, error) {
	if len(body) > MaxRosterBytes {
		return nil, fmt.Errorf("the roster is %d bytes; the limit is %d", len(body), MaxRosterBytes)
	}
	var rows []RosterRow
	var err error
	trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff")
	if strings.HasSuffix(strings.ToLower(stripURLQuery(name)), ".json") || bytes.HasPrefix(trimmed, []byte("[")) || bytes.HasPrefix(trimmed, []byte("{")) {
		rows, err = rosterJSON(trimmed)
	} else {
		rows, err = rosterCSV(bytes.TrimPrefix(body, []byte("\ufeff")))
	}
	if err != nil {
		return nil, err
	}
	if len(rows) > MaxRosterRows {
		return nil, fmt.Errorf("the roster has %d rows; the limit is %d: split it", len(rows), MaxRosterRows)
	}
	var p rosterProblems
	checkRosterRows(&p, rows, dispositions)
	if err := p.err(); err != nil {
		return nil, err
	}
	return rows, nil
}

func stripURLQuery(s string) string {
	s, _, _ = strings.Cut(s, "?")
	return s
}

func rosterJSON(body []byte) ([]RosterRow, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("the roster is not a JSON array of objects: %v", err)
	}
	rows := make([]RosterRow, 0, len(items))
	var p rosterProblems
	for i, it := range items {
		var r RosterRow
		d := json.NewDecoder(bytes.NewReader(it))
		d.DisallowUnknownFields()
		if err := d.Decode(&r); err != nil || r.Line != 0 {
			p.add(i+1, "object", "want an object whose keys are among %s, each a string", strings.Join(rosterColumns, ", "))
			continue
		}
		r.Line = i + 1
		rows = append(rows, r)
	}
	return rows, p.err()
}

func rosterCSV(body []byte) ([]RosterRow, error) {
	cr := csv.NewReader(bytes.NewReader(body))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("the roster has no CSV header row (%v): start it with e.g. email,status,terminationDate,disposition", csvProblem(err))
	}
	cols, err := rosterHeader(header)
	if err != nil {
		return nil, err
	}
	var rows []RosterRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("the roster is not valid CSV at line %d: %v", line, csvProblem(err))
		}
		r := RosterRow{Line: line}
		for i, c := range cols {
			*rosterField(&r, c) = rec[i]
		}
		rows = append(rows, r)
	}
}

// csvProblem is a CSV error without the text it quotes.
func csvProblem(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// rosterHeader checks the header and returns its columns in order.
func rosterHeader(header []string) ([]string, error) {
	cols := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		j := slices.IndexFunc(rosterColumns, func(c string) bool { return strings.EqualFold(c, h) })
		switch {
		case j < 0:
			return nil, fmt.Errorf("line 1, column %d: %q is not a roster column: use %s", i+1, h, strings.Join(rosterColumns, ", "))
		case slices.Contains(cols, rosterColumns[j]):
			return nil, fmt.Errorf("line 1, column %d: %s appears twice", i+1, rosterColumns[j])
		}
		cols[i] = rosterColumns[j]
	}
	if !slices.Contains(cols, "status") {
		return nil, errors.New("line 1: the header has no status column")
	}
	if !slices.ContainsFunc(cols, func(c string) bool { return c == "userId" || c == "email" || c == "employeeId" }) {
		return nil, errors.New("line 1: the header names no userId, email or employeeId column")
	}
	return cols, nil
}

func rosterField(r *RosterRow, col string) *string {
	switch col {
	case "userId":
		return &r.UserID
	case "email":
		return &r.Email
	case "employeeId":
		return &r.EmployeeID
	case "status":
		return &r.Status
	case "terminationDate":
		return &r.TerminationDate
	}
	return &r.Disposition
}

// checkRosterRows checks each row, and that no two rows name the same person the same way.
func checkRosterRows(p *rosterProblems, rows []RosterRow, dispositions []string) {
	seen := map[string]int{}
	for _, r := range rows {
		checkRosterRow(p, r, dispositions)
		key := r.identifiedBy() + "\x00" + r.identifier()
		if r.identifiedBy() == IdentifyByEmail {
			key = strings.ToLower(key)
		}
		if first, dup := seen[key]; dup && r.identifier() != "" {
			p.add(r.Line, r.identifiedBy(), "names the same person as line %d: keep one row per person", first)
		} else {
			seen[key] = r.Line
		}
	}
}

func checkRosterRow(p *rosterProblems, r RosterRow, dispositions []string) {
	checkRosterIdentifier(p, r)
	if r.Status != RosterTerminated && r.Status != RosterActive {
		p.add(r.Line, "status", "%q is not %q or %q", clipValue(r.Status), RosterTerminated, RosterActive)
	}
	if r.TerminationDate != "" {
		if _, err := time.Parse(time.DateOnly, r.TerminationDate); err != nil {
			p.add(r.Line, "terminationDate", "is not a date such as 2026-03-31")
		}
	}
	if r.Disposition != "" && !slices.Contains(dispositions, r.Disposition) {
		p.add(r.Line, "disposition", "%q is not one of %s (or empty: the worker's)", clipValue(r.Disposition), strings.Join(dispositions, ", "))
	}
}

// checkRosterIdentifier checks that the row names the person exactly one well-formed way.
func checkRosterIdentifier(p *rosterProblems, r RosterRow) {
	n := 0
	for _, v := range []string{r.UserID, r.Email, r.EmployeeID} {
		if v != "" {
			n++
		}
	}
	switch {
	case n != 1:
		p.add(r.Line, "userId/email/employeeId", "give exactly one of them, %d given", n)
	case r.UserID != "" && (len(r.UserID) != 36 || uuid.Validate(r.UserID) != nil):
		p.add(r.Line, "userId", "is not a Genesys user ID (a UUID such as 3f2504e0-4f89-41d3-9a0c-0305e82c3301)")
	case r.Email != "" && !plausibleEmail(r.Email):
		p.add(r.Line, "email", "is not an email address such as name@example.org")
	case r.EmployeeID != "" && strings.TrimSpace(r.EmployeeID) != r.EmployeeID:
		p.add(r.Line, "employeeId", "starts or ends with white space: remove it (employee IDs match exactly)")
	}
}

func plausibleEmail(s string) bool {
	local, domain, ok := strings.Cut(strings.TrimSpace(s), "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(domain, "@ \t")
}

// clipValue bounds a non-personal value (a status or disposition) that an error repeats.
func clipValue(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// identifiedBy is how the row names the person: "userId", IdentifyByEmail or IdentifyByEmployeeID.
func (r RosterRow) identifiedBy() string {
	switch {
	case r.UserID != "":
		return "userId"
	case r.Email != "":
		return IdentifyByEmail
	}
	return IdentifyByEmployeeID
}

func (r RosterRow) identifier() string {
	return r.UserID + r.Email + r.EmployeeID // exactly one is set
}

// terminatedBy reports whether HR's termination has taken effect on day (a date, UTC).
func (r RosterRow) terminatedBy(day time.Time) bool {
	if r.Status != RosterTerminated {
		return false
	}
	d, err := time.Parse(time.DateOnly, r.TerminationDate)
	return err != nil || !d.After(day)
}
