package processor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaread"
)

// restore loads, from the changelog, the state of the buckets of recs that
// this worker has not read since it was assigned them, and with them that
// of every other owned bucket not read yet: one read after a rebalance,
// not one per batch. It reads read-committed up to the changelog's end,
// so a previous owner's open transaction holds the read back until it
// ends and nothing it committed is missed. A bucket of recs this worker
// no longer owns is not loaded; a release during the read drops what was
// loaded (the memory store ignores Set on a dropped bucket).
func (s *Stage) restore(ctx context.Context, recs []*kgo.Record) error {
	if s.store == nil {
		return nil
	}
	s.ownMu.Lock()
	owned := s.prio.ownedExcept(nil)
	var missing []int32
	add := func(p int32) {
		if !s.store.Has(p) && !slices.Contains(missing, p) {
			missing = append(missing, p)
		}
	}
	for _, r := range recs {
		if slices.Contains(owned[r.Topic], r.Partition) {
			add(r.Partition)
		}
	}
	if len(missing) == 0 {
		s.ownMu.Unlock()
		return nil
	}
	for _, ps := range owned {
		for _, p := range ps {
			add(p)
		}
	}
	slices.Sort(missing)
	for _, p := range missing {
		s.store.Init(p)
	}
	s.ownMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SessionTimeout)
	defer cancel()
	keys, start := 0, time.Now()
	err := kafkaread.ToEnd(ctx, s.deps.Kafka, map[string][]int32{s.cfg.ChangelogTopic: missing}, func(r *kgo.Record) error {
		keys++
		s.store.Set(r.Partition, string(r.Key), r.Value) // a tombstone's nil value deletes
		return nil
	})
	if err != nil {
		for _, p := range missing {
			s.store.Drop(p)
		}
		return fmt.Errorf("reading changelog %s: %w", s.cfg.ChangelogTopic, err)
	}
	took := time.Since(start)
	s.deps.Metrics.observeRestore(s.labels, keys, took)
	s.log.Info("state restored", "buckets", missing, "changelog_records", keys, "took", took.Round(time.Millisecond))
	return nil
}
