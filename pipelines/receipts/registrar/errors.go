package registrar

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrInvalidKey is the error of an idempotency key the contract does not
// allow; the Client sends no request with one.
var ErrInvalidKey = errors.New("invalid idempotency key")

// StatusError is a service's answer other than success: its HTTP status
// and the message of its JSON error. The Client returns it marked
// transient (5xx, 429) or permanent (any other); errors.As finds it.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("registrar answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}
