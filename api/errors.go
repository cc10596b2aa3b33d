package api

import (
	"fmt"
	"net/http"
)

// httpError is a request the server answers with an error status. msg is
// what the client reads; cause, for 5xx answers, is what the log keeps.
type httpError struct {
	status int
	msg    string
	cause  error
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func (e *httpError) Unwrap() error { return e.cause }

func errorf(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *httpError {
	return errorf(http.StatusBadRequest, format, args...)
}

// unavailable is a failure of Kafka or the read store: the client should
// retry later.
func unavailable(msg string, cause error) *httpError {
	return &httpError{status: http.StatusServiceUnavailable, msg: msg, cause: cause}
}

// clip shortens client-supplied text before it goes into an error message
// or a log line, so a megabyte id is not echoed back.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:n], len(s))
}
