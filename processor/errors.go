package processor

import (
	"errors"
	"fmt"
)

// ErrPermanent marks an error that retrying cannot fix (bad data). A record
// whose handler fails with it is skipped and counted, so it never blocks its
// bucket. Any other handler error aborts the batch, which is then retried.
var ErrPermanent = errors.New("permanent")

// Permanent wraps err so that errors.Is(err, ErrPermanent) holds.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}
