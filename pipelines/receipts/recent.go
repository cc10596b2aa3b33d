package receipts

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatable"
	"github.com/rationhq/ration/schemas"
)

// recent remembers the receipts received in the last window, on every API
// process, from ration.receipts.received: a receipt is found (and its
// repeat told from a conflict) from the moment its POST is answered,
// before the sink has stored it. The window covers the sink's lag many
// times over; what is older is in ClickHouse.
type recent struct {
	window time.Duration
	now    func() time.Time
	follow *kafkatable.Follower // nil until follower is called

	mu    sync.Mutex
	byID  map[string]recentEntry
	order []string // ids by when they arrived, for expiry
}

// recentEntry is what the index knows of a receipt.
type recentEntry struct {
	Type, Digest string
	ReceivedAt   time.Time
}

// recentWindow is how long a receipt stays in the index.
const recentWindow = 5 * time.Minute

func newRecent(window time.Duration) *recent {
	return &recent{window: window, now: time.Now, byID: make(map[string]recentEntry)}
}

// add remembers a receipt (the first body under its id; a later one is
// the pipeline's to drop) and forgets those older than the window.
func (r *recent) add(id string, e recentEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byID[id]; !ok {
		r.byID[id] = e
		r.order = append(r.order, id)
	}
	cutoff := r.now().Add(-r.window)
	n := 0
	for n < len(r.order) && r.byID[r.order[n]].ReceivedAt.Before(cutoff) {
		delete(r.byID, r.order[n])
		n++
	}
	r.order = r.order[n:]
}

// get returns what the index knows of id.
func (r *recent) get(id string) (recentEntry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byID[id]
	return e, ok
}

// catchUpWait bounds how long settled waits for the index to catch up;
// it takes milliseconds while Kafka answers.
const catchUpWait = time.Second

// settled returns what the index knows of id once it has read every
// receipt received until now, on any API process: one another process
// took a moment ago, and this one's follower has not read yet, is found
// too. It asks Kafka for the topic's end offsets, so it is for an id the
// index does not know, before answering that no such receipt exists;
// if Kafka cannot answer within catchUpWait, it answers from what the
// index holds.
func (r *recent) settled(ctx context.Context, id string) (recentEntry, bool) {
	if e, ok := r.get(id); ok || r.follow == nil {
		return e, ok
	}
	ctx, cancel := context.WithTimeout(ctx, catchUpWait)
	defer cancel()
	_ = r.follow.CatchUp(ctx) // on failure, the index as it is
	return r.get(id)
}

// follower returns what keeps r current: a follower of the receipts
// received in the window and then of every new one; r is ready once it
// has read what was there when it started.
func (r *recent) follower(codec *schemas.Codec, log *slog.Logger, opts ...kgo.Opt) *kafkatable.Follower {
	r.follow = kafkatable.New(TopicReceived, func(rec *kgo.Record) {
		var rc Receipt
		if err := codec.Decode(rec.Value, &rc); err != nil {
			log.Error("recent receipts: record skipped", "partition", rec.Partition, "offset", rec.Offset, "err", err)
			return
		}
		r.add(rc.ID, recentEntry{Type: rc.Type, Digest: rc.Digest, ReceivedAt: rc.ReceivedAt})
	}, log, opts...).Since(r.now().Add(-r.window))
	return r.follow
}
