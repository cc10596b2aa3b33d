package processor

import "strings"

// StoreState returns a State that reads and writes bucket of store
// directly, with no batch, no changelog and no rollback: for running a
// handler without Kafka (tests, benchmarks, replays). It loads bucket
// empty if store does not have it.
func StoreState(store Store, bucket int32) State {
	if !store.Has(bucket) {
		store.Init(bucket)
	}
	return storeState{store: store, bucket: bucket}
}

type storeState struct {
	store  Store
	bucket int32
}

func (s storeState) Get(key string) ([]byte, bool) { return s.store.Get(s.bucket, key) }

func (s storeState) Put(key string, value []byte) {
	s.store.Set(s.bucket, key, append([]byte{}, value...))
}

func (s storeState) Delete(key string) { s.store.Set(s.bucket, key, nil) }

func (s storeState) First(prefix string) (key string, value []byte, ok bool) {
	s.store.Ascend(s.bucket, prefix, func(k string, v []byte) bool {
		key, value, ok = k, v, strings.HasPrefix(k, prefix)
		return false
	})
	if !ok {
		return "", nil, false
	}
	return key, value, true
}
