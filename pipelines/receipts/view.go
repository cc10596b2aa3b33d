package receipts

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// statusView is the status view's handler: it folds every record of a
// receipt's path and the pipeline's status events into the receipt's
// ReceiptStatus, and writes it to ration.receipts.statuses at the end of
// each batch in which what it shows changed: its latest, with the status
// it last wrote as the previous one. In steady traffic that is nearly
// every change; when it catches up after a stall, in large batches, a
// receipt that passed several statuses meanwhile is one record (and one
// set of rows for the sink) instead of several, and receipts_by_status
// still unfiles each status written.
// It forgets a receipt keepEnded after the receipt ended (ACCEPTED,
// REJECTED, FAILED), so its state holds the receipts on their way and
// those just ended, not every receipt ever; nothing comes for a receipt
// after it ended but a repeat, which changes nothing.
type statusView struct {
	codec     *schemas.Codec
	events    string // the pipeline's events topic
	keepEnded time.Duration
	now       func() time.Time
}

var (
	_ processor.Handler    = (*statusView)(nil)
	_ processor.BatchEnder = (*statusView)(nil)
)

// Keys of the view's state: a receipt's status, an index of ended
// receipts by when they may be forgotten, and the receipts whose status
// the batch changed, each with the status it last wrote (kept only
// within a batch).
const (
	statusPrefix  = "s/"
	expiryPrefix  = "x/"
	changedPrefix = "c/"
)

func expiryKey(at int64, id string) string { return fmt.Sprintf("%s%013d/%s", expiryPrefix, at, id) }

// maxForgetPerBatch bounds the receipts one batch forgets, so that a
// backlog of ended receipts does not make one batch long.
const maxForgetPerBatch = 10_000

// Process implements processor.Handler.
func (v *statusView) Process(_ context.Context, rec *kgo.Record, st processor.State) ([]*kgo.Record, error) {
	s, err := v.get(st, string(rec.Key))
	if err != nil {
		return nil, err
	}
	before := s
	if rec.Topic == v.events {
		var e schemas.Event
		if err := v.codec.Decode(rec.Value, &e); err != nil {
			return nil, processor.Permanent(err)
		}
		s.applyEvent(&e)
	} else {
		var r Receipt
		if err := v.codec.Decode(rec.Value, &r); err != nil {
			return nil, processor.Permanent(err)
		}
		if !s.applyReceipt(&r) {
			return nil, nil // another body under the id
		}
	}
	if s.Digest == "" {
		// Events before any record of the receipt: kept for when it
		// comes, and forgotten like an ended receipt if it never does.
		if before.ParkedAt == 0 && before.RetriedAt == 0 && before.GaveUpAt == 0 {
			st.Put(expiryKey(v.now().Add(v.keepEnded).UnixMilli(), string(rec.Key)), nil)
		}
		return nil, v.put(st, string(rec.Key), &s)
	}
	s.Status = string(s.status())
	if s == before {
		return nil, nil // a repeat
	}
	if shown(s) == shown(before) {
		// Nothing a reader sees changed (a try failed, say): kept, not
		// written.
		return nil, v.put(st, string(rec.Key), &s)
	}
	if ended(Status(s.Status)) && !ended(Status(before.Status)) {
		st.Put(expiryKey(v.now().Add(v.keepEnded).UnixMilli(), s.ID), nil)
	}
	if _, ok := st.Get(changedPrefix + s.ID); !ok {
		st.Put(changedPrefix+s.ID, []byte(before.Status)) // as of the batch's start: the status last written
	}
	return nil, v.put(st, s.ID, &s)
}

// EndBatch implements processor.BatchEnder: it writes the status of each
// receipt the batch changed, and forgets the receipts that ended
// keepEnded ago (unless they moved on since).
func (v *statusView) EndBatch(_ context.Context, _ int32, st processor.State) ([]*kgo.Record, error) {
	var out []*kgo.Record
	err := processor.Drain(st, changedPrefix, func(id string, prev []byte) error {
		s, err := v.get(st, id)
		if err != nil {
			return err
		}
		s.Version++
		s.PrevStatus = string(prev)
		if err := v.put(st, id, &s); err != nil {
			return err
		}
		b, err := v.codec.Encode(&s)
		if err != nil {
			return fmt.Errorf("encode status of %s: %w", id, err)
		}
		out = append(out, &kgo.Record{Topic: TopicStatuses, Key: []byte(id), Value: b})
		return nil
	})
	if err != nil {
		return nil, err
	}
	now := v.now().UnixMilli()
	for range maxForgetPerBatch {
		k, _, ok := st.First(expiryPrefix)
		if !ok {
			break
		}
		rest := strings.TrimPrefix(k, expiryPrefix)
		at, id, _ := strings.Cut(rest, "/")
		ms, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("expiry index key %q: %w", k, err)
		}
		if ms > now {
			break
		}
		st.Delete(k)
		s, err := v.get(st, id)
		if err != nil {
			return nil, err
		}
		if s.Digest == "" || ended(Status(s.Status)) {
			st.Delete(statusPrefix + id)
		}
	}
	return out, nil
}

// shown is what readers of a status see: all but how it is folded.
func shown(s ReceiptStatus) ReceiptStatus {
	s.RetriedAt, s.PrevStatus, s.Version = 0, "", 0
	return s
}

// ended reports whether a receipt with status s is done with.
func ended(s Status) bool {
	return s == StatusAccepted || s == StatusRejected || s == StatusFailed
}

func (v *statusView) get(st processor.State, id string) (ReceiptStatus, error) {
	var s ReceiptStatus
	if b, ok := st.Get(statusPrefix + id); ok {
		if err := v.codec.Decode(b, &s); err != nil {
			return s, fmt.Errorf("status of %s: %w", id, err)
		}
	}
	return s, nil
}

func (v *statusView) put(st processor.State, id string, s *ReceiptStatus) error {
	b, err := v.codec.Encode(s)
	if err != nil {
		return fmt.Errorf("encode status of %s: %w", id, err)
	}
	st.Put(statusPrefix+id, b)
	return nil
}
