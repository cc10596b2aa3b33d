package receipts

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

const testEvents = "ration.receipts.events"

type viewRig struct {
	t     *testing.T
	codec *schemas.Codec
	view  *statusView
	store processor.Store
	clock time.Time
}

func newViewRig(t *testing.T) *viewRig {
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(Receipt), new(ReceiptStatus), new(schemas.Event)}})
	r := &viewRig{t: t, codec: codec, store: processor.NewMemoryStore(), clock: t0}
	r.view = &statusView{codec: codec, events: testEvents, keepEnded: 10 * time.Minute, now: func() time.Time { return r.clock }}
	return r
}

// feed runs the view over the facts of h, and returns the statuses it
// wrote.
func (r *viewRig) feed(h *history) []ReceiptStatus {
	r.t.Helper()
	st := processor.StoreState(r.store, 0)
	var out []ReceiptStatus
	for _, f := range h.facts {
		rec := &kgo.Record{Key: []byte(h.base.ID)}
		var err error
		if f.receipt != nil {
			rec.Topic = TopicReceived
			rec.Value, err = r.codec.Encode(f.receipt)
		} else {
			rec.Topic = testEvents
			rec.Value, err = r.codec.Encode(f.event)
		}
		if err != nil {
			r.t.Fatal(err)
		}
		recs, err := r.view.Process(context.Background(), rec, st)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, o := range recs {
			var s ReceiptStatus
			if err := r.codec.Decode(o.Value, &s); err != nil {
				r.t.Fatal(err)
			}
			out = append(out, s)
		}
	}
	return out
}

func (r *viewRig) endBatch() {
	r.t.Helper()
	if _, err := r.view.EndBatch(context.Background(), 0, processor.StoreState(r.store, 0)); err != nil {
		r.t.Fatal(err)
	}
}

// TestViewWritesEachChange: the view writes a receipt's status when what
// it shows changes, with a growing version, and nothing for a repeat.
func TestViewWritesEachChange(t *testing.T) {
	r := newViewRig(t)
	h := newHistory("a").taxed(1).registered(2)
	got := r.feed(h)
	var statuses, prevs []string
	for i, s := range got {
		statuses, prevs = append(statuses, s.Status), append(prevs, s.PrevStatus)
		if s.Version != int64(i+1) {
			t.Errorf("version %d of change %d", s.Version, i+1)
		}
	}
	if want := "RECEIVED TAX_REGISTERED ACCEPTED"; strings.Join(statuses, " ") != want {
		t.Fatalf("statuses %v, want %s", statuses, want)
	}
	if want := " RECEIVED TAX_REGISTERED"; strings.Join(prevs, " ") != want {
		t.Fatalf("previous statuses %q, want %q", prevs, want)
	}
	if again := r.feed(h); len(again) != 0 {
		t.Fatalf("a repeat wrote %v", again)
	}
}

// TestViewForgetsEndedReceipts: a receipt is forgotten keepEnded after it
// ended; one still on its way is kept.
func TestViewForgetsEndedReceipts(t *testing.T) {
	r := newViewRig(t)
	r.feed(newHistory("done").taxed(1).registered(2))
	r.feed(newHistory("parked").event(StageTax, schemas.StatusReprocess, "transient", 1))
	r.clock = r.clock.Add(9 * time.Minute)
	r.endBatch()
	if r.store.Len(0) != 3 { // two statuses and one index entry
		t.Fatalf("%d keys before the end of keepEnded, want 3", r.store.Len(0))
	}
	r.clock = r.clock.Add(2 * time.Minute)
	r.endBatch()
	if _, ok := r.store.Get(0, statusPrefix+"done"); ok {
		t.Fatal("the accepted receipt is still kept")
	}
	if _, ok := r.store.Get(0, statusPrefix+"parked"); !ok || r.store.Len(0) != 1 {
		t.Fatalf("the parked receipt is gone, or more is left (%d keys)", r.store.Len(0))
	}
}
