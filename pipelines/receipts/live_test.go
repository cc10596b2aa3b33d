package receipts

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// liveEvents are a parked receipt's events as records of the events
// topic at offsets 0, 1, …, given out of their history's order: a try
// that failed twice (the second with a retry count too large for the
// events table), the park, the reprocessor's re-send, and a success in
// the same millisecond as the re-send, about a later record.
func liveEvents(t *testing.T, codec *schemas.Codec, id string) []*kgo.Record {
	t.Helper()
	ev := func(stage string, st schemas.Status, ms int64, srcOffset int64, retries int) schemas.Event {
		return schemas.Event{ItemID: id, Pipeline: Name, Stage: stage, Status: st, Attempt: 1, RetryCount: retries,
			Worker: "w1", SourceTopic: TopicReceived, SourcePartition: 3, SourceOffset: srcOffset,
			Time: t0.Add(time.Duration(ms)*time.Millisecond + 123*time.Microsecond)}
	}
	events := []schemas.Event{
		ev(StageTax, schemas.StatusError, 10, 7, 0),
		ev(StageTax, schemas.StatusReprocess, 30, 7, 2),
		ev(StageTax, schemas.StatusError, 20, 7, math.MaxUint16+5),
		ev(reprocessStage, schemas.StatusSuccess, 40, 7, 0),
		ev(StageTax, schemas.StatusSuccess, 40, 9, 0),
	}
	topic := pipeline.Descriptor{Name: Name}.EventsTopic()
	recs := make([]*kgo.Record, len(events))
	for i := range events {
		b, err := codec.Encode(&events[i])
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = &kgo.Record{Topic: topic, Partition: 3, Offset: int64(i), Key: []byte(id), Value: b}
	}
	return recs
}

// TestLiveAnswersAsTheReadModel: what live answers for a receipt, from
// its status records and events, is what ClickHouse answers once the sink
// stored the same records: for a receipt in each status, and a history
// given out of order.
func TestLiveAnswersAsTheReadModel(t *testing.T) {
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(ReceiptStatus), new(schemas.Event)}})
	conn, db := openDB(t)
	reader, err := NewReader(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	history, err := sink.OpenReader(context.Background(), sink.Target{ClickHouse: chtest.Shared(t).Addr(), Database: db})
	if err != nil {
		t.Fatal(err)
	}
	defer history.Close()
	ms := func(s int) int64 { return at(s).UnixMilli() }
	base := ReceiptStatus{Client: "c", Type: "retail", ContentType: ContentJSON, ReceivedAt: ms(0), Version: 1}
	with := func(id string, f func(*ReceiptStatus)) ReceiptStatus {
		s := base
		s.ID, s.ReceiptID, s.Digest = ID("c", id), id, "d-"+id
		f(&s)
		return s
	}
	statuses := []ReceiptStatus{
		with("received", func(s *ReceiptStatus) { s.Status = string(StatusReceived) }),
		with("taxed", func(s *ReceiptStatus) {
			s.Status, s.TaxRegistration, s.TaxRegisteredAt, s.Version = string(StatusTaxRegistered), "TAX-1", ms(1), 2
		}),
		with("accepted", func(s *ReceiptStatus) {
			s.Status, s.TaxRegistration, s.TaxRegisteredAt = string(StatusAccepted), "TAX-2", ms(1)
			s.LogisticsRegistration, s.LogisticsRegisteredAt, s.Version = "LOG-2", ms(2), 3
		}),
		with("parked", func(s *ReceiptStatus) {
			s.Status, s.ParkedAt, s.ParkedStage, s.ParkError, s.Version = string(StatusParked), ms(3), StageTax, "down", 2
		}),
		with("rejected", func(s *ReceiptStatus) {
			s.Status, s.Reason, s.RejectedAt, s.Version = string(StatusRejected), "refused", ms(1), 2
		}),
	}
	l := newLive(liveWindow)
	ctx := context.Background()
	var rows []sink.Row
	for _, s := range statuses {
		older := s
		older.Version, older.Status = 0, string(StatusReceived)
		l.addStatus(s)
		l.addStatus(older) // an older version changes nothing
		rows = append(rows, statusRowsOf(t, codec, s)...)
	}
	parked := statuses[3].ID
	events := liveEvents(t, codec, parked)
	for _, rec := range events {
		var e schemas.Event
		if err := codec.Decode(rec.Value, &e); err != nil {
			t.Fatal(err)
		}
		l.addEvent(e, rec)
		rs, err := sink.EventsMapping(rec.Topic).Rows(codec, rec)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, rs...)
	}
	if err := sink.Insert(ctx, conn, db, rows); err != nil {
		t.Fatal(err)
	}
	for _, s := range statuses {
		got, ok := l.view(s.ID)
		if !ok {
			t.Fatalf("live has no view of %s", s.ID)
		}
		want, err := reader.Receipt(ctx, s.Client, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want.History, err = history.ItemHistory(ctx, Name, s.ID, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if len(want.History) == 0 {
			want.History = nil
		}
		if len(got.History) == 0 {
			got.History = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nlive       %+v\nClickHouse %+v", s.ID, got, want)
		}
	}
	if v, _ := l.view(parked); len(v.History) != len(events) {
		t.Fatalf("the parked receipt's history has %d events, want %d", len(v.History), len(events))
	}
}

// TestLiveForgetsAfterItsWindow: a receipt is answered for the window
// after live first heard of it, then left to ClickHouse, and forgotten
// once later receipts come; one with no status yet is not answered.
func TestLiveForgetsAfterItsWindow(t *testing.T) {
	clock := t0
	l := newLive(time.Minute)
	l.now = func() time.Time { return clock }
	l.addEvent(schemas.Event{ItemID: "c:early", Stage: StageTax, Status: schemas.StatusSuccess, Time: clock}, &kgo.Record{})
	if _, ok := l.view("c:early"); ok {
		t.Fatal("a receipt with events and no status yet was answered")
	}
	l.addStatus(ReceiptStatus{ID: "c:early", Status: string(StatusTaxRegistered), Version: 1})
	if v, ok := l.view("c:early"); !ok || v.Status != StatusTaxRegistered || len(v.History) != 1 {
		t.Fatalf("within the window: %+v, %v", v, ok)
	}
	clock = clock.Add(time.Minute + time.Millisecond)
	if _, ok := l.view("c:early"); ok {
		t.Fatal("answered after its window")
	}
	l.addStatus(ReceiptStatus{ID: "c:late", Status: string(StatusReceived), Version: 1})
	if _, kept := l.byID["c:early"]; kept || len(l.order) != 1 {
		t.Fatalf("after a later receipt came: early kept %v, %d receipts", kept, len(l.order))
	}
}

// TestLiveAnswersOnlyReceiptsItSawWhole: a receipt received before live's
// followers started reading (re-sent by the reprocessor now, say) is left
// to ClickHouse, which has its earlier events; one received since is
// answered.
func TestLiveAnswersOnlyReceiptsItSawWhole(t *testing.T) {
	l := newLive(time.Minute)
	l.now = func() time.Time { return t0 }
	l.from = t0.Add(-time.Minute)
	l.addStatus(ReceiptStatus{ID: "c:old", Status: string(StatusParked), ReceivedAt: t0.Add(-72 * time.Hour).UnixMilli(), Version: 3})
	l.addStatus(ReceiptStatus{ID: "c:new", Status: string(StatusReceived), ReceivedAt: t0.Add(-time.Second).UnixMilli(), Version: 1})
	if v, ok := l.view("c:old"); ok {
		t.Fatalf("a receipt of three days ago was answered: %+v", v)
	}
	if _, ok := l.view("c:new"); !ok {
		t.Fatal("a receipt of a second ago was not answered")
	}
}

// TestLiveAnswersReceiptsNotInTheViewYet: a receipt the status view has
// not written of is answered RECEIVED, with the events live holds, while
// live would hold its status; one received before live started reading,
// or long enough ago that live may have let its entry go, is left to
// ClickHouse, as is one with a status (view answers it), and every one
// when live follows nothing.
func TestLiveAnswersReceiptsNotInTheViewYet(t *testing.T) {
	l := newLive(time.Minute)
	l.now = func() time.Time { return t0 }
	l.from = t0.Add(-time.Minute)
	entry := func(ago time.Duration) recentEntry {
		return recentEntry{Type: "retail", Digest: "d", ReceivedAt: t0.Add(-ago)}
	}
	v, ok := l.received("c:new", entry(time.Second))
	want := View{ID: "c:new", Type: "retail", Status: StatusReceived, ReceivedAt: ration.NewTimestamp(t0.Add(-time.Second)),
		Digest: "d", History: []ration.ItemEvent{}}
	if !ok || !reflect.DeepEqual(v, want) {
		t.Fatalf("a receipt of a second ago: %+v, %v; want %+v", v, ok, want)
	}
	l.addEvent(schemas.Event{ItemID: "c:new", Stage: StageTax, Status: schemas.StatusSuccess, Time: t0}, &kgo.Record{})
	if v, ok := l.received("c:new", entry(time.Second)); !ok || len(v.History) != 1 || v.Status != StatusReceived {
		t.Fatalf("with an event and no status: %+v, %v", v, ok)
	}
	l.addStatus(ReceiptStatus{ID: "c:new", Status: string(StatusTaxRegistered), Version: 2})
	if v, ok := l.received("c:new", entry(time.Second)); ok {
		t.Fatalf("a receipt with a status was answered RECEIVED: %+v", v)
	}
	if v, ok := l.received("c:older", entry(31*time.Second)); ok {
		t.Fatalf("a receipt received more than half the window ago was answered: %+v", v)
	}
	l.from = time.Time{}
	if v, ok := l.received("c:new2", entry(time.Second)); ok {
		t.Fatalf("a live that follows nothing answered: %+v", v)
	}
	l.from = t0.Add(-time.Second)
	if v, ok := l.received("c:before", entry(2*time.Second)); ok {
		t.Fatalf("a receipt received before live started reading was answered: %+v", v)
	}
}
