package sink

import (
	"context"
	"time"
)

// backoff doubles a wait from 100 ms up to max.
type backoff struct {
	max time.Duration
	cur time.Duration
}

// next returns the wait the next call to wait will take.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		return min(100*time.Millisecond, b.max)
	}
	return min(2*b.cur, b.max)
}

// wait waits for the next backoff step or until ctx ends.
func (b *backoff) wait(ctx context.Context) error {
	b.cur = b.next()
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
