package sink

import (
	"context"
	"log/slog"
	"time"
)

// untilOpen calls open until it succeeds or ctx ends, logging each
// failure and waiting with backoff up to max between tries: a role may
// start before ClickHouse, or while it restarts. A target that cannot be
// valid fails at once.
func untilOpen[T any](ctx context.Context, log *slog.Logger, t Target, max time.Duration, open func() (T, error)) (T, error) {
	if err := t.Validate(); err != nil {
		var zero T
		return zero, err
	}
	b := backoff{max: max}
	for {
		v, err := open()
		if err == nil {
			return v, nil
		}
		log.Error("clickhouse not ready, retrying", "addr", t.ClickHouse, "err", err, "in", b.next())
		if werr := b.wait(ctx); werr != nil {
			return v, err
		}
	}
}

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
