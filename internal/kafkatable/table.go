package kafkatable

import (
	"context"
	"log/slog"
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Table is a compacted topic's latest value of each key, decoded, as a
// Follower keeps it. It is safe for concurrent use.
type Table[V any] struct {
	mu      sync.RWMutex
	rows    map[string]V
	changed chan struct{} // closed, and replaced, by every change
}

// NewTable returns an empty table.
func NewTable[V any]() *Table[V] {
	return &Table[V]{rows: make(map[string]V), changed: make(chan struct{})}
}

// Get returns key's value.
func (t *Table[V]) Get(key string) (V, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.rows[key]
	return v, ok
}

// Wait returns key's value once the table has it, or false when ctx ends
// first: for a key written on another process a moment ago, which this
// one's follower has yet to read.
func (t *Table[V]) Wait(ctx context.Context, key string) (V, bool) {
	for {
		t.mu.RLock()
		v, ok := t.rows[key]
		changed := t.changed
		t.mu.RUnlock()
		if ok {
			return v, true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return v, false
		}
	}
}

// Values returns every value, by key.
func (t *Table[V]) Values() []V {
	t.mu.RLock()
	defer t.mu.RUnlock()
	keys := make([]string, 0, len(t.rows))
	for k := range t.rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]V, len(keys))
	for i, k := range keys {
		out[i] = t.rows[k]
	}
	return out
}

// Put sets key's value: what the follower does for a record, and what a
// process does for its own write so that it reads it at once.
func (t *Table[V]) Put(key string, v V) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows[key] = v
	close(t.changed)
	t.changed = make(chan struct{})
}

// Delete removes key.
func (t *Table[V]) Delete(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.rows, key)
	close(t.changed)
	t.changed = make(chan struct{})
}

// Follow returns a follower of topic that keeps t current: each record
// decoded into its key's value, each tombstone deleting its key. A record
// that does not decode is logged and skipped.
func (t *Table[V]) Follow(topic string, decode func([]byte) (V, error), log *slog.Logger, opts ...kgo.Opt) *Follower {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return New(topic, func(rec *kgo.Record) {
		if rec.Value == nil {
			t.Delete(string(rec.Key))
			return
		}
		v, err := decode(rec.Value)
		if err != nil {
			log.Error("record skipped", "topic", topic, "partition", rec.Partition, "offset", rec.Offset, "err", err)
			return
		}
		t.Put(string(rec.Key), v)
	}, log, opts...)
}
