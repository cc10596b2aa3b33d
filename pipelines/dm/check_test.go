package dm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// flakyChecker fails its first n calls.
type flakyChecker struct{ failures int }

func (f *flakyChecker) Check(_ context.Context, id string) (bool, error) {
	if f.failures > 0 {
		f.failures--
		return false, errors.New("503 from checker")
	}
	return Answer(id), nil
}

func newCheck(t testing.TB, c Checker) (*check, *schemas.Codec) {
	codec := testCodec(t)
	now := time.UnixMilli(1_700_000_010_000)
	return &check{codec: codec, checker: c, worker: "w1", log: discard, now: func() time.Time { return now }}, codec
}

func markRecord(t testing.TB, codec *schemas.Codec, id string, p Priority) *kgo.Record {
	t.Helper()
	v, err := codec.Encode(&Mark{UserID: id, Priority: p, MarkedAt: time.UnixMilli(1_700_000_000_000)})
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: TopicChecks, Partition: 2, Offset: 7, Key: []byte(id), Value: v}
}

// decodeResult returns the one output, a result keyed by its user.
func decodeResult(t *testing.T, codec *schemas.Codec, out []*kgo.Record) Result {
	t.Helper()
	if len(out) != 1 || out[0].Topic != TopicResults {
		t.Fatalf("outputs %v, want one result (the runtime writes the event)", out)
	}
	var r Result
	if err := codec.Decode(out[0].Value, &r); err != nil {
		t.Fatal(err)
	}
	if string(out[0].Key) != r.UserID {
		t.Fatalf("result keyed %q, want its user %q", out[0].Key, r.UserID)
	}
	return r
}

func TestProcessChecksUser(t *testing.T) {
	p, codec := newCheck(t, &flakyChecker{})
	out, err := p.Process(context.Background(), markRecord(t, codec, "alice", PriorityHigh), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := decodeResult(t, codec, out)
	if r.Status != ResultChecked || r.OpenDM == nil || *r.OpenDM != Answer("alice") || r.Attempts != 1 {
		t.Fatalf("result %+v", r)
	}
	if r.Priority != PriorityHigh || r.MarkedAt.UnixMilli() != 1_700_000_000_000 || r.Worker != "w1" {
		t.Fatalf("result does not name its mark: %+v", r)
	}
}

// TestProcessLeavesTransientFailuresToTheRuntime: a check that fails
// transiently is one try; the error goes back to the runtime, marked
// transient, with nothing produced.
func TestProcessLeavesTransientFailuresToTheRuntime(t *testing.T) {
	p, codec := newCheck(t, &flakyChecker{failures: 1})
	out, err := p.Process(context.Background(), markRecord(t, codec, "bob", PriorityNormal), nil)
	if !errors.Is(err, processor.ErrTransient) || out != nil {
		t.Fatalf("outputs %v, err %v; want a transient error and nothing", out, err)
	}
	// The runtime's retry says it is the second try.
	rec := markRecord(t, codec, "bob", PriorityNormal)
	rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: processor.HeaderRetryAttempts, Value: []byte("1")})
	out, err = p.Process(context.Background(), rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := decodeResult(t, codec, out); r.Status != ResultChecked || r.Attempts != 2 {
		t.Fatalf("result %+v; want checked on attempt 2", r)
	}
}

func TestProcessUndecodableIsPermanent(t *testing.T) {
	p, _ := newCheck(t, &flakyChecker{})
	_, err := p.Process(context.Background(), &kgo.Record{Topic: TopicChecks, Value: []byte("garbage")}, nil)
	if !errors.Is(err, processor.ErrPermanent) {
		t.Fatalf("err = %v, want permanent", err)
	}
}

// TestAnswerIsDeterministic: the simulator and the checks that judge it
// run in different processes and releases, so an id's answer is fixed
// (these are FNV-1a's), and about two thirds of ids have an open DM.
func TestAnswerIsDeterministic(t *testing.T) {
	for id, want := range map[string]bool{"user-6": true, "user-7": false, "user-8": true, "user-9": false, "user-11": false} {
		if got := Answer(id); got != want {
			t.Errorf("Answer(%q) = %v, want %v", id, got, want)
		}
	}
	open := 0
	for i := range 3000 {
		if Answer("user-" + string(rune('a'+i%26)) + time.Duration(i).String()) {
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

// TestProcessRefusedUserIsRejected: a user the checker refuses fails at
// once: a failed result, and a rejection for the runtime (which writes
// FAILED with no dead letter).
func TestProcessRefusedUserIsRejected(t *testing.T) {
	c := &permanentChecker{}
	p, codec := newCheck(t, c)
	out, err := p.Process(context.Background(), markRecord(t, codec, "dave", PriorityNormal), nil)
	if !errors.Is(err, processor.ErrRejected) {
		t.Fatalf("err = %v, want a rejection", err)
	}
	if r := decodeResult(t, codec, out); c.calls != 1 || r.Status != ResultFailed || r.Attempts != 1 || r.Error == "" {
		t.Fatalf("%d calls, result %+v: want failed, with its reason, after one attempt", c.calls, r)
	}
}
