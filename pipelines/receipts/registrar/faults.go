package registrar

import (
	"errors"
	"sync"
	"time"
)

// Faults are a simulator's faults, changed while it runs. The zero value
// has none. Safe for concurrent use.
type Faults struct {
	mu sync.Mutex
	st FaultState
}

// FaultState is what Faults hold.
type FaultState struct {
	// ErrorRate is the share of calls that fail with 503 before anything
	// happens.
	ErrorRate float64
	// LostReplyRate is the share of successful calls whose reply is lost:
	// the registration is made, the caller gets 503.
	LostReplyRate float64
	// RefuseRate is the share of keys whose registration is refused for
	// good (422), chosen by the key.
	RefuseRate float64
	// Latency delays every call.
	Latency time.Duration
	// DownUntil, while in the future, fails every call with 503. Zero when
	// the simulator is up.
	DownUntil time.Time
}

// down reports whether st is an outage at now.
func (st FaultState) down(now time.Time) bool { return now.Before(st.DownUntil) }

// FaultChange changes the faults it has a value for and leaves the
// others.
type FaultChange struct {
	ErrorRate     *float64
	LostReplyRate *float64
	RefuseRate    *float64
	Latency       *time.Duration
	// DownFor starts an outage that long from now; 0 ends one.
	DownFor *time.Duration
}

// Change applies c, all of it or, when a value is out of range, none.
func (f *Faults) Change(c FaultChange) error {
	for _, r := range []struct {
		v    *float64
		name string
	}{{c.ErrorRate, "error rate"}, {c.LostReplyRate, "lost reply rate"}, {c.RefuseRate, "refuse rate"}} {
		// Written so that NaN fails too.
		if r.v != nil && !(*r.v >= 0 && *r.v <= 1) {
			return errors.New(r.name + " must be within 0..1")
		}
	}
	if c.Latency != nil && *c.Latency < 0 {
		return errors.New("latency must not be negative")
	}
	if c.DownFor != nil && *c.DownFor < 0 {
		return errors.New("down time must not be negative")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	set(&f.st.ErrorRate, c.ErrorRate)
	set(&f.st.LostReplyRate, c.LostReplyRate)
	set(&f.st.RefuseRate, c.RefuseRate)
	set(&f.st.Latency, c.Latency)
	if c.DownFor != nil {
		f.st.DownUntil = time.Time{}
		if *c.DownFor > 0 {
			f.st.DownUntil = time.Now().Add(*c.DownFor)
		}
	}
	return nil
}

func set[T any](dst, v *T) {
	if v != nil {
		*dst = *v
	}
}

// State returns the current faults; DownUntil is zero once an outage is
// over.
func (f *Faults) State() FaultState {
	f.mu.Lock()
	st := f.st
	f.mu.Unlock()
	if !st.down(time.Now()) {
		st.DownUntil = time.Time{}
	}
	return st
}
