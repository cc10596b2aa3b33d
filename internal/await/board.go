// Package await lets a test wait for a condition over several streams it
// reads at once (worker logs, a topic, a broker's log) without sleeping:
// every stream updates one Board, and a waiter re-checks its condition
// after every update.
package await

import (
	"sync"
	"testing"
	"time"
)

// Board is the lock and change signal the streams of one test share.
type Board struct {
	mu      sync.Mutex
	changed chan struct{}
}

// NewBoard returns a board with no waiters.
func NewBoard() *Board { return &Board{changed: make(chan struct{})} }

// Update runs f under the lock and wakes every waiter.
func (b *Board) Update(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
	close(b.changed)
	b.changed = make(chan struct{})
}

// Read runs f under the lock.
func (b *Board) Read(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
}

// Await reports whether cond became true within timeout. cond runs
// without the lock (it reads through the streams' locking accessors) and
// again after every update.
func (b *Board) Await(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		ch := b.changed
		b.mu.Unlock()
		// ch was taken before cond looked: an update while cond runs
		// closes it, so no change is missed.
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return cond()
		}
	}
}

// MustAwait fails t when cond does not become true within timeout.
func (b *Board) MustAwait(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	if !b.Await(timeout, cond) {
		t.Fatalf("timed out after %v awaiting %s", time.Since(start).Round(time.Millisecond), what)
	}
}
