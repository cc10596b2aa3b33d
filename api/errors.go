package api

import (
	"fmt"
	"net/http"

	"github.com/rationhq/ration"
)

// Error is a request the server answers with an error status: a route's
// handler returns it. msg is what the client reads ({"error": msg}); cause,
// for 5xx answers, is what the log keeps and the client never sees.
type Error struct {
	status  int
	msg     string
	cause   error
	reasons []Reason
}

// Reason is one of several things wrong with a request's body.
type Reason = ration.Reason

// WithReasons returns e answering with reasons too ({"error": msg,
// "reasons": [...]}), for a body with several things wrong at once.
func (e *Error) WithReasons(rs []Reason) *Error {
	out := *e
	out.reasons = rs
	return &out
}

// Reasons are what WithReasons added.
func (e *Error) Reasons() []Reason { return e.reasons }

func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func (e *Error) Unwrap() error { return e.cause }

// Status is the answer's HTTP status.
func (e *Error) Status() int { return e.status }

// Message is what the client reads.
func (e *Error) Message() string { return e.msg }

// Errorf is an answer with status and a message for the client.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{status: status, msg: fmt.Sprintf(format, args...)}
}

// BadRequest is a 400 answer.
func BadRequest(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, format, args...)
}

// Unavailable is a 503 answer, a failure of Kafka or the read store: the
// client should retry later; cause goes to the log only.
func Unavailable(msg string, cause error) *Error {
	return &Error{status: http.StatusServiceUnavailable, msg: msg, cause: cause}
}

// Clip shortens client-supplied text before it goes into an error message
// or a log line, so a megabyte id is not echoed back.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:n], len(s))
}
