package hrapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/offboard/offboard/workflows"
)

// Problem is an RFC 9457 problem detail. It is also the error type of Service, so the CLI and
// the HTTP API report the same failures the same way.
type Problem struct {
	// Type is a URI reference naming the kind of problem.
	Type string `json:"type"`
	// Title is the short, fixed summary of Type.
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence and how to fix it.
	Detail string `json:"detail,omitempty"`
	// Instance is the request path.
	Instance string `json:"instance,omitempty"`
	// Errors are the invalid fields, for 400s.
	Errors []workflows.FieldError `json:"errors,omitempty"`
	// WorkflowID names the offboarding concerned, when there is one.
	WorkflowID string `json:"workflowId,omitempty"`
}

// Problem types.
const (
	TypeInvalidRequest = "/problems/invalid-request"
	TypeUnauthorized   = "/problems/unauthorized"
	TypeForbidden      = "/problems/forbidden"
	TypeNotFound       = "/problems/not-found"
	TypeConflict       = "/problems/conflict"
	TypeRejected       = "/problems/update-rejected"
	TypeMethod         = "/problems/method-not-allowed"
	TypeUnavailable    = "/problems/temporal-unavailable"
	TypeInternal       = "/problems/internal"

	// TypeUnsupportedMediaType is a body that is not declared as JSON in UTF-8.
	TypeUnsupportedMediaType = "/problems/unsupported-media-type"
	// TypeTooManyRequests is a client over a rate limit; Retry-After says when to try again.
	TypeTooManyRequests = "/problems/too-many-requests"
)

// Error renders the problem as one line: title, detail and field errors.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Title)
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for _, f := range p.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
	}
	return b.String()
}

func invalid(detail string, fields ...workflows.FieldError) *Problem {
	return &Problem{Type: TypeInvalidRequest, Title: "Invalid request", Status: http.StatusBadRequest, Detail: detail, Errors: fields}
}

func notFound(detail string) *Problem {
	return &Problem{Type: TypeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: detail}
}

func conflict(detail string) *Problem {
	return &Problem{Type: TypeConflict, Title: "Conflict", Status: http.StatusConflict, Detail: detail}
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Instance == "" && r != nil {
		p.Instance = RedactPath(r.URL.Path)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
