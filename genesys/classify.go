package genesys

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// transportError classifies a failure to get any response: always transient, with a message
// for a cancelled or timed-out call.
func transportError(op string, err error) *Error {
	e := &Error{Kind: KindTransient, Op: op, Err: err}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		e.Message = "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		e.Message = "timed out: " + err.Error()
	}
	return e
}

var (
	retryInRe = regexp.MustCompile(`(?i)retry the request in \[?(\d+)\]? seconds?`)
	permRe    = regexp.MustCompile(`[A-Za-z][\w-]*:[A-Za-z*][\w*-]*:[A-Za-z*][\w*-]*`)
)

// classify turns an unsuccessful response into a *Error.
func classify(op string, resp *sdkResponse) *Error {
	e := &Error{Op: op, Status: resp.StatusCode, CorrelationID: resp.CorrelationID}
	var body struct {
		Message           string         `json:"message"`
		MessageWithParams string         `json:"messageWithParams"`
		MessageParams     map[string]any `json:"messageParams"`
		Code              string         `json:"code"`
	}
	if len(resp.RawBody) > 0 && json.Unmarshal(resp.RawBody, &body) == nil {
		e.Code, e.Message = body.Code, body.Message
	} else if len(resp.RawBody) > 0 {
		e.Message = truncate(string(resp.RawBody), 200)
	} else {
		e.Message = resp.Status
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = retryAfter(resp.Response.Header, body.Message)
	case s >= 500 || s == http.StatusRequestTimeout:
		e.Kind = KindTransient
	case s == http.StatusConflict:
		e.Kind = KindConflict
	case s == http.StatusBadRequest && strings.Contains(strings.ToLower(body.Message), "does not match the current version"):
		e.Kind = KindConflict
	case s == http.StatusNotFound:
		e.Kind = KindNotFound
	case s == http.StatusForbidden:
		e.Kind = KindPermissionDenied
		e.MissingPermissions = missingPermissions(body.Message, body.MessageWithParams, body.MessageParams)
	case s == http.StatusUnauthorized:
		e.Kind = KindUnauthenticated
	default:
		e.Kind = KindInvalid
	}
	return e
}

// retryAfter reads Retry-After (seconds or an HTTP date), falling back to the 429 message
// "Retry the request in [N] seconds".
func retryAfter(h http.Header, msg string) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(0, time.Until(t).Round(time.Second))
		}
	}
	if m := retryInRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return time.Duration(n) * time.Second
	}
	return 0
}

// missingPermissions extracts domain:entity:action names from a 403's message and params.
func missingPermissions(msg, withParams string, params map[string]any) []string {
	var out []string
	add := func(s string) {
		for _, p := range permRe.FindAllString(s, -1) {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	add(msg)
	add(withParams)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch v := params[k].(type) {
		case string:
			add(v)
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					add(s)
				}
			}
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
