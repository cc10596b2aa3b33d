package processor

import (
	"strings"
	"sync"

	"github.com/google/btree"
)

// State is a stage's state of one bucket, as a handler sees it while it
// handles a record of that bucket: a sorted map from keys to values.
//
// Changes a handler makes are the batch's: the runtime writes each changed
// key's last value to the stage's changelog, in the transaction that
// commits the batch's outputs and offsets, and applies them to the store
// only once that transaction committed. A batch that aborts (a rebalance,
// a fenced zombie, a crash) leaves no trace. A worker that is assigned a
// bucket restores its state from the changelog before it handles the
// bucket's first record, and forgets it when the bucket is revoked.
//
// A bucket's records run on lanes by key (or by partition, with
// Config.LanesByPartition): a handler that touches only its record's key
// never races another lane; one that touches keys shared by the bucket
// (counters, indexes) needs LanesByPartition.
type State interface {
	// Get returns key's value.
	Get(key string) (value []byte, ok bool)
	// Put sets key's value; the state keeps a copy.
	Put(key string, value []byte)
	// Delete removes key.
	Delete(key string)
	// First returns the smallest key that starts with prefix, and its
	// value: with keys that sort as their order (a zero-padded time, say),
	// an index.
	First(prefix string) (key string, value []byte, ok bool)
}

// Drain deletes every key of st under prefix, smallest first, calling fn
// with each (its prefix cut off) and its value: marks that live for a
// batch, such as the keys a view changed, which it writes out at the end
// of the batch. It stops at fn's first error.
func Drain(st State, prefix string, fn func(key string, value []byte) error) error {
	for {
		k, v, ok := st.First(prefix)
		if !ok {
			return nil
		}
		st.Delete(k)
		if err := fn(strings.TrimPrefix(k, prefix), v); err != nil {
			return err
		}
	}
}

// Store keeps the committed state of the buckets a worker owns. It is
// in memory by default (NewMemoryStore); see docs/DESIGN.md for the size
// at which a disk-backed one would be needed. Keys are the runtime's:
// handler keys and the retry loop's, each under a prefix of its own.
type Store interface {
	// Get returns key's value in bucket.
	Get(bucket int32, key string) ([]byte, bool)
	// Ascend calls fn for bucket's keys from the first at or after from,
	// in order, until fn returns false.
	Ascend(bucket int32, from string, fn func(key string, value []byte) bool)
	// Set sets key's value in bucket; nil deletes it. The store keeps
	// value as it is (the runtime gives it a copy).
	Set(bucket int32, key string, value []byte)
	// Init starts bucket empty (before its changelog is read into it).
	Init(bucket int32)
	// Has says whether bucket is loaded.
	Has(bucket int32) bool
	// Drop forgets bucket.
	Drop(bucket int32)
	// Len returns the number of keys in bucket.
	Len(bucket int32) int
}

type entry struct {
	key string
	val []byte
}

func lessEntry(a, b entry) bool { return a.key < b.key }

// btreeDegree suits keys of tens of bytes: nodes of a few hundred
// entries, a handful of levels for millions of keys.
const btreeDegree = 32

// memoryStore is the in-memory Store: a B-tree per bucket.
type memoryStore struct {
	mu      sync.RWMutex
	buckets map[int32]*btree.BTreeG[entry]
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() Store {
	return &memoryStore{buckets: make(map[int32]*btree.BTreeG[entry])}
}

func (m *memoryStore) Get(bucket int32, key string) ([]byte, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t := m.buckets[bucket]
	if t == nil {
		return nil, false
	}
	e, ok := t.Get(entry{key: key})
	return e.val, ok
}

func (m *memoryStore) Ascend(bucket int32, from string, fn func(string, []byte) bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if t := m.buckets[bucket]; t != nil {
		t.AscendGreaterOrEqual(entry{key: from}, func(e entry) bool { return fn(e.key, e.val) })
	}
}

func (m *memoryStore) Set(bucket int32, key string, value []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.buckets[bucket]
	if t == nil {
		return // revoked meanwhile
	}
	if value == nil {
		t.Delete(entry{key: key})
		return
	}
	t.ReplaceOrInsert(entry{key: key, val: value})
}

func (m *memoryStore) Init(bucket int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buckets[bucket] = btree.NewG(btreeDegree, lessEntry)
}

func (m *memoryStore) Has(bucket int32) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.buckets[bucket] != nil
}

func (m *memoryStore) Drop(bucket int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.buckets, bucket)
}

func (m *memoryStore) Len(bucket int32) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if t := m.buckets[bucket]; t != nil {
		return t.Len()
	}
	return 0
}

// Key prefixes in a stage's store and changelog: the handler's state and
// the retry loop's, which keys by input topic and record key.
const (
	handlerPrefix = "s/"
	retryPrefix   = "r/"
)

// change is one key's new value in a batch; del marks a deletion.
type change struct {
	key string
	val []byte
	del bool
}

func lessChange(a, b change) bool { return a.key < b.key }

// batchState is one batch's view of the store: the committed state plus
// the batch's own changes, which reach the store (and the changelog) only
// if the batch commits.
type batchState struct {
	store   Store
	mu      sync.Mutex
	changes map[int32]*btree.BTreeG[change]
	// empty remembers which prefixes of a bucket hold no key, in the
	// store or the batch (see none); a change under one forgets it.
	empty map[bucketPrefix]bool
}

type bucketPrefix struct {
	bucket int32
	prefix string
}

func newBatchState(store Store) *batchState {
	return &batchState{store: store, changes: make(map[int32]*btree.BTreeG[change]), empty: make(map[bucketPrefix]bool)}
}

// none reports whether bucket holds no key under prefix, in the store or
// the batch: asked once per bucket and batch, so that most records of a
// stage with retries skip looking up a retry loop they do not have.
func (b *batchState) none(bucket int32, prefix string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := bucketPrefix{bucket, prefix}
	if _, ok := b.empty[k]; !ok {
		_, _, found := b.firstLocked(bucket, prefix)
		if found {
			return false
		}
		b.empty[k] = true
	}
	return true
}

// changed forgets that bucket held nothing under the prefixes of key.
// The caller holds b.mu.
func (b *batchState) changed(bucket int32, key string) {
	for k := range b.empty {
		if k.bucket == bucket && strings.HasPrefix(key, k.prefix) {
			delete(b.empty, k)
		}
	}
}

// bucket returns the State of bucket under prefix.
func (b *batchState) bucket(bucket int32, prefix string) *bucketState {
	return &bucketState{b: b, bucket: bucket, prefix: prefix}
}

func (b *batchState) get(bucket int32, key string) ([]byte, bool) {
	b.mu.Lock()
	if t := b.changes[bucket]; t != nil {
		if c, ok := t.Get(change{key: key}); ok {
			b.mu.Unlock()
			return c.val, !c.del
		}
	}
	b.mu.Unlock()
	return b.store.Get(bucket, key)
}

// set records a change and returns what the batch held for key before
// (had: whether it held anything), for an undo. Deleting a key that only
// the batch made is no change at all: the batch forgets the key, so its
// changelog gets no tombstone for it and First does not step over it (a
// handler that marks keys in Process and clears them in EndBatch, as the
// views do, would otherwise make each batch's First scans quadratic).
func (b *batchState) set(bucket int32, key string, val []byte, del bool) (prev change, had bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.changes[bucket]
	if t == nil {
		t = btree.NewG(btreeDegree, lessChange)
		b.changes[bucket] = t
	}
	b.changed(bucket, key)
	if del {
		if _, committed := b.store.Get(bucket, key); !committed {
			return t.Delete(change{key: key})
		}
	}
	return t.ReplaceOrInsert(change{key: key, val: val, del: del})
}

// unset puts back what the batch held for key before a change.
func (b *batchState) unset(bucket int32, key string, prev change, had bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.changes[bucket]
	b.changed(bucket, key)
	if had {
		t.ReplaceOrInsert(prev)
	} else {
		t.Delete(change{key: key})
	}
}

// first returns the smallest key with prefix: the smaller of the batch's
// smallest new key and the store's smallest key that the batch has not
// deleted. A store key the batch changed is never smaller than the
// batch's smallest new key, so the scan stops there.
func (b *batchState) first(bucket int32, prefix string) (string, []byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.firstLocked(bucket, prefix)
}

func (b *batchState) firstLocked(bucket int32, prefix string) (string, []byte, bool) {
	t := b.changes[bucket]
	var (
		newKey string
		newVal []byte
		newOK  bool
	)
	if t != nil {
		t.AscendGreaterOrEqual(change{key: prefix}, func(c change) bool {
			if !strings.HasPrefix(c.key, prefix) {
				return false
			}
			if c.del {
				return true
			}
			newKey, newVal, newOK = c.key, c.val, true
			return false
		})
	}
	var (
		oldKey string
		oldVal []byte
		oldOK  bool
	)
	b.store.Ascend(bucket, prefix, func(k string, v []byte) bool {
		if !strings.HasPrefix(k, prefix) {
			return false
		}
		if t != nil {
			if c, ok := t.Get(change{key: k}); ok {
				return c.del // deleted: look further; changed: newKey ≤ k
			}
		}
		oldKey, oldVal, oldOK = k, v, true
		return false
	})
	switch {
	case newOK && (!oldOK || newKey < oldKey):
		return newKey, newVal, true
	case oldOK:
		return oldKey, oldVal, true
	}
	return "", nil, false
}

// each calls fn for every change of the batch, bucket by bucket in
// order of appearance is not needed: callers sort if they care.
func (b *batchState) each(fn func(bucket int32, c change)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for bucket, t := range b.changes {
		t.Ascend(func(c change) bool {
			fn(bucket, c)
			return true
		})
	}
}

// apply stores a committed batch's changes in the buckets still owned.
func (b *batchState) apply() {
	b.each(func(bucket int32, c change) {
		if !b.store.Has(bucket) {
			return
		}
		if c.del {
			b.store.Set(bucket, c.key, nil)
		} else {
			b.store.Set(bucket, c.key, c.val)
		}
	})
}

// bucketState is one bucket's State under one key prefix. A trial (see
// trial) remembers how to undo its changes.
type bucketState struct {
	b      *batchState
	bucket int32
	prefix string
	undo   []undoEntry
	trial  bool
}

type undoEntry struct {
	key  string
	prev change
	had  bool
}

var _ State = (*bucketState)(nil)

// newTrial returns the State of one record's try: its changes join the
// batch's, and rollback takes them out again if the try fails.
func (b *batchState) newTrial(bucket int32, prefix string) *bucketState {
	return &bucketState{b: b, bucket: bucket, prefix: prefix, trial: true}
}

// rollback undoes the trial's changes, newest first.
func (s *bucketState) rollback() {
	for i := len(s.undo) - 1; i >= 0; i-- {
		u := s.undo[i]
		s.b.unset(s.bucket, u.key, u.prev, u.had)
	}
	s.undo = nil
}

func (s *bucketState) Get(key string) ([]byte, bool) { return s.b.get(s.bucket, s.prefix+key) }

func (s *bucketState) Put(key string, value []byte) {
	s.change(s.prefix+key, append([]byte{}, value...), false)
}

func (s *bucketState) Delete(key string) { s.change(s.prefix+key, nil, true) }

func (s *bucketState) change(key string, val []byte, del bool) {
	prev, had := s.b.set(s.bucket, key, val, del)
	if s.trial {
		s.undo = append(s.undo, undoEntry{key: key, prev: prev, had: had})
	}
}

func (s *bucketState) First(prefix string) (string, []byte, bool) {
	k, v, ok := s.b.first(s.bucket, s.prefix+prefix)
	return strings.TrimPrefix(k, s.prefix), v, ok
}
