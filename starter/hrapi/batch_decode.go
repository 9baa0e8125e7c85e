package hrapi

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/offboard/offboard/workflows"
)

// MaxBatchBodyBytes is the largest batch body the API reads: ten thousand CSV rows of long
// emails, reasons and event IDs, or their JSON.
const MaxBatchBodyBytes = 8 << 20

// BatchRequest is the JSON body of POST /v1/batches: the people to offboard, each as the body
// of POST /v1/offboardings, and how many may work at once (0: the batch's default).
type BatchRequest struct {
	Items       []OffboardingRequest `json:"items"`
	MaxInFlight int                  `json:"maxInFlight,omitempty"`
}

// ItemError is one invalid field of one item of a batch: Line is the CSV line (the header is
// line 1) or the JSON item's index plus one; Field is empty when the item as a whole is wrong.
type ItemError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// submittedItem is one item as HR sent it, before validation.
type submittedItem struct {
	line int
	body OffboardingRequest
}

// batchColumns are the CSV columns a batch takes: the JSON names of OffboardingRequest.
var batchColumns = []string{"userId", "email", "employeeId", "disposition", "effectiveAt", "retention", "exportFrom", "reason", "hrEventId", "dryRun"}

// decodeBatch reads a batch from the request's body, JSON or CSV by its Content-Type. Items
// that do not decode are in the item errors; a body that is not a batch at all is a *Problem.
func decodeBatch(w http.ResponseWriter, r *http.Request) ([]submittedItem, int, []ItemError, *Problem) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	const want = "send Content-Type: application/json or text/csv (UTF-8)"
	switch {
	case err != nil:
		return nil, 0, nil, unsupported("the batch has no valid Content-Type: " + want)
	case params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8"):
		return nil, 0, nil, unsupported(fmt.Sprintf("charset %q is not accepted: %s", clip(params["charset"]), want))
	case mt != "application/json" && mt != "text/csv":
		return nil, 0, nil, unsupported(fmt.Sprintf("Content-Type %q is not accepted: %s", clip(mt), want))
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBatchBodyBytes))
	if err != nil {
		return nil, 0, nil, invalid(fmt.Sprintf("the batch could not be read (at most %d bytes): %v", MaxBatchBodyBytes, err))
	}
	if mt == "text/csv" {
		items, errs, p := decodeBatchCSV(raw)
		return items, 0, errs, p
	}
	return decodeBatchJSON(raw)
}

// decodeBatchJSON reads a JSON batch: one object with items (each decoded strictly, as the body
// of a single start) and maxInFlight.
func decodeBatchJSON(raw []byte) ([]submittedItem, int, []ItemError, *Problem) {
	if !utf8.Valid(raw) {
		return nil, 0, nil, invalid("the batch is not valid UTF-8: send UTF-8 text")
	}
	var top struct {
		Items       *[]json.RawMessage `json:"items"`
		MaxInFlight int                `json:"maxInFlight"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&top); err != nil {
		return nil, 0, nil, jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, 0, nil, invalid("the batch holds more than one JSON value: send exactly one object")
	}
	if p := checkTopLevel(raw); p != nil {
		return nil, 0, nil, p
	}
	switch {
	case top.Items == nil:
		return nil, 0, nil, invalid("the batch has no items", workflows.FieldError{Field: "items", Message: "is required: an array of offboarding requests"})
	case len(*top.Items) > workflows.MaxBatchItems:
		return nil, 0, nil, tooManyItems()
	}
	items := make([]submittedItem, 0, len(*top.Items))
	var errs []ItemError
	for i, it := range *top.Items {
		var b OffboardingRequest
		if p := decodeJSON(bytes.NewReader(it), &b, false); p != nil {
			errs = append(errs, itemErrors(i+1, p)...)
			continue
		}
		items = append(items, submittedItem{line: i + 1, body: b})
	}
	return items, top.MaxInFlight, errs, nil
}

// checkTopLevel refuses a batch object that names a member twice or in another case, which
// encoding/json would take silently. The items are checked one by one afterwards.
func checkTopLevel(raw []byte) *Problem {
	dec := json.NewDecoder(bytes.NewReader(raw))
	_, _ = dec.Token() // '{', as Decode found
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return invalid("the batch is not valid JSON")
		}
		key, _ := tok.(string)
		switch {
		case seen[key]:
			return fieldInvalid(key, "appears more than once: send each field once")
		case key != "items" && key != "maxInFlight":
			return fieldInvalid(key, `is not a known field: names are case-sensitive; send "items" and "maxInFlight"`)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return invalid("the batch is not valid JSON")
		}
	}
	return nil
}

// decodeBatchCSV reads a CSV batch: a header row naming batchColumns, then one person a row.
// Each row becomes the JSON body of a single start and is decoded as one, so the two forms
// share every rule. A UTF-8 byte order mark (spreadsheets write one) is skipped.
func decodeBatchCSV(raw []byte) ([]submittedItem, []ItemError, *Problem) {
	raw = bytes.TrimPrefix(raw, []byte("\ufeff"))
	switch {
	case bytes.HasPrefix(raw, []byte{0xfe, 0xff}), bytes.HasPrefix(raw, []byte{0xff, 0xfe}):
		return nil, nil, invalid("the CSV is UTF-16: save it as CSV UTF-8")
	case len(bytes.TrimSpace(raw)) == 0:
		return nil, nil, invalid("the CSV is empty: send a header row naming the columns (" + strings.Join(batchColumns, ",") + "), then one person a row")
	case !utf8.Valid(raw):
		return nil, nil, invalid("the CSV is not valid UTF-8: save it as CSV UTF-8")
	}
	rd := csv.NewReader(bytes.NewReader(raw))
	header, err := rd.Read()
	if err != nil {
		return nil, nil, csvProblem(err)
	}
	if p := checkHeader(header); p != nil {
		return nil, nil, p
	}
	var items []submittedItem
	var errs []ItemError
	for rows := 1; ; rows++ {
		row, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return items, errs, nil
		}
		line, _ := rd.FieldPos(0)
		if rows > workflows.MaxBatchItems {
			return nil, nil, tooManyItems()
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			return nil, nil, csvProblem(err)
		}
		if err != nil {
			errs = append(errs, ItemError{Line: line, Message: fmt.Sprintf("has %d fields; the header has %d", len(row), len(header))})
			continue
		}
		b, rowErrs := rowRequest(line, header, row)
		if len(rowErrs) > 0 {
			errs = append(errs, rowErrs...)
			continue
		}
		items = append(items, submittedItem{line: line, body: b})
	}
}

// checkHeader refuses unknown, repeated and missing columns.
func checkHeader(header []string) *Problem {
	var fields []workflows.FieldError
	seen := map[string]bool{}
	for _, h := range header {
		switch {
		case !slices.Contains(batchColumns, h):
			fields = append(fields, workflows.FieldError{Field: clip(h), Message: "is not a known column (names are case-sensitive): use " + strings.Join(batchColumns, ", ")})
		case seen[h]:
			fields = append(fields, workflows.FieldError{Field: h, Message: "is named twice in the header"})
		}
		seen[h] = true
	}
	for _, req := range []string{"disposition", "reason", "hrEventId"} {
		if !seen[req] {
			fields = append(fields, workflows.FieldError{Field: req, Message: "is a required column"})
		}
	}
	if !seen["userId"] && !seen["email"] && !seen["employeeId"] {
		fields = append(fields, workflows.FieldError{Field: "userId", Message: "is a required column, or instead email or employeeId"})
	}
	if len(fields) > 0 {
		return invalid("the CSV header is invalid: its first row names the columns", fields...)
	}
	return nil
}

// rowRequest decodes one CSV row as the JSON body of a single start; empty cells are omitted.
func rowRequest(line int, header, row []string) (OffboardingRequest, []ItemError) {
	obj := map[string]any{}
	for i, h := range header {
		switch v := row[i]; {
		case v == "":
		case h == "dryRun" && (v == "true" || v == "false"):
			obj[h] = v == "true"
		case h == "dryRun":
			return OffboardingRequest{}, []ItemError{{Line: line, Field: h, Message: fmt.Sprintf("%q is not true or false", clip(v))}}
		default:
			obj[h] = v
		}
	}
	js, err := json.Marshal(obj)
	if err != nil {
		return OffboardingRequest{}, []ItemError{{Line: line, Message: "cannot be read: " + err.Error()}}
	}
	var b OffboardingRequest
	if p := decodeJSON(bytes.NewReader(js), &b, false); p != nil {
		return OffboardingRequest{}, itemErrors(line, p)
	}
	return b, nil
}

// csvProblem is a CSV the reader cannot parse, with the line where it failed.
func csvProblem(err error) *Problem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return invalid(fmt.Sprintf("the CSV cannot be parsed at line %d, column %d: %v (quote a field that holds a comma, a quote or a line break, and double the quotes inside it)", pe.StartLine, pe.Column, pe.Err))
	}
	return invalid("the CSV cannot be parsed: " + err.Error())
}

func tooManyItems() *Problem {
	return invalid(fmt.Sprintf("the batch has more than %d items: split it", workflows.MaxBatchItems),
		workflows.FieldError{Field: "items", Message: fmt.Sprintf("at most %d", workflows.MaxBatchItems)})
}

// itemErrors are the item errors of a problem met with the item at line.
func itemErrors(line int, p *Problem) []ItemError {
	if len(p.Errors) == 0 {
		// The item was read as the body of a single start would be.
		return []ItemError{{Line: line, Message: strings.Replace(p.Detail, "the body", "the item", 1)}}
	}
	out := make([]ItemError, 0, len(p.Errors))
	for _, f := range p.Errors {
		out = append(out, ItemError{Line: line, Field: f.Field, Message: f.Message})
	}
	return out
}

// batchItems validates every item as a single start by requestedBy at now, and refuses a
// person named twice. Every invalid item is in the errors; the items are valid only without.
func batchItems(items []submittedItem, errs []ItemError, requestedBy string, now time.Time, p workflows.Policy) ([]workflows.BatchItem, []ItemError) {
	out := make([]workflows.BatchItem, 0, len(items))
	firstLine := map[string]int{}
	for _, it := range items {
		req, err := it.body.Request(requestedBy, now, p)
		if err != nil {
			var pr *Problem
			if !errors.As(err, &pr) {
				pr = invalid(err.Error())
			}
			errs = append(errs, itemErrors(it.line, pr)...)
			continue
		}
		field, key := personKey(it.body)
		if first, ok := firstLine[key]; ok {
			errs = append(errs, ItemError{Line: it.line, Field: field, Message: fmt.Sprintf("names the same person as line %d: name each person once", first)})
			continue
		}
		firstLine[key] = it.line
		out = append(out, workflows.BatchItem{Line: it.line, Request: req})
	}
	slices.SortStableFunc(errs, func(a, b ItemError) int { return a.Line - b.Line })
	return out, errs
}

// personKey is the field that names the person and a key equal for every item naming the same
// one the same way (case tells neither user IDs nor emails apart).
func personKey(b OffboardingRequest) (string, string) {
	switch {
	case b.UserID != "":
		return "userId", "u:" + strings.ToLower(b.UserID)
	case b.Email != "":
		return "email", "e:" + strings.ToLower(b.Email)
	}
	return "employeeId", "i:" + b.EmployeeID
}

// invalidBatch is the one problem of a batch whose items are invalid.
func invalidBatch(errs []ItemError) *Problem {
	lines := map[int]bool{}
	for _, e := range errs {
		lines[e.Line] = true
	}
	p := newProblem(TypeInvalidBatch, fmt.Sprintf("%d items of the batch are invalid; nothing was stored or started: fix every item that items names and send the whole batch again", len(lines)))
	p.Items = errs
	return p
}
