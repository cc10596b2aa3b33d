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
	Code    string // the answer's code (Code*), "" if it had none
	Message string
}

// The codes of the contract's error answers, beside their message.
const (
	CodeBadRequest  = "bad_request" // the request breaks the contract (400, 413)
	CodeKeyReused   = "key_reused"  // the key was registered with another body (422)
	CodeRefused     = "refused"     // the service refuses the receipt for good (422)
	CodeUnavailable = "unavailable" // try again with the same key (503)
)

// ErrKeyReused matches (errors.Is) a service's answer that the key was
// registered with another body: for a pipeline, a second body under one
// receipt id rather than a refusal of the receipt.
var ErrKeyReused = errors.New("idempotency key reused with a different body")

// Is makes errors.Is(err, ErrKeyReused) hold for that answer.
func (e *StatusError) Is(target error) bool {
	return target == ErrKeyReused && e.Code == CodeKeyReused
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("registrar answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}
