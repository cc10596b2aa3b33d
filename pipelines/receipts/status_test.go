package receipts

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rationhq/ration/schemas"
)

// fact is one record or event about a receipt, as the status view sees it.
type fact struct {
	receipt *Receipt
	event   *schemas.Event
}

func (s *ReceiptStatus) apply(f fact) {
	if f.receipt != nil {
		s.applyReceipt(f.receipt)
	} else {
		s.applyEvent(f.event)
	}
}

func foldAll(fs []fact) ReceiptStatus {
	var s ReceiptStatus
	for _, f := range fs {
		s.apply(f)
	}
	s.Status = string(s.status())
	return s
}

var t0 = time.UnixMilli(1_764_000_000_000).UTC()

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// history builds a receipt's facts: received, then any of taxed, parked
// in a stage, re-sent, given up, registered, rejected.
type history struct {
	base  Receipt
	facts []fact
}

func newHistory(id string) *history {
	h := &history{base: Receipt{ID: id, Client: "c", ReceiptID: id, Type: "retail", ContentType: ContentJSON, Digest: "d-" + id, ReceivedAt: at(0)}}
	r := h.base
	h.facts = append(h.facts, fact{receipt: &r})
	return h
}

func (h *history) taxed(s int) *history {
	r := h.base
	r.TaxRegistration, r.TaxRegisteredAt = "TAX-"+h.base.ID, at(s)
	h.base = r
	h.facts = append(h.facts, fact{receipt: &r})
	return h
}

func (h *history) registered(s int) *history {
	r := h.base
	r.LogisticsRegistration, r.LogisticsRegisteredAt = "LOG-"+h.base.ID, at(s)
	h.facts = append(h.facts, fact{receipt: &r})
	return h
}

func (h *history) rejected(s int) *history {
	r := h.base
	r.Reason, r.RejectedAt = "refused", at(s)
	h.facts = append(h.facts, fact{receipt: &r})
	return h
}

func (h *history) event(stage string, st schemas.Status, class string, s int) *history {
	h.facts = append(h.facts, fact{event: &schemas.Event{ItemID: h.base.ID, Stage: stage, Status: st, ErrorClass: class,
		Error: fmt.Sprintf("%s failed at %d", stage, s), Time: at(s)}})
	return h
}

// TestStatusOfEachHistory: the status each kind of history ends in.
func TestStatusOfEachHistory(t *testing.T) {
	for want, h := range map[Status]*history{
		StatusReceived:      newHistory("a"),
		StatusTaxRegistered: newHistory("b").taxed(1),
		StatusAccepted:      newHistory("c").taxed(1).registered(2),
		StatusRejected:      newHistory("d").taxed(1).rejected(2).event("logistics", schemas.StatusFailed, "rejected", 2),
		StatusParked:        newHistory("e").event("tax", schemas.StatusError, "transient", 1).event("tax", schemas.StatusReprocess, "transient", 2),
		StatusFailed:        newHistory("f").event("tax", schemas.StatusReprocess, "transient", 2).event("tax", schemas.StatusFailed, "transient", 3),
	} {
		if got := foldAll(h.facts); Status(got.Status) != want {
			t.Errorf("%s: %s, want %s (%+v)", h.base.ID, got.Status, want, got)
		}
	}
	// Parked, re-sent by the reprocessor, then registered: no longer parked.
	h := newHistory("g").event("logistics", schemas.StatusReprocess, "transient", 2).event(reprocessStage, schemas.StatusSuccess, "", 3)
	if got := foldAll(h.facts); Status(got.Status) != StatusReceived {
		t.Errorf("re-sent: %s", got.Status)
	}
	h.taxed(4)
	if got := foldAll(h.facts); Status(got.Status) != StatusTaxRegistered || got.ParkedStage != "logistics" {
		t.Errorf("re-sent and taxed: %+v", got)
	}
	// A second body under the same id is left out.
	h = newHistory("h")
	other := h.base
	other.Digest, other.TaxRegistration, other.TaxRegisteredAt = "other", "TAX-other", at(5)
	h.facts = append(h.facts, fact{receipt: &other})
	if got := foldAll(h.facts); Status(got.Status) != StatusReceived || got.TaxRegistration != "" {
		t.Errorf("a second body was taken: %+v", got)
	}
}

// TestFoldIgnoresOrderAndRepeats: the status view may read a receipt's
// records from its several topics in any order, some twice; the status it
// ends with is the same.
func TestFoldIgnoresOrderAndRepeats(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	stages := []string{"tax", "logistics"}
	for i := range 500 {
		h := newHistory("r")
		s := 1
		for range r.IntN(4) {
			s += r.IntN(3) // ties too
			stage := stages[r.IntN(2)]
			switch r.IntN(4) {
			case 0:
				h.event(stage, schemas.StatusError, "transient", s)
			case 1:
				h.event(stage, schemas.StatusReprocess, "transient", s)
			case 2:
				h.event(reprocessStage, schemas.StatusSuccess, "", s)
			case 3:
				h.event(stage, schemas.StatusFailed, "transient", s)
			}
		}
		switch r.IntN(4) {
		case 1:
			h.taxed(s + 1)
		case 2:
			h.taxed(s + 1).registered(s + 2)
		case 3:
			h.taxed(s + 1).rejected(s + 2)
		}
		want := foldAll(h.facts)
		for range 5 {
			fs := append([]fact{}, h.facts...)
			for _, f := range h.facts {
				if r.IntN(3) == 0 {
					fs = append(fs, f)
				}
			}
			r.Shuffle(len(fs), func(a, b int) { fs[a], fs[b] = fs[b], fs[a] })
			if got := foldAll(fs); got != want {
				t.Fatalf("history %d: in another order %+v\nwant %+v", i, got, want)
			}
		}
	}
}
