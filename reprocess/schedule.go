package reprocess

import (
	"context"
	"errors"
	"time"
)

// Serve runs scheduled runs until ctx ends: the first at start-up, then one
// every Schedule, each inside the window (a run that falls outside it
// waits for the window to open, and stops when it closes). A failed run is
// logged and the schedule goes on.
func (r *Reprocessor) Serve(ctx context.Context) error {
	r.log.Info("reprocessor scheduled", "every", r.cfg.Schedule, "window", r.windowText())
	next := r.deps.Now()
	for {
		at := r.nextRun(next)
		if wait := at.Sub(r.deps.Now()); wait > 0 {
			r.log.Info("next scheduled run", "at", at.Format(time.RFC3339))
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		if _, err := r.Run(ctx, Request{Scheduled: true}); err != nil && ctx.Err() == nil {
			if errors.Is(err, context.DeadlineExceeded) {
				r.log.Warn("scheduled run stopped: the off-peak window closed", "err", err)
			} else {
				r.log.Error("scheduled run failed", "err", err)
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		next = r.deps.Now().Add(r.cfg.Schedule)
	}
}

// nextRun returns when a run due at t may happen: t itself, or when the
// window next opens.
func (r *Reprocessor) nextRun(t time.Time) time.Time {
	if r.window == nil {
		return t
	}
	return r.window.Next(t)
}

func (r *Reprocessor) windowText() string {
	if r.window == nil {
		return "any time"
	}
	return r.window.String()
}
