package receipts

import (
	"cmp"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/kafkatable"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// live keeps, on every API process, what Kafka says of each receipt seen
// on its way lately: its latest status from the status view and its
// events from the stages. A client asks for a receipt it has just sent
// again and again until it ends; live answers those GETs from memory
// rather than with two ClickHouse queries each. It keeps a receipt for
// liveWindow after it was first seen; a later GET reads ClickHouse, which
// has it all by then (the sink's lag is seconds).
type live struct {
	window time.Duration
	now    func() time.Time
	// from is the earliest receipt live answers for, by when it was
	// received: one received before its followers started reading may
	// have events live never read (a receipt parked days ago and re-sent
	// now, say). The zero time: any.
	from time.Time

	mu    sync.Mutex
	byID  map[string]*liveReceipt
	order []string // ids by when they were first seen, for expiry
}

// liveReceipt is what Kafka said of a receipt.
type liveReceipt struct {
	seen   time.Time      // when live first heard of it
	status *ReceiptStatus // the latest version; nil until the first
	events []liveEvent    // in the order of its history
}

// liveEvent is an event and its record's place (sink.Src), which breaks
// ties in the history's order as the events table's event_id does.
type liveEvent struct {
	ration.ItemEvent
	src string
}

// liveWindow is how long a receipt stays in live: a minute, beyond the
// seconds most receipts take to end, and less than recentWindow, as live
// holds more of each.
const liveWindow = time.Minute

func newLive(window time.Duration) *live {
	return &live{window: window, now: time.Now, byID: make(map[string]*liveReceipt)}
}

// receipt returns id's entry, making it if new, and forgets those first
// seen before the window. The caller holds l.mu.
func (l *live) receipt(id string) *liveReceipt {
	now := l.now()
	cutoff := now.Add(-l.window)
	n := 0
	for n < len(l.order) && l.byID[l.order[n]].seen.Before(cutoff) {
		delete(l.byID, l.order[n])
		n++
	}
	l.order = l.order[n:]
	r, ok := l.byID[id]
	if !ok {
		r = &liveReceipt{seen: now}
		l.byID[id] = r
		l.order = append(l.order, id)
	}
	return r
}

// addStatus takes a version of a receipt's status; an older one than
// held changes nothing.
func (l *live) addStatus(s ReceiptStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.receipt(s.ID)
	if r.status == nil || s.Version > r.status.Version {
		r.status = &s
	}
}

// addEvent takes one of a receipt's events, read from record rec.
func (l *live) addEvent(e schemas.Event, rec *kgo.Record) {
	ev := liveEvent{ItemEvent: sink.ItemEvent(e), src: sink.Src(rec)}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.receipt(e.ItemID)
	r.events = append(r.events, ev)
	slices.SortStableFunc(r.events, historyOrder)
}

// historyOrder is the order of an item's history (sink.Reader.ItemHistory):
// by time, the offset of the record an event is about, the event's own
// record.
func historyOrder(a, b liveEvent) int {
	return cmp.Or(a.Time.Compare(b.Time.Time), cmp.Compare(a.SourceOffset, b.SourceOffset), cmp.Compare(a.src, b.src))
}

// view returns receipt id as its status and history say, if live has its
// status.
func (l *live) view(id string) (View, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.byID[id]
	if !ok || r.status == nil || r.seen.Before(l.now().Add(-l.window)) || r.status.ReceivedAt < l.from.UnixMilli() {
		return View{}, false
	}
	v := viewOf(*r.status)
	v.History = r.history()
	return v, true
}

// history is the receipt's events, as a view shows them.
func (r *liveReceipt) history() []ration.ItemEvent {
	h := make([]ration.ItemEvent, len(r.events))
	for i, e := range r.events {
		h[i] = e.ItemEvent
	}
	return h
}

// received returns receipt id, received as e says, as one the status
// view has not written of yet: RECEIVED, with the events live holds of
// it. It answers only while live follows Kafka, and only if live would
// hold the receipt's status had the view written one: received after
// live's followers started reading, and well inside the window, so that
// an entry first seen before the receipt's time by a clock running ahead
// of the API that stamped it is still kept. The answer is the read
// model's for a receipt the sink has not stored (routes.get), without its
// two queries: while the pipeline lags, clients asking after the
// receipts they just sent would otherwise load ClickHouse most when it
// is most behind.
func (l *live) received(id string, e recentEntry) (View, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.from.IsZero() || e.ReceivedAt.Before(l.from) || e.ReceivedAt.Before(l.now().Add(-l.window/2)) {
		return View{}, false // a live that follows nothing cannot tell a receipt has moved on
	}
	v := View{ID: id, Type: e.Type, Status: StatusReceived, ReceivedAt: ration.NewTimestamp(e.ReceivedAt), Digest: e.Digest,
		History: []ration.ItemEvent{}}
	if r, ok := l.byID[id]; ok {
		if r.status != nil {
			return View{}, false // view answers it
		}
		v.History = r.history()
	}
	return v, true
}

// followers return what keeps l current: a follower of the status view's
// records and one of the pipeline's events. They read from a window
// before the earliest receipt l answers for, so that l has every event of
// those even if the stages' clocks run behind this one's.
func (l *live) followers(codec *schemas.Codec, log *slog.Logger, opts ...kgo.Opt) []*kafkatable.Follower {
	l.from = l.now().Add(-l.window)
	since := l.from.Add(-l.window)
	statuses := kafkatable.New(TopicStatuses, func(rec *kgo.Record) {
		var s ReceiptStatus
		if err := codec.Decode(rec.Value, &s); err != nil {
			log.Error("live receipts: status skipped", "partition", rec.Partition, "offset", rec.Offset, "err", err)
			return
		}
		l.addStatus(s)
	}, log, opts...).Since(since)
	events := kafkatable.New(pipeline.Descriptor{Name: Name}.EventsTopic(), func(rec *kgo.Record) {
		var e schemas.Event
		if err := codec.Decode(rec.Value, &e); err != nil {
			log.Error("live receipts: event skipped", "partition", rec.Partition, "offset", rec.Offset, "err", err)
			return
		}
		l.addEvent(e, rec)
	}, log, opts...).Since(since)
	return []*kafkatable.Follower{statuses, events}
}

// viewOf is status s as the read model shows it (statusRows, then
// Reader.Receipt): both answers to a GET are the same.
func viewOf(s ReceiptStatus) View {
	return View{ID: s.ID, Type: s.Type, Status: Status(s.Status), ReceivedAt: stamp(uint64(s.ReceivedAt)),
		AcceptedAt: stamp(uint64(s.LogisticsRegisteredAt)), TaxRegistration: s.TaxRegistration,
		LogisticsRegistration: s.LogisticsRegistration, Reason: s.Reason, ParkedStage: parkedStage(s), Digest: s.Digest}
}
