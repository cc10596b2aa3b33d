package processor

import (
	"fmt"
	"slices"

	"github.com/rationhq/ration/schemas"
)

// keyLoop is the records of one key in the retry loop: their sequence
// numbers, oldest first, the delay tier each waits in (0: parked), the
// number the next record to join gets, and, while a held key's oldest
// record is parked, that record's item id.
type keyLoop struct {
	seqs   []int
	tiers  []int
	next   int
	parked string
}

func (k keyLoop) empty() bool { return len(k.seqs) == 0 }

// find returns the index of seq, or -1.
func (k keyLoop) find(seq int) int {
	if seq < 0 {
		return -1
	}
	return slices.Index(k.seqs, seq)
}

// join adds a new record behind the others, in tier, and returns its
// sequence number.
func (k *keyLoop) join(tier int) int {
	seq := k.next
	k.next++
	k.seqs, k.tiers = append(k.seqs, seq), append(k.tiers, tier)
	return seq
}

// remove takes the record at index i out of the loop.
func (k *keyLoop) remove(i int) {
	k.seqs, k.tiers = slices.Delete(k.seqs, i, i+1), slices.Delete(k.tiers, i, i+1)
}

// front puts a record back at the head of the loop (it failed again and
// stays the oldest), giving it a sequence number if it had none.
func (k *keyLoop) front(seq, tier int) int {
	if seq < 0 {
		seq = k.next
		k.next++
	}
	k.seqs, k.tiers = slices.Insert(k.seqs, 0, seq), slices.Insert(k.tiers, 0, tier)
	return seq
}

// action is what the retry loop does with a record.
type action uint8

const (
	actTry     action = iota // hand it to the handler
	actWait                  // send it round a delay tier behind an older record of its key
	actRelease               // the reprocessor gave up on the parked head of a held key: let the key go on
	actDrop                  // a give-up notice for a record that holds nothing: ignore it
)

// loopRules are a stage's retry settings as the loop needs them.
type loopRules struct {
	tiers int  // delay tiers; a failure after the last parks
	hold  bool // a parked oldest record keeps holding its key (ledgers)
}

// waitTier is the tier a follower waits in: its oldest record's, or the
// last tier while that one is parked.
func (r loopRules) waitTier(k keyLoop) int {
	if len(k.tiers) > 0 && k.tiers[0] > 0 {
		return k.tiers[0]
	}
	return r.tiers
}

// admit decides what happens to a record of a key whose loop is k (which
// it updates): only the oldest record of a key is tried; the others wait
// in its tier and come round again. It returns the action and, for a try,
// the record's sequence number (-1 if it is not in the loop), for a wait
// its sequence number and tier.
func (r loopRules) admit(k *keyLoop, m retryMeta, item string) (act action, seq, tier int) {
	if m.giveUp {
		if r.hold && k.parked != "" && k.parked == item && !k.empty() {
			k.remove(0)
			k.parked = ""
			return actRelease, -1, 0
		}
		return actDrop, -1, 0
	}
	switch i := k.find(m.seq); {
	case i > 0:
		t := r.waitTier(*k)
		k.tiers[i] = t
		return actWait, m.seq, t
	case i == 0:
		k.remove(0) // back from its tier, and the oldest: tried now
		return actTry, m.seq, 0
	case r.hold && k.parked != "" && k.parked == item && !k.empty():
		// The parked oldest record, sent again by the reprocessor.
		seq := k.seqs[0]
		k.remove(0)
		k.parked = ""
		return actTry, seq, 0
	case !k.empty():
		t := r.waitTier(*k)
		return actWait, k.join(t), t
	}
	return actTry, -1, 0
}

// failed updates k after the try of a record (sequence number seq, -1 if
// none) failed transiently for the attempts-th time: it stays the oldest
// of its key and waits in tier attempts, or after the last tier is
// parked; a parked record holds its key only under hold. It returns the
// record's sequence number and whether it is parked.
func (r loopRules) failed(k *keyLoop, seq, attempts int, item string) (int, bool) {
	if attempts > r.tiers {
		if r.hold {
			k.parked = item
			return k.front(seq, 0), true
		}
		return seq, true
	}
	return k.front(seq, attempts), false
}

// loopKey is a record's key in the retry loop's part of the state.
func loopKey(topic string, key []byte) string { return topic + "/" + string(key) }

// readLoop returns the loop stored under key, empty if none.
func readLoop(st *bucketState, codec *schemas.Codec, key string, tiers int) (keyLoop, error) {
	b, ok := st.Get(key)
	if !ok {
		return keyLoop{}, nil
	}
	var kb schemas.KeyBlock
	if err := codec.Decode(b, &kb); err != nil {
		return keyLoop{}, fmt.Errorf("retry state of %s: %w", key, err)
	}
	if len(kb.Seqs) != len(kb.Tiers) {
		return keyLoop{}, fmt.Errorf("retry state of %s: %d seqs, %d tiers", key, len(kb.Seqs), len(kb.Tiers))
	}
	for i, t := range kb.Tiers {
		if t > 0 {
			kb.Tiers[i] = min(t, tiers) // written with more tiers configured
		}
	}
	return keyLoop{seqs: kb.Seqs, tiers: kb.Tiers, next: kb.NextSeq, parked: kb.ParkedItem}, nil
}

// writeLoop stores k under key; an empty loop deletes it.
func writeLoop(st *bucketState, codec *schemas.Codec, key string, k keyLoop) error {
	if k.empty() && k.parked == "" {
		st.Delete(key)
		return nil
	}
	v, err := codec.Encode(&schemas.KeyBlock{Seqs: k.seqs, Tiers: k.tiers, NextSeq: k.next, ParkedItem: k.parked})
	if err != nil {
		return fmt.Errorf("encode retry state: %w", err)
	}
	st.Put(key, v)
	return nil
}
