package processor

import (
	"errors"
	"fmt"
)

// Error classes. A stage's handler marks what it knows: ErrPermanent for
// bad data that no retry can fix, ErrTransient for a fault that may pass
// (a time-out, a refused connection, a 5xx or 429). An error marked with
// neither counts as transient.
//
// ErrRejected is an item's own outcome rather than a fault: the handler
// refused it for good (a tax office refused a receipt) and says so in the
// outputs it returns with the error. The runtime produces those outputs
// and a FAILED event, and no dead letter.
//
// ErrDuplicate says the record repeats an item the stage has taken before
// in another form (a second body under a receipt's id): the runtime keeps
// nothing of the try, writes no output and no status event (the item's
// status is the first one's), logs it at WARN and counts it.
var (
	ErrPermanent = errors.New("permanent")
	ErrTransient = errors.New("transient")
	ErrRejected  = errors.New("rejected")
	ErrDuplicate = errors.New("duplicate")
)

// Duplicate wraps err so that errors.Is(err, ErrDuplicate) holds.
func Duplicate(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrDuplicate, err)
}

// Reject wraps err so that errors.Is(err, ErrRejected) holds.
func Reject(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrRejected, err)
}

// Permanent wraps err so that errors.Is(err, ErrPermanent) holds.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// Transient wraps err so that errors.Is(err, ErrTransient) holds.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrTransient, err)
}

// IsPermanent reports whether err is marked permanent. Everything else,
// unmarked errors included, is transient.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// Class names err's class for events and logs: "rejected", "permanent" or
// "transient" ("" for nil).
func Class(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrRejected):
		return "rejected"
	case IsPermanent(err):
		return "permanent"
	default:
		return "transient"
	}
}
