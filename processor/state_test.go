package processor

import (
	"fmt"
	"testing"
)

// TestBatchStateSeesItsOwnChanges: a batch reads its own changes over the
// committed state, and they reach the store only when applied.
func TestBatchStateSeesItsOwnChanges(t *testing.T) {
	store := NewMemoryStore()
	store.Init(0)
	store.Set(0, "s/a", []byte("1"))
	store.Set(0, "s/b", []byte("2"))

	b := newBatchState(store)
	st := b.bucket(0, handlerPrefix)
	st.Put("a", []byte("10"))
	st.Delete("b")
	st.Put("c", []byte("3"))
	for key, want := range map[string]string{"a": "10", "b": "", "c": "3"} {
		v, ok := st.Get(key)
		if (want == "") == ok || string(v) != want {
			t.Errorf("batch reads %s = %q (%v), want %q", key, v, ok, want)
		}
	}
	if v, _ := store.Get(0, "s/a"); string(v) != "1" {
		t.Fatalf("the store saw the batch's change before it was applied: %q", v)
	}
	b.apply()
	if v, _ := store.Get(0, "s/a"); string(v) != "10" {
		t.Errorf("after apply a = %q, want 10", v)
	}
	if _, ok := store.Get(0, "s/b"); ok {
		t.Error("after apply b is still there")
	}
}

// TestFirstMergesBatchAndStore: First is the smallest key under a prefix,
// whether it is committed, new in the batch, or behind keys the batch
// deleted.
func TestFirstMergesBatchAndStore(t *testing.T) {
	store := NewMemoryStore()
	store.Init(0)
	for i := range 5 {
		store.Set(0, fmt.Sprintf("s/w/%d", i*2), []byte{byte(i * 2)}) // w/0 w/2 w/4 w/6 w/8
	}
	store.Set(0, "s/x", []byte("other prefix"))
	for _, tc := range []struct {
		name string
		do   func(State)
		want string // "" for none
	}{
		{"committed", func(State) {}, "w/0"},
		{"new and smaller", func(st State) { st.Delete("w/0"); st.Put("w/1", nil) }, "w/1"},
		{"behind deletions", func(st State) { st.Delete("w/0"); st.Delete("w/2"); st.Delete("w/4") }, "w/6"},
		{"changed in the batch", func(st State) { st.Put("w/0", []byte("new")) }, "w/0"},
		{"all deleted", func(st State) {
			for i := range 5 {
				st.Delete(fmt.Sprintf("w/%d", i*2))
			}
		}, ""},
		{"all deleted, one new", func(st State) {
			for i := range 5 {
				st.Delete(fmt.Sprintf("w/%d", i*2))
			}
			st.Put("w/9", nil)
		}, "w/9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newBatchState(store).bucket(0, handlerPrefix)
			tc.do(st)
			k, _, ok := st.First("w/")
			if (tc.want == "") == ok || k != tc.want {
				t.Fatalf("First = %q (%v), want %q", k, ok, tc.want)
			}
		})
	}
}

// TestDeletingANewKeyLeavesNoChange: a key the batch made and deleted
// again is no change (no tombstone for the changelog, nothing for First
// to step over), while deleting a committed key is one, and a try that
// did either rolls back to what the batch held.
func TestDeletingANewKeyLeavesNoChange(t *testing.T) {
	store := NewMemoryStore()
	store.Init(0)
	store.Set(0, "s/a", []byte("committed"))
	b := newBatchState(store)
	st := b.bucket(0, handlerPrefix)
	for i := range 3 {
		st.Put(fmt.Sprintf("d/%d", i), nil)
	}
	for i := range 3 {
		st.Delete(fmt.Sprintf("d/%d", i))
	}
	st.Delete("a")
	var changes []string
	b.each(func(_ int32, c change) { changes = append(changes, fmt.Sprintf("%s del=%v", c.key, c.del)) })
	if len(changes) != 1 || changes[0] != "s/a del=true" {
		t.Fatalf("the batch's changes: %q, want only the deletion of s/a", changes)
	}
	if k, _, ok := st.First("d/"); ok {
		t.Fatalf("First after the new keys were deleted: %q", k)
	}

	st.Put("n", []byte("new"))
	try := b.newTrial(0, handlerPrefix)
	try.Delete("n")
	try.Put("a", []byte("again"))
	try.Delete("a")
	try.rollback()
	for key, want := range map[string]string{"n": "new", "a": ""} {
		v, ok := st.Get(key)
		if (want == "") == ok || string(v) != want {
			t.Errorf("after rollback %s = %q (%v), want %q", key, v, ok, want)
		}
	}
}

// TestDrain: Drain hands over the keys under a prefix in order, deleting
// each, leaves other keys alone, and stops at the first error.
func TestDrain(t *testing.T) {
	store := NewMemoryStore()
	store.Init(0)
	store.Set(0, "s/m/b", []byte("2"))
	store.Set(0, "s/n", []byte("other"))
	st := newBatchState(store).bucket(0, handlerPrefix)
	st.Put("m/a", []byte("1"))
	st.Put("m/c", []byte("3"))
	var got []string
	if err := Drain(st, "m/", func(k string, v []byte) error { got = append(got, k+"="+string(v)); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a=1", "b=2", "c=3"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("drained %v, want %v", got, want)
	}
	if k, _, ok := st.First("m/"); ok {
		t.Fatalf("%q left under the prefix", k)
	}
	if _, ok := st.Get("n"); !ok {
		t.Fatal("a key under another prefix was drained")
	}
	st.Put("m/x", nil)
	st.Put("m/y", nil)
	stop := fmt.Errorf("stop")
	if err := Drain(st, "m/", func(string, []byte) error { return stop }); err != stop {
		t.Fatalf("Drain returned %v, want the handler's error", err)
	}
	if k, _, _ := st.First("m/"); k != "m/y" {
		t.Fatalf("after an error at the first key, First is %q, want m/y", k)
	}
}

// TestRollbackUndoesATry: a failed try's changes leave the batch as it was
// before the try, whatever the batch had changed before it.
func TestRollbackUndoesATry(t *testing.T) {
	store := NewMemoryStore()
	store.Init(0)
	store.Set(0, "s/a", []byte("committed"))
	b := newBatchState(store)
	b.bucket(0, handlerPrefix).Put("b", []byte("earlier try"))

	try := b.newTrial(0, handlerPrefix)
	try.Put("a", []byte("x"))
	try.Put("b", []byte("y"))
	try.Put("c", []byte("z"))
	try.Delete("a")
	try.rollback()

	st := b.bucket(0, handlerPrefix)
	for key, want := range map[string]string{"a": "committed", "b": "earlier try", "c": ""} {
		v, ok := st.Get(key)
		if (want == "") == ok || string(v) != want {
			t.Errorf("after rollback %s = %q (%v), want %q", key, v, ok, want)
		}
	}
}

// TestPrefixesKeepStatesApart: the handler's keys and the retry loop's
// never meet.
func TestPrefixesKeepStatesApart(t *testing.T) {
	store := NewMemoryStore()
	store.Init(0)
	b := newBatchState(store)
	b.bucket(0, handlerPrefix).Put("k", []byte("handler"))
	b.bucket(0, retryPrefix).Put("k", []byte("retry"))
	if v, _ := b.bucket(0, handlerPrefix).Get("k"); string(v) != "handler" {
		t.Fatalf("handler's k = %q", v)
	}
	if k, _, _ := b.bucket(0, handlerPrefix).First(""); k != "k" {
		t.Fatalf("handler's First = %q, want k (without the runtime's prefix)", k)
	}
}

// TestApplySkipsRevokedBuckets: changes of a bucket revoked before its
// batch committed are not kept: its next owner restores it.
func TestApplySkipsRevokedBuckets(t *testing.T) {
	store := NewMemoryStore()
	store.Init(0)
	b := newBatchState(store)
	b.bucket(0, handlerPrefix).Put("k", []byte("v"))
	store.Drop(0)
	b.apply()
	if store.Has(0) {
		t.Fatal("apply brought back a dropped bucket")
	}
}

// TestStoreStateWritesThrough: a StoreState reads and writes its bucket
// of the store, keeps copies, and finds the first key of a prefix only
// when one has it.
func TestStoreStateWritesThrough(t *testing.T) {
	store := NewMemoryStore()
	st := StoreState(store, 3)
	v := []byte("1")
	st.Put("w/0002", v)
	st.Put("w/0001", []byte("2"))
	st.Put("x", []byte("3"))
	v[0] = 'X'
	if got, _ := store.Get(3, "w/0002"); string(got) != "1" {
		t.Fatalf("store has %q, want a copy of what was put", got)
	}
	if k, val, ok := st.First("w/"); !ok || k != "w/0001" || string(val) != "2" {
		t.Fatalf("First(w/) = %q %q %v", k, val, ok)
	}
	st.Delete("w/0001")
	st.Delete("w/0002")
	if k, _, ok := st.First("w/"); ok {
		t.Fatalf("First(w/) = %q after deleting every w/ key", k)
	}
	if _, ok := st.Get("x"); !ok || store.Len(3) != 1 {
		t.Fatalf("store holds %d keys, want x alone", store.Len(3))
	}
}

// TestNoneSeesTheStoreAndTheBatch: a prefix is empty until the store or
// the batch holds a key under it, including a change made after the
// first answer was remembered, and until a rolled-back try restores one.
func TestNoneSeesTheStoreAndTheBatch(t *testing.T) {
	store := NewMemoryStore()
	store.Init(0)
	store.Init(1)
	store.Set(1, "r/in/k", []byte("loop"))
	b := newBatchState(store)
	if !b.none(0, retryPrefix) || b.none(1, retryPrefix) {
		t.Fatalf("none: bucket 0 %v, bucket 1 %v; want true, false", b.none(0, retryPrefix), b.none(1, retryPrefix))
	}
	b.bucket(0, handlerPrefix).Put("x", []byte("1"))
	if !b.none(0, retryPrefix) {
		t.Fatal("a handler key made the retry prefix non-empty")
	}
	b.bucket(0, retryPrefix).Put("in/k", []byte("loop"))
	if b.none(0, retryPrefix) {
		t.Fatal("a retry key written in the batch is not seen")
	}
	b.bucket(0, retryPrefix).Delete("in/k")
	if !b.none(0, retryPrefix) {
		t.Fatal("a deleted retry key still counts")
	}
	trial := b.newTrial(0, retryPrefix)
	trial.Put("in/j", []byte("loop"))
	trial.rollback()
	if !b.none(0, retryPrefix) {
		t.Fatal("a rolled-back retry key still counts")
	}
}
