package processor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaread"
	"github.com/rationhq/ration/schemas"
)

// keyLoop is the records of one key in the retry loop: their sequence
// numbers, oldest first, the delay tier each waits in, and the number the
// next record to join gets.
type keyLoop struct {
	seqs  []int
	tiers []int
	next  int
}

func (k keyLoop) clone() keyLoop {
	return keyLoop{seqs: slices.Clone(k.seqs), tiers: slices.Clone(k.tiers), next: k.next}
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

// blocks knows, for every owned input partition, which records of each
// key are in the retry loop. It is the in-memory copy of the partition's
// changelog (partition p of the compacted topic <input>.blocked): every
// change is written there in the transaction that makes it, and a worker
// that is assigned a partition reads the changelog before it processes the
// partition's first record.
type blocks struct {
	tiers int
	mu    sync.Mutex
	parts map[tp]map[string]keyLoop // restored partitions
}

func newBlocks(tiers int) *blocks {
	return &blocks{tiers: tiers, parts: make(map[tp]map[string]keyLoop)}
}

// missing returns the partitions of parts whose state is not loaded, once
// each.
func (b *blocks) missing(parts []tp) []tp {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []tp
	for _, k := range parts {
		if _, ok := b.parts[k]; !ok && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// install sets the state of restored partitions.
func (b *blocks) install(states map[tp]map[string]keyLoop) {
	b.mu.Lock()
	defer b.mu.Unlock()
	maps.Copy(b.parts, states)
}

// drop forgets partitions this worker no longer owns; whoever owns them
// next reads their changelog.
func (b *blocks) drop(parts map[string][]int32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for t, ps := range parts {
		for _, p := range ps {
			delete(b.parts, tp{t, p})
		}
	}
}

// apply stores a committed batch's changes.
func (b *blocks) apply(v *blockView) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, loop := range v.changed {
		keys := b.parts[k.tp]
		if keys == nil {
			continue // revoked meanwhile
		}
		if loop.empty() {
			delete(keys, k.key)
		} else {
			keys[k.key] = loop
		}
	}
}

type tpKey struct {
	tp
	key string
}

// blockView is one batch's view of blocks: the committed state plus the
// batch's own changes, which reach blocks only if the batch commits.
type blockView struct {
	b       *blocks
	mu      sync.Mutex
	changed map[tpKey]keyLoop
}

func (b *blocks) view() *blockView {
	return &blockView{b: b, changed: make(map[tpKey]keyLoop)}
}

// get returns a copy of rec's key's loop.
func (v *blockView) get(rec *kgo.Record) keyLoop {
	k := tpKey{tp{rec.Topic, rec.Partition}, string(rec.Key)}
	v.mu.Lock()
	l, ok := v.changed[k]
	v.mu.Unlock()
	if !ok {
		v.b.mu.Lock()
		l = v.b.parts[k.tp][k.key]
		v.b.mu.Unlock()
	}
	return l.clone()
}

// set records the batch's new loop for rec's key.
func (v *blockView) set(rec *kgo.Record, l keyLoop) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.changed[tpKey{tp{rec.Topic, rec.Partition}, string(rec.Key)}] = l
}

// changelog returns the record that stores a key's loop: a tombstone once
// it is empty. It goes to the input's partition number explicitly (the
// stage's partitioner leaves changelog records where they are put), so
// restoring partition p reads exactly p's keys.
func changelog(codec *schemas.Codec, rec *kgo.Record, l keyLoop) (*kgo.Record, error) {
	out := &kgo.Record{Topic: schemas.BlockedTopic(rec.Topic), Partition: rec.Partition, Key: rec.Key}
	if l.empty() {
		return out, nil
	}
	v, err := codec.Encode(&schemas.KeyBlock{Seqs: l.seqs, Tiers: l.tiers, NextSeq: l.next})
	if err != nil {
		return nil, fmt.Errorf("encode key block: %w", err)
	}
	out.Value = v
	return out, nil
}

// restore reads the changelog partitions of parts, read-committed, up to
// their current ends. A transaction of a previous owner that is still open
// holds the read back until it ends, so nothing it wrote is missed.
func restore(ctx context.Context, kafka []kgo.Opt, codec *schemas.Codec, tiers int, parts []tp) (map[tp]map[string]keyLoop, error) {
	states := make(map[tp]map[string]keyLoop, len(parts))
	logs := make(map[string][]int32) // changelog partition p holds input partition p's keys
	input := make(map[string]string) // changelog topic -> input topic
	for _, p := range parts {
		states[p] = make(map[string]keyLoop)
		lt := schemas.BlockedTopic(p.topic)
		logs[lt] = append(logs[lt], p.partition)
		input[lt] = p.topic
	}
	err := kafkaread.ToEnd(ctx, kafka, logs, func(r *kgo.Record) error {
		keys := states[tp{input[r.Topic], r.Partition}]
		if r.Value == nil {
			delete(keys, string(r.Key))
			return nil
		}
		var kb schemas.KeyBlock
		if err := codec.Decode(r.Value, &kb); err != nil {
			return err
		}
		if len(kb.Seqs) != len(kb.Tiers) {
			return fmt.Errorf("%d seqs, %d tiers", len(kb.Seqs), len(kb.Tiers))
		}
		for i := range kb.Tiers {
			kb.Tiers[i] = min(max(kb.Tiers[i], 1), tiers) // written with other tiers configured
		}
		keys[string(r.Key)] = keyLoop{seqs: kb.Seqs, tiers: kb.Tiers, next: kb.NextSeq}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading changelogs: %w", err)
	}
	return states, nil
}
