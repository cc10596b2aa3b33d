package e2e

import (
	"sync"
	"testing"
	"time"
)

// board is the lock and change signal that every stream of one test shares
// (worker logs, the result topic, the broker's log), so a test can await a
// condition over several of them without sleeping.
type board struct {
	mu      sync.Mutex
	changed chan struct{}
}

func newBoard() *board { return &board{changed: make(chan struct{})} }

// update runs f under the lock and wakes every waiter.
func (b *board) update(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
	close(b.changed)
	b.changed = make(chan struct{})
}

// read runs f under the lock.
func (b *board) read(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
}

// await reports whether cond became true within timeout. cond runs without
// the lock (it reads through the streams' locking accessors) and is
// re-evaluated after every update.
func (b *board) await(timeout time.Duration, cond func() bool) bool {
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

// mustAwait fails the test when cond does not become true within timeout.
func (b *board) mustAwait(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	if !b.await(timeout, cond) {
		t.Fatalf("timed out after %v awaiting %s", time.Since(start).Round(time.Millisecond), what)
	}
}
