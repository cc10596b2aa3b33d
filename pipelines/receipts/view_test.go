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

// batch runs the view over facts of receipt id as one batch, and returns
// the statuses it wrote.
func (r *viewRig) batch(id string, facts ...fact) []ReceiptStatus {
	r.t.Helper()
	st := processor.StoreState(r.store, 0)
	for _, f := range facts {
		rec := &kgo.Record{Key: []byte(id)}
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
		if recs, err := r.view.Process(context.Background(), rec, st); err != nil || len(recs) != 0 {
			r.t.Fatalf("Process wrote %d records (%v); the view writes at the end of a batch", len(recs), err)
		}
	}
	recs, err := r.view.EndBatch(context.Background(), 0, st)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []ReceiptStatus
	for _, o := range recs {
		var s ReceiptStatus
		if err := r.codec.Decode(o.Value, &s); err != nil {
			r.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// feed runs the view over the facts of h, a batch each, and returns the
// statuses it wrote.
func (r *viewRig) feed(h *history) []ReceiptStatus {
	r.t.Helper()
	var out []ReceiptStatus
	for _, f := range h.facts {
		out = append(out, r.batch(h.base.ID, f)...)
	}
	return out
}

func (r *viewRig) endBatch() {
	r.t.Helper()
	if _, err := r.view.EndBatch(context.Background(), 0, processor.StoreState(r.store, 0)); err != nil {
		r.t.Fatal(err)
	}
}

// statusesOf are the statuses and previous statuses of got, and whether
// their versions count up from first.
func statusesOf(got []ReceiptStatus, first int64) (statuses, prevs string, counted bool) {
	var ss, ps []string
	counted = true
	for i, s := range got {
		ss, ps = append(ss, s.Status), append(ps, s.PrevStatus)
		counted = counted && s.Version == first+int64(i)
	}
	return strings.Join(ss, " "), strings.Join(ps, " "), counted
}

// TestViewWritesEachChange: the view writes a receipt's status when what
// it shows changed in a batch, with a growing version and the status it
// wrote before, and nothing for a repeat.
func TestViewWritesEachChange(t *testing.T) {
	r := newViewRig(t)
	h := newHistory("a").taxed(1).registered(2)
	statuses, prevs, counted := statusesOf(r.feed(h), 1)
	if want := "RECEIVED TAX_REGISTERED ACCEPTED"; statuses != want || !counted {
		t.Fatalf("statuses %q (versions from 1: %v), want %q", statuses, counted, want)
	}
	if want := " RECEIVED TAX_REGISTERED"; prevs != want {
		t.Fatalf("previous statuses %q, want %q", prevs, want)
	}
	if again := r.feed(h); len(again) != 0 {
		t.Fatalf("a repeat wrote %v", again)
	}
}

// TestViewWritesOncePerBatch: a receipt that passes several statuses in
// one batch is written once, as it ends the batch, with the status last
// written before it as the previous one, so that receipts_by_status
// unfiles it from there; a batch that changes nothing it shows writes
// nothing.
func TestViewWritesOncePerBatch(t *testing.T) {
	r := newViewRig(t)
	h := newHistory("a").taxed(1).registered(2)
	statuses, prevs, counted := statusesOf(r.batch("a", h.facts[:2]...), 1)
	if statuses != "TAX_REGISTERED" || prevs != "" || !counted {
		t.Fatalf("first batch wrote %q after %q (versions from 1: %v), want TAX_REGISTERED after nothing", statuses, prevs, counted)
	}
	retried := newHistory("a").event(StageLogistics, schemas.StatusError, "transient", 2)
	if got := r.batch("a", retried.facts[1]); len(got) != 0 {
		t.Fatalf("a failed try, which shows nothing new, wrote %v", got)
	}
	statuses, prevs, counted = statusesOf(r.batch("a", h.facts[2]), 2)
	if statuses != "ACCEPTED" || prevs != "TAX_REGISTERED" || !counted {
		t.Fatalf("second batch wrote %q after %q (versions from 2: %v), want ACCEPTED after TAX_REGISTERED", statuses, prevs, counted)
	}
	if _, ok := r.store.Get(0, changedPrefix+"a"); ok {
		t.Fatal("the batch's mark of a changed receipt outlived the batch")
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
