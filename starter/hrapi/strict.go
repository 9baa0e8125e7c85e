package hrapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/offboard/offboard/workflows"
)

// maxDepth bounds the nesting of a body; every schema of the API is one flat object.
const maxDepth = 16

// decodeBody reads the request's body into dst with decodeJSON, after checking that a body,
// when there is one, is declared as JSON. No body needs no Content-Type.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any, allowEmpty bool) *Problem {
	raw, p := readBody(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if p != nil {
		return p
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		if p := checkContentType(r.Header.Get("Content-Type")); p != nil {
			return p
		}
	}
	return decodeJSON(bytes.NewReader(raw), dst, allowEmpty)
}

// checkContentType accepts application/json, with parameters, in UTF-8 only.
func checkContentType(v string) *Problem {
	const want = "send Content-Type: application/json (charset=utf-8 is the only charset allowed)"
	if v == "" {
		return unsupported("the request has a body but no Content-Type: " + want)
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil || mt != "application/json" {
		return unsupported(fmt.Sprintf("Content-Type %q is not accepted: %s", clip(v), want))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return unsupported(fmt.Sprintf("charset %q is not accepted: %s", clip(cs), want))
	}
	return nil
}

// readBody reads at most MaxBodyBytes.
func readBody(r io.Reader) ([]byte, *Problem) {
	tooLarge := invalid(fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
	raw, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, invalid("the body could not be read: " + err.Error())
	}
	if len(raw) > MaxBodyBytes {
		return nil, tooLarge
	}
	return raw, nil
}

// checkStrict refuses what encoding/json would let pass or change silently: invalid UTF-8
// (it becomes U+FFFD), a key given twice (the last wins), a key that matches a field of t only
// when case is ignored, and text with characters checkText refuses. raw is one JSON value.
func checkStrict(raw []byte, t reflect.Type) *Problem {
	if !utf8.Valid(raw) {
		at := 0
		for r, n := utf8.DecodeRune(raw); r != utf8.RuneError || n > 1; r, n = utf8.DecodeRune(raw[at:]) {
			at += n
		}
		return invalid(fmt.Sprintf("the body is not valid UTF-8 (at byte %d): send UTF-8 text", at))
	}
	w := walker{dec: json.NewDecoder(bytes.NewReader(raw))}
	w.dec.UseNumber()
	if err := w.value(t, "", 0); err != nil {
		var p *Problem
		if errors.As(err, &p) {
			return p
		}
		// Syntax errors are reported by the decoder that reads the value afterwards.
	}
	return nil
}

// walker reads a JSON value token by token, knowing the Go type each part decodes into.
type walker struct{ dec *json.Decoder }

// value checks the next value, which decodes into t (nil when unknown) at path.
func (w walker) value(t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return invalid(fmt.Sprintf("the body is nested more than %d levels deep", maxDepth))
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return w.object(t, path, depth)
		}
		return w.array(t, path, depth)
	case string:
		if msg := checkText(v, textKind(t)); msg != "" {
			return fieldInvalid(path, msg)
		}
	}
	return nil
}

// array checks the elements of an array that decodes into t.
func (w walker) array(t reflect.Type, path string, depth int) error {
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	for i := 0; w.dec.More(); i++ {
		if err := w.value(elem, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
			return err
		}
	}
	_, err := w.dec.Token()
	return err
}

// object checks the members of an object that decodes into t.
func (w walker) object(t reflect.Type, path string, depth int) error {
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		at := key
		if path != "" {
			at = path + "." + key
		}
		if seen[key] {
			return fieldInvalid(at, "appears more than once: send each field once")
		}
		seen[key] = true
		field, p := member(t, key, at)
		if p != nil {
			return p
		}
		if err := w.value(field, at, depth+1); err != nil {
			return err
		}
	}
	_, err := w.dec.Token()
	return err
}

// member is the type that key decodes into within t. A key that is a field's name in another
// case is refused, because encoding/json would take it for that field.
func member(t reflect.Type, key, at string) (reflect.Type, *Problem) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("json") == "-" {
			continue
		}
		switch name := jsonName(f); {
		case name == key:
			return textField(f), nil
		case strings.EqualFold(name, key):
			return nil, fieldInvalid(at, fmt.Sprintf("is not a known field: names are case-sensitive; send %q", name))
		}
	}
	return nil, nil // an unknown field: the decoder names it
}

// proseText stands, for the walker, for a struct field that holds free text (a reason or a
// comment) rather than an identifier or a value from a fixed set.
type proseText string

var freeText = reflect.TypeFor[proseText]()

// textField is the type the walker checks a field's value as: freeText for fields tagged
// `text:"free"`, the field's own type otherwise.
func textField(f reflect.StructField) reflect.Type {
	if f.Tag.Get("text") == "free" {
		return freeText
	}
	return f.Type
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// Kinds of text, by how strictly checkText reads them.
type textClass int

const (
	// identifierText is an identifier, time, duration or enum value: no control or format
	// characters and no spaces around it.
	identifierText textClass = iota
	// prose is free text: no control characters.
	prose
)

func textKind(t reflect.Type) textClass {
	if t == freeText {
		return prose
	}
	return identifierText
}

// checkText says what is wrong with s as text of class c, or "" when nothing is. Control
// characters (C0, DEL, C1) are refused everywhere, and so is U+FFFD, which stands for text
// lost before it was sent (or a lone surrogate escape); identifiers also refuse format
// characters such as U+200B and U+202E, and spaces around them, which are never trimmed.
func checkText(s string, c textClass) string {
	i := 0
	for _, r := range s {
		i++
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("contains the control character %U at character %d: remove it", r, i)
		case r == utf8.RuneError:
			return fmt.Sprintf("contains %U, the replacement character, at character %d: send the original text in UTF-8", r, i)
		case c == identifierText && unicode.Is(unicode.Cf, r):
			return fmt.Sprintf("contains the invisible format character %U at character %d: remove it", r, i)
		}
	}
	if c == identifierText && strings.TrimSpace(s) != s {
		return "has spaces around it: remove them"
	}
	return ""
}

func fieldInvalid(field, msg string) *Problem {
	return invalid("a field is invalid", workflows.FieldError{Field: field, Message: msg})
}

func unsupported(detail string) *Problem {
	return newProblem(TypeUnsupportedMediaType, detail)
}
