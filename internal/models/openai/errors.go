package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

var (
	// ErrAuth means the server rejected the API key (401/403).
	ErrAuth = errors.New("openai: authentication failed")
	// ErrRequest means the request cannot succeed as sent (400/404/422, an
	// exhausted quota, an empty input): retrying will not help.
	ErrRequest = errors.New("openai: request rejected")
	// ErrTemporary means the server was rate limiting, failing or
	// unreachable through every attempt; the same request may succeed later.
	ErrTemporary = errors.New("openai: provider temporarily unavailable")
	// ErrDimensions means the vectors that came back do not have the size
	// the caller asked for, typically because the server ignores the
	// dimensions parameter.
	ErrDimensions = errors.New("openai: embedding dimensions mismatch")
)

// maxErrorBody bounds how much of an error response is read: gateways in
// front of providers answer failures with whole HTML pages.
const maxErrorBody = 64 << 10

// APIError is a non-2xx answer, with the server's OpenAI-style error body
// ({"error":{"message","type","code"}}) when it sent one.
type APIError struct {
	StatusCode int
	Message    string
	Type       string
	Code       string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "http %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	} else if e.Type != "" {
		fmt.Fprintf(&b, " %s", e.Type)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// parseAPIError reads an error response. OpenAI-compatible servers disagree
// on the shape ({"error":{...}}, {"error":"..."}, FastAPI's {"detail":...}),
// so it takes what it can and falls back to the raw text.
func parseAPIError(status int, body []byte, url string) *APIError {
	e := &APIError{StatusCode: status}
	var doc struct {
		Error  json.RawMessage `json:"error"`
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &doc) == nil {
		var obj struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		var s string
		switch {
		case json.Unmarshal(doc.Error, &obj) == nil && obj.Message != "":
			e.Message, e.Type, e.Code = obj.Message, obj.Type, rawString(obj.Code)
		case json.Unmarshal(doc.Error, &s) == nil && s != "":
			e.Message = s
		case len(doc.Detail) > 0:
			e.Message = rawString(doc.Detail)
		}
	}
	if e.Message != "" {
		return e
	}
	if status == http.StatusNotFound {
		e.Message = fmt.Sprintf("%s not found; the base URL must include the API version, like https://api.openai.com/v1", url)
		return e
	}
	e.Message = snippet(body)
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// classify maps an API error to the sentinel callers branch on. Like the
// OpenAI SDKs it retries 408, 409, 429 and 5xx, except that an exhausted
// quota, although sent as 429, lasts until someone pays.
func classify(e *APIError) error {
	switch s := e.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrAuth, e)
	case s == http.StatusTooManyRequests && e.Code == "insufficient_quota":
		return fmt.Errorf("%w: %w", ErrRequest, e)
	case s == http.StatusRequestTimeout || s == http.StatusConflict || s == http.StatusTooManyRequests || s >= 500:
		return fmt.Errorf("%w: %w", ErrTemporary, e)
	default:
		return fmt.Errorf("%w: %w", ErrRequest, e)
	}
}

// rawString renders a JSON value that servers send as a string, a number
// or an object (codes, FastAPI details) as text.
func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if t := strings.TrimSpace(string(raw)); t != "null" {
		return snippet([]byte(t))
	}
	return ""
}

func snippet(b []byte) string {
	const max = 300
	s := strings.ToValidUTF8(strings.Join(strings.Fields(string(b)), " "), "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
