package schemas

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
)

// The native forms below are what goavro encodes and decodes; every hand-written
// encoder must produce the same bytes for the same value.

func (u *DMUser) native() map[string]any {
	return map[string]any{"user_id": u.UserID, "registered_at": u.RegisteredAt}
}

func (k *DMMark) native() map[string]any {
	return map[string]any{"user_id": k.UserID, "priority": string(k.Priority), "marked_at": k.MarkedAt}
}

func (r *DMResult) native() map[string]any {
	var open any
	if r.OpenDM != nil {
		open = map[string]any{"boolean": *r.OpenDM}
	}
	return map[string]any{
		"user_id": r.UserID, "priority": string(r.Priority), "marked_at": r.MarkedAt,
		"checked_at": r.CheckedAt, "status": string(r.Status), "open_dm": open,
		"attempts": int32(r.Attempts), "worker": r.Worker, "error": r.Error,
	}
}

func (e *Event) native() map[string]any {
	return map[string]any{
		"item_id": e.ItemID, "pipeline": e.Pipeline, "stage": e.Stage, "status": string(e.Status),
		"attempt": int32(e.Attempt), "retry_count": int32(e.RetryCount), "worker": e.Worker,
		"source_topic": e.SourceTopic, "source_partition": e.SourcePartition, "source_offset": e.SourceOffset,
		"error_class": e.ErrorClass, "error": e.Error, "time": e.Time,
	}
}

func (c *Client) native() map[string]any {
	return map[string]any{
		"name": c.Name, "kind": string(c.Kind), "scope": string(c.Scope), "key_hash": c.KeyHash,
		"pipeline": c.Pipeline, "created_at": c.CreatedAt, "revoked": c.Revoked,
	}
}

func (a *Audit) native() map[string]any {
	return map[string]any{
		"client": a.Client, "method": a.Method, "route": a.Route, "target": a.Target,
		"status": int32(a.Status), "time": a.Time,
	}
}

func (k *KeyBlock) native() map[string]any {
	return map[string]any{"seqs": nativeInts(k.Seqs), "tiers": nativeInts(k.Tiers), "next_seq": int32(k.NextSeq)}
}

func nativeInts(ns []int) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = int32(n)
	}
	return out
}

func (s *ReprocessState) native() map[string]any {
	return map[string]any{
		"pipeline": s.Pipeline, "item_id": s.ItemID, "retry_count": int32(s.RetryCount),
		"sent_at": nativeOptMillis(s.SentAt), "failed_at": nativeOptMillis(s.FailedAt),
		"notified_at": nativeOptMillis(s.NotifiedAt), "stage": s.Stage, "error": s.Error,
	}
}

// nativeOptMillis gives goavro the zero time as 0 millis, as
// appendOptMillis writes it.
func nativeOptMillis(t time.Time) time.Time {
	if t.IsZero() {
		return time.UnixMilli(0)
	}
	return t
}

func randString(r *rand.Rand) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABC0123456789_.:-é漢"
	n := r.IntN(80)
	var b []rune
	for range n {
		b = append(b, []rune(chars)[r.IntN(len([]rune(chars)))])
	}
	return string(b)
}

func randTime(r *rand.Rand) time.Time {
	return time.UnixMilli(r.Int64N(4_000_000_000_000) - 1_000_000_000_000)
}

// randOptTime returns the zero time (never) a third of the time.
func randOptTime(r *rand.Rand) time.Time {
	if r.IntN(3) == 0 {
		return time.Time{}
	}
	return randTime(r)
}

// randInts returns nil, an empty slice, or up to 10 ints over the whole
// 32-bit range.
func randInts(r *rand.Rand) []int {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []int{}
	}
	v := make([]int, 1+r.IntN(10))
	for i := range v {
		v[i] = int(int32(r.Uint32()))
	}
	return v
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func randRecords(r *rand.Rand) []oracleRecord {
	var open *bool
	if r.IntN(3) > 0 {
		v := r.IntN(2) == 0
		open = &v
	}
	return []oracleRecord{
		&DMUser{UserID: randString(r), RegisteredAt: randTime(r)},
		&DMMark{UserID: randString(r), Priority: pick(r, PriorityNormal, PriorityHigh), MarkedAt: randTime(r)},
		&DMResult{UserID: randString(r), Priority: pick(r, PriorityNormal, PriorityHigh), MarkedAt: randTime(r), CheckedAt: randTime(r),
			Status: pick(r, ResultChecked, ResultFailed), OpenDM: open, Attempts: r.IntN(1 << 20), Worker: randString(r), Error: randString(r)},
		&Event{ItemID: randString(r), Pipeline: randString(r), Stage: randString(r),
			Status:  pick(r, StatusSuccess, StatusFailed, StatusError, StatusReprocess, StatusProcessed),
			Attempt: r.IntN(100), RetryCount: r.IntN(100), Worker: randString(r), SourceTopic: randString(r),
			SourcePartition: int32(r.IntN(1 << 16)), SourceOffset: r.Int64N(1<<50) - 1<<40, ErrorClass: randString(r), Error: randString(r), Time: randTime(r)},
		&Client{Name: randString(r), Kind: pick(r, ClientAPI, ClientWorker), Scope: pick(r, ScopeRead, ScopeWrite, ScopeAdmin),
			KeyHash: randString(r), Pipeline: randString(r), CreatedAt: randTime(r), Revoked: r.IntN(2) == 0},
		&Audit{Client: randString(r), Method: randString(r), Route: randString(r), Target: randString(r),
			Status: r.IntN(600), Time: randTime(r)},
		&KeyBlock{Seqs: randInts(r), Tiers: randInts(r), NextSeq: int(r.Int32()) - 1<<30},
		&ReprocessState{Pipeline: randString(r), ItemID: randString(r), RetryCount: r.IntN(100),
			SentAt: randOptTime(r), FailedAt: randOptTime(r), NotifiedAt: randOptTime(r), Stage: randString(r), Error: randString(r)},
	}
}

func TestHandEncodingMatchesGoavro(t *testing.T) {
	codecs := goavroCodecs(t)
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		for _, rec := range randRecords(r) {
			want, err := codecs[rec.schemaFile()].BinaryFromNative(nil, rec.native())
			if err != nil {
				t.Fatal(err)
			}
			got, err := rec.appendAvro(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%T %+v:\n hand   %x\n goavro %x", rec, rec, got, want)
			}
		}
	}
}

func TestEncodeRejectsUnknownEnumSymbols(t *testing.T) {
	for _, rec := range []Record{
		&DMMark{UserID: "u", Priority: "urgent"},
		&DMResult{UserID: "u", Priority: PriorityHigh, Status: "maybe"},
		&Event{ItemID: "u", Status: "DONE"},
		&Client{Name: "c", Kind: "robot", Scope: ScopeRead},
		&Client{Name: "c", Kind: ClientAPI, Scope: "root"},
	} {
		if _, err := rec.appendAvro(nil); err == nil {
			t.Errorf("%T with an unknown symbol encoded", rec)
		}
	}
}

func (u *DMUser) fromNative(m map[string]any) error {
	var d decoder
	u.UserID = d.str(m, "user_id")
	u.RegisteredAt = d.time(m, "registered_at")
	return d.err
}

func (k *DMMark) fromNative(m map[string]any) error {
	var d decoder
	k.UserID = d.str(m, "user_id")
	k.Priority = Priority(d.str(m, "priority"))
	k.MarkedAt = d.time(m, "marked_at")
	return d.err
}

func (r *DMResult) fromNative(m map[string]any) error {
	var d decoder
	r.UserID = d.str(m, "user_id")
	r.Priority = Priority(d.str(m, "priority"))
	r.MarkedAt = d.time(m, "marked_at")
	r.CheckedAt = d.time(m, "checked_at")
	r.Status = ResultStatus(d.str(m, "status"))
	r.OpenDM = nil
	if u, ok := m["open_dm"].(map[string]any); ok {
		if b, ok := u["boolean"].(bool); ok {
			r.OpenDM = &b
		}
	}
	r.Attempts = int(d.int(m, "attempts"))
	r.Worker = d.str(m, "worker")
	r.Error = d.str(m, "error")
	return d.err
}

func (e *Event) fromNative(m map[string]any) error {
	var d decoder
	e.ItemID = d.str(m, "item_id")
	e.Pipeline = d.str(m, "pipeline")
	e.Stage = d.str(m, "stage")
	e.Status = Status(d.str(m, "status"))
	e.Attempt = int(d.int(m, "attempt"))
	e.RetryCount = int(d.int(m, "retry_count"))
	e.Worker = d.str(m, "worker")
	e.SourceTopic = d.str(m, "source_topic")
	e.SourcePartition = int32(d.int(m, "source_partition"))
	e.SourceOffset = d.int(m, "source_offset")
	e.ErrorClass = d.str(m, "error_class")
	e.Error = d.str(m, "error")
	e.Time = d.time(m, "time")
	return d.err
}

func (c *Client) fromNative(m map[string]any) error {
	var d decoder
	c.Name = d.str(m, "name")
	c.Kind = ClientKind(d.str(m, "kind"))
	c.Scope = Scope(d.str(m, "scope"))
	c.KeyHash = d.str(m, "key_hash")
	c.Pipeline = d.str(m, "pipeline")
	c.CreatedAt = d.time(m, "created_at")
	revoked, ok := m["revoked"].(bool)
	if !ok {
		d.fail("revoked", m["revoked"])
	}
	c.Revoked = revoked
	return d.err
}

func (a *Audit) fromNative(m map[string]any) error {
	var d decoder
	a.Client = d.str(m, "client")
	a.Method = d.str(m, "method")
	a.Route = d.str(m, "route")
	a.Target = d.str(m, "target")
	a.Status = int(d.int(m, "status"))
	a.Time = d.time(m, "time")
	return d.err
}

func (k *KeyBlock) fromNative(m map[string]any) error {
	var d decoder
	k.Seqs = d.ints(m, "seqs")
	k.Tiers = d.ints(m, "tiers")
	k.NextSeq = int(d.int(m, "next_seq"))
	return d.err
}

func (d *decoder) ints(m map[string]any, field string) []int {
	list, ok := m[field].([]any)
	if !ok {
		d.fail(field, m[field])
	}
	var out []int
	for _, v := range list {
		n, ok := v.(int32)
		if !ok {
			d.fail(field, v)
		}
		out = append(out, int(n))
	}
	return out
}

func (s *ReprocessState) fromNative(m map[string]any) error {
	var d decoder
	s.Pipeline = d.str(m, "pipeline")
	s.ItemID = d.str(m, "item_id")
	s.RetryCount = int(d.int(m, "retry_count"))
	s.SentAt = d.optTime(m, "sent_at")
	s.FailedAt = d.optTime(m, "failed_at")
	s.NotifiedAt = d.optTime(m, "notified_at")
	s.Stage = d.str(m, "stage")
	s.Error = d.str(m, "error")
	return d.err
}

// decoder reads fields out of goavro's native form and keeps the first
// type mismatch, so the fromNative methods stay flat.
type decoder struct{ err error }

func (d *decoder) fail(field string, v any) {
	if d.err == nil {
		d.err = fmt.Errorf("field %s: unexpected %T", field, v)
	}
}

func (d *decoder) str(m map[string]any, field string) string {
	s, ok := m[field].(string)
	if !ok {
		d.fail(field, m[field])
	}
	return s
}

func (d *decoder) int(m map[string]any, field string) int64 {
	switch v := m[field].(type) {
	case int32:
		return int64(v)
	case int64:
		return v
	default:
		d.fail(field, v)
		return 0
	}
}

func (d *decoder) time(m map[string]any, field string) time.Time {
	t, ok := m[field].(time.Time)
	if !ok {
		d.fail(field, m[field])
	}
	return t
}

// optTime reads a timestamp-millis where 0 means never, as the zero time.
func (d *decoder) optTime(m map[string]any, field string) time.Time {
	t := d.time(m, field)
	if t.UnixMilli() == 0 {
		return time.Time{}
	}
	return t
}

func init() {
	// goavro allocates room for a whole array block before reading its
	// items, so an absurd block count in fuzzed input would ask for
	// gigabytes. The hand decoder refuses any count above the bytes left,
	// and no test input comes near this many bytes.
	goavro.MaxBlockCount = 1 << 20
}

// goavroCodecs parses the schema of every record type in emptyRecords.
func goavroCodecs(t testing.TB) map[string]*goavro.Codec {
	t.Helper()
	codecs := map[string]*goavro.Codec{}
	for _, rec := range emptyRecords() {
		f := rec.schemaFile()
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if codecs[f], err = goavro.NewCodec(string(text)); err != nil {
			t.Fatal(err)
		}
	}
	return codecs
}

type oracleRecord interface {
	Record
	native() map[string]any
	fromNative(map[string]any) error
}

func emptyRecords() []oracleRecord {
	return []oracleRecord{new(DMUser), new(DMMark), new(DMResult), new(Event), new(Client), new(Audit),
		new(KeyBlock), new(ReprocessState)}
}

// decodeBoth decodes b as rec's schema with goavro and by hand and fails t
// unless both fail or both give the same value.
func decodeBoth(t *testing.T, codecs map[string]*goavro.Codec, proto oracleRecord, b []byte) {
	t.Helper()
	hand := reflect.New(reflect.TypeOf(proto).Elem()).Interface().(oracleRecord)
	oracle := reflect.New(reflect.TypeOf(proto).Elem()).Interface().(oracleRecord)
	handErr := hand.readAvro(b)
	native, rest, goErr := codecs[proto.schemaFile()].NativeFromBinary(b)
	if goErr == nil && len(rest) > 0 {
		goErr = fmt.Errorf("%d trailing bytes", len(rest))
	}
	if goErr == nil {
		goErr = oracle.fromNative(native.(map[string]any))
	}
	if (errors.Is(handErr, errOverflow) || errors.Is(handErr, errIntRange)) && goErr == nil {
		return // goavro wraps overlong varints and big ints around; ration refuses them
	}
	if (handErr == nil) != (goErr == nil) {
		t.Fatalf("%T %x: hand err %v, goavro err %v", proto, b, handErr, goErr)
	}
	if handErr == nil && !sameRecord(hand, oracle) {
		t.Fatalf("%T %x:\n hand   %+v\n goavro %+v", proto, b, hand, oracle)
	}
}

// sameRecord reports whether a and b hold the same value. An empty array
// equals a nil one: Avro has no null array.
func sameRecord(a, b oracleRecord) bool {
	if ka, ok := a.(*KeyBlock); ok {
		kb, ok := b.(*KeyBlock)
		return ok && sameInts(ka.Seqs, kb.Seqs) && sameInts(ka.Tiers, kb.Tiers) && ka.NextSeq == kb.NextSeq
	}
	return reflect.DeepEqual(a, b)
}

func sameInts(a, b []int) bool { return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b) }

func TestHandDecodingMatchesGoavro(t *testing.T) {
	codecs := goavroCodecs(t)
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		for _, rec := range randRecords(r) {
			b, err := rec.appendAvro(nil)
			if err != nil {
				t.Fatal(err)
			}
			decodeBoth(t, codecs, rec, b)
			// A truncation must fail (or not) the same way in both.
			decodeBoth(t, codecs, rec, b[:r.IntN(len(b))])
		}
	}
}

// FuzzHandDecoding holds the hand decoders to goavro on arbitrary bytes.
func FuzzHandDecoding(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, rec := range randRecords(r) {
		b, _ := rec.appendAvro(nil)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{0x03, 0x04, 0x02, 0x04, 0x02, 0x06, 0x00}) // array blocks: -2 (size 2) [1 2], 1 [3]
	f.Add([]byte{0xfe, 0xff, 0xff, 0xff, 0x0f, 0x02, 0x00}) // array block of 2^31-1 items in 2 bytes
	f.Fuzz(func(t *testing.T, b []byte) {
		codecs := goavroCodecs(t)
		for _, proto := range emptyRecords() {
			decodeBoth(t, codecs, proto, b)
		}
	})
}

// TestIntArrayBlocks: arrays of ints (KeyBlock's) decode from any valid
// block layout and refuse bad ones.
func TestIntArrayBlocks(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want []int // unchecked when err
		err  bool
	}{
		{"empty", []byte{0x00}, nil, false},
		{"one block", []byte{0x06, 0x02, 0x00, 0x7f, 0x00}, []int{1, 0, -64}, false},
		{"negative count, then a second block", []byte{0x03, 0x04, 0x02, 0x04, 0x02, 0x06, 0x00}, []int{1, 2, 3}, false},
		{"count beyond the bytes left", []byte{0xfe, 0xff, 0xff, 0xff, 0x0f, 0x02, 0x00}, nil, true},
		{"negative count beyond the bytes left", []byte{0xfd, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x02, 0x00}, nil, true},
		{"minimum long count", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, nil, true},
		{"int beyond 32 bits", []byte{0x02, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00}, nil, true},
		{"no end", []byte{0x02, 0x02}, nil, true},
		{"no block size", []byte{0x01}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reader{b: tc.b}
			got := r.ints("seqs")
			err := r.done()
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if !tc.err && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ints = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestIntArrayEncodesOneBlock(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want []byte
	}{
		{nil, []byte{0x00}},
		{[]int{}, []byte{0x00}},
		{[]int{1, 0, -64}, []byte{0x06, 0x02, 0x00, 0x7f, 0x00}},
	} {
		if got := appendInts(nil, tc.in); !bytes.Equal(got, tc.want) {
			t.Errorf("%v: %x; want %x", tc.in, got, tc.want)
		}
	}
}

func TestReprocessStateZeroTimeIsZeroMillis(t *testing.T) {
	sent := time.UnixMilli(1_700_000_000_123).UTC()
	in := &ReprocessState{Pipeline: "dm", ItemID: "u1", RetryCount: 2, SentAt: sent}
	b, err := in.appendAvro(nil)
	if err != nil {
		t.Fatal(err)
	}
	// failed_at and notified_at are 0 millis, and stage and error empty.
	if !bytes.HasSuffix(b, []byte{0x00, 0x00, 0x00, 0x00}) {
		t.Fatalf("zero times not written as 0: %x", b)
	}
	var out ReprocessState
	if err := out.readAvro(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&out, in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, *in)
	}
	if !out.FailedAt.IsZero() || !out.NotifiedAt.IsZero() {
		t.Fatalf("0 millis decoded as %v, %v, want the zero time", out.FailedAt, out.NotifiedAt)
	}
}
