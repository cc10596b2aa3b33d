package dmcheck

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// ErrSimulated is the error the simulator fails with.
var ErrSimulated = errors.New("simulated checker failure")

// Simulator is a Checker that answers Answer(userID) after Latency, and
// fails with probability ErrorRate. The zero value answers at once.
type Simulator struct {
	Latency   time.Duration
	ErrorRate float64
}

// Check implements Checker.
func (s Simulator) Check(ctx context.Context, userID string) (bool, error) {
	if s.Latency > 0 {
		t := time.NewTimer(s.Latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
		}
	}
	if s.ErrorRate > 0 && rand.Float64() < s.ErrorRate {
		return false, ErrSimulated
	}
	return Answer(userID), nil
}
