package sink

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// partition names one topic partition.
type partition struct {
	topic string
	id    int32
}

// pending is what one partition consumed since the last flush.
type pending struct {
	rows    []Row
	records int             // consumed, stored or skipped
	next    kgo.EpochOffset // the offset to commit once rows are stored
}

// buffer holds consumed records until a flush stores them. It keeps rows
// per partition so that a revoked partition's rows can be dropped: they
// were not committed, and the partition's next owner reads them again.
type buffer struct {
	parts   map[partition]*pending
	records int       // records consumed, stored or skipped
	oldest  time.Time // when the first of them arrived; zero when empty
}

func newBuffer() *buffer { return &buffer{parts: make(map[partition]*pending)} }

// add records that r was consumed with its rows, none for a record that is
// skipped (its offset is still committed, so it is not read again).
func (b *buffer) add(r *kgo.Record, rows []Row, now time.Time) {
	p := partition{r.Topic, r.Partition}
	pp := b.parts[p]
	if pp == nil {
		pp = &pending{}
		b.parts[p] = pp
	}
	pp.rows = append(pp.rows, rows...)
	pp.records++
	pp.next = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
	if b.records == 0 {
		b.oldest = now
	}
	b.records++
}

// due reports whether a flush is due at now.
func (b *buffer) due(now time.Time, batchRows int, interval time.Duration) bool {
	return b.records >= batchRows || (b.records > 0 && !now.Before(b.oldest.Add(interval)))
}

// deadline is when the buffer must be flushed, zero when it is empty.
func (b *buffer) deadline(interval time.Duration) time.Time {
	if b.records == 0 {
		return time.Time{}
	}
	return b.oldest.Add(interval)
}

// drop forgets what the given partitions consumed.
func (b *buffer) drop(lost map[string][]int32) {
	for topic, ids := range lost {
		for _, id := range ids {
			p := partition{topic, id}
			if pp := b.parts[p]; pp != nil {
				b.records -= pp.records
				delete(b.parts, p)
			}
		}
	}
	if b.records == 0 {
		b.oldest = time.Time{}
	}
}

// batch is a buffer's content taken for one flush.
type batch struct {
	rows    map[*Table][][]any
	count   int
	offsets map[string]map[int32]kgo.EpochOffset
}

// take empties the buffer into a batch.
func (b *buffer) take() batch {
	bt := batch{rows: make(map[*Table][][]any), offsets: make(map[string]map[int32]kgo.EpochOffset)}
	for p, pp := range b.parts {
		for _, rw := range pp.rows {
			bt.rows[rw.Table] = append(bt.rows[rw.Table], rw.Values)
			bt.count++
		}
		if bt.offsets[p.topic] == nil {
			bt.offsets[p.topic] = make(map[int32]kgo.EpochOffset)
		}
		bt.offsets[p.topic][p.id] = pp.next
	}
	b.parts = make(map[partition]*pending)
	b.records, b.oldest = 0, time.Time{}
	return bt
}
