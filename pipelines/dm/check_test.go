package dm

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

var (
	discard = slog.New(slog.DiscardHandler)
	timeNow = time.Now
)

func testCodec(t *testing.T) *schemas.Codec { return testCodecTB(t) }

func testCodecTB(t testing.TB) *schemas.Codec { return kafkatest.Codec(t) }

// flakyChecker fails its first n calls.
type flakyChecker struct{ failures int }

func (f *flakyChecker) Check(_ context.Context, id string) (bool, error) {
	if f.failures > 0 {
		f.failures--
		return false, errors.New("503 from checker")
	}
	return Answer(id), nil
}

func newPipeline(t *testing.T, c Checker) (*Pipeline, *schemas.Codec) {
	codec := testCodec(t)
	now := time.UnixMilli(1_700_000_010_000)
	return &Pipeline{codec: codec, checker: c, worker: "w1",
		log: slog.New(slog.DiscardHandler), now: func() time.Time { return now }}, codec
}

func markRecord(t *testing.T, codec *schemas.Codec, id string, p schemas.Priority) *kgo.Record {
	return markRecordTB(t, codec, id, p)
}

func markRecordTB(t testing.TB, codec *schemas.Codec, id string, p schemas.Priority) *kgo.Record {
	t.Helper()
	v, err := codec.Encode(&schemas.DMMark{UserID: id, Priority: p, MarkedAt: time.UnixMilli(1_700_000_000_000)})
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: schemas.TopicDMChecks, Partition: 2, Offset: 7, Key: []byte(id), Value: v}
}

func decodeOutputs(t *testing.T, codec *schemas.Codec, out []*kgo.Record) (schemas.DMResult, schemas.Event) {
	t.Helper()
	if len(out) != 2 || out[0].Topic != schemas.TopicDMResults || out[1].Topic != schemas.TopicEvents {
		t.Fatalf("outputs %v, want a result and an event", out)
	}
	var r schemas.DMResult
	var e schemas.Event
	if err := codec.Decode(out[0].Value, &r); err != nil {
		t.Fatal(err)
	}
	if err := codec.Decode(out[1].Value, &e); err != nil {
		t.Fatal(err)
	}
	return r, e
}

func TestProcessChecksUser(t *testing.T) {
	p, codec := newPipeline(t, &flakyChecker{})
	out, err := p.Process(context.Background(), markRecord(t, codec, "alice", schemas.PriorityHigh))
	if err != nil {
		t.Fatal(err)
	}
	r, e := decodeOutputs(t, codec, out)
	if r.Status != schemas.ResultChecked || r.OpenDM == nil || *r.OpenDM != Answer("alice") || r.Attempts != 1 {
		t.Fatalf("result %+v", r)
	}
	if r.Priority != schemas.PriorityHigh || r.MarkedAt.UnixMilli() != 1_700_000_000_000 || r.Worker != "w1" {
		t.Fatalf("result does not name its mark: %+v", r)
	}
	if e.Status != schemas.StatusProcessed || e.ItemID != "alice" || e.SourcePartition != 2 || e.SourceOffset != 7 {
		t.Fatalf("event %+v", e)
	}
	if string(out[0].Key) != "alice" || string(out[1].Key) != "alice" {
		t.Fatal("outputs not keyed by user id")
	}
}

// TestProcessLeavesTransientFailuresToTheRuntime: a check that fails
// transiently is one try; the error goes back to the runtime, marked
// transient, with nothing produced.
func TestProcessLeavesTransientFailuresToTheRuntime(t *testing.T) {
	p, codec := newPipeline(t, &flakyChecker{failures: 1})
	out, err := p.Process(context.Background(), markRecord(t, codec, "bob", schemas.PriorityNormal))
	if !errors.Is(err, processor.ErrTransient) || out != nil {
		t.Fatalf("outputs %v, err %v; want a transient error and nothing", out, err)
	}
	// The runtime's retry says it is the second try.
	rec := markRecord(t, codec, "bob", schemas.PriorityNormal)
	rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: processor.HeaderRetryAttempts, Value: []byte("1")},
		kgo.RecordHeader{Key: processor.HeaderRetryCount, Value: []byte("2")})
	out, err = p.Process(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	r, e := decodeOutputs(t, codec, out)
	if r.Status != schemas.ResultChecked || r.Attempts != 2 || e.Attempt != 2 || e.RetryCount != 2 {
		t.Fatalf("result %+v, event %+v; want checked on attempt 2 with retry count 2", r, e)
	}
}

func TestProcessUndecodableIsPermanent(t *testing.T) {
	p, _ := newPipeline(t, &flakyChecker{})
	_, err := p.Process(context.Background(), &kgo.Record{Topic: schemas.TopicDMChecks, Value: []byte("garbage")})
	if !errors.Is(err, processor.ErrPermanent) {
		t.Fatalf("err = %v, want permanent", err)
	}
}

func TestAnswerIsDeterministic(t *testing.T) {
	open := 0
	for i := range 3000 {
		id := "user-" + string(rune('a'+i%26)) + time.Duration(i).String()
		if Answer(id) != Answer(id) {
			t.Fatal("answer changed")
		}
		if Answer(id) {
			open++
		}
	}
	if open < 1800 || open > 2200 {
		t.Fatalf("%d of 3000 open, want about two thirds", open)
	}
}

// permanentChecker refuses every user as bad data.
type permanentChecker struct{ calls int }

func (p *permanentChecker) Check(context.Context, string) (bool, error) {
	p.calls++
	return false, processor.Permanent(errors.New("400 Bad Request: no such user"))
}

func TestProcessPermanentErrorFailsAtOnce(t *testing.T) {
	c := &permanentChecker{}
	p, codec := newPipeline(t, c)
	out, err := p.Process(context.Background(), markRecord(t, codec, "dave", schemas.PriorityNormal))
	if err != nil {
		t.Fatal(err)
	}
	r, e := decodeOutputs(t, codec, out)
	if c.calls != 1 || r.Status != schemas.ResultFailed || r.Attempts != 1 {
		t.Fatalf("%d calls, result %+v: want failed after one attempt", c.calls, r)
	}
	if e.Status != schemas.StatusFailed || e.ErrorClass != "permanent" {
		t.Fatalf("event %+v, want FAILED with class permanent", e)
	}
}
