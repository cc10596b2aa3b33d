package dm

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rationhq/ration/processor"
)

// ErrSimulated is the error the simulator fails with; it is transient.
var ErrSimulated = errors.New("simulated checker failure")

// ErrSimulatedDown is the error of a simulator told to be down.
var ErrSimulatedDown = errors.New("simulated checker is down")

// Simulator is a Checker that answers Answer(userID) after Latency, and
// fails with probability ErrorRate. Faults, when set, are faults an
// operator changes while it runs. The zero value answers at once.
type Simulator struct {
	Latency   time.Duration
	ErrorRate float64
	Faults    *Faults
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
	if err := s.Faults.check(); err != nil {
		return false, err
	}
	if s.ErrorRate > 0 && rand.Float64() < s.ErrorRate {
		return false, processor.Transient(ErrSimulated)
	}
	return Answer(userID), nil
}

// Faults are a simulator's run-time faults: an error rate and an outage.
// The zero value has none. Safe for concurrent use.
type Faults struct {
	mu        sync.Mutex
	errorRate float64
	downUntil time.Time
}

// FaultState is what Faults hold, as the sim's admin endpoint shows it.
type FaultState struct {
	ErrorRate float64   `json:"error_rate"`
	DownUntil time.Time `json:"down_until,omitzero"`
}

// Set replaces the error rate and, when downFor > 0, makes every check fail
// for that long from now (0 ends an outage).
func (f *Faults) Set(errorRate float64, downFor time.Duration) error {
	if errorRate < 0 || errorRate > 1 {
		return errors.New("error rate must be within 0..1")
	}
	if downFor < 0 {
		return errors.New("down time must not be negative")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errorRate = errorRate
	f.downUntil = time.Time{}
	if downFor > 0 {
		f.downUntil = time.Now().Add(downFor)
	}
	return nil
}

// State returns the current faults.
func (f *Faults) State() FaultState {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := FaultState{ErrorRate: f.errorRate}
	if time.Now().Before(f.downUntil) {
		st.DownUntil = f.downUntil
	}
	return st
}

func (f *Faults) check() error {
	if f == nil {
		return nil
	}
	st := f.State()
	if !st.DownUntil.IsZero() {
		return processor.Transient(ErrSimulatedDown)
	}
	if st.ErrorRate > 0 && rand.Float64() < st.ErrorRate {
		return processor.Transient(ErrSimulated)
	}
	return nil
}
