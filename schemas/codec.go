package schemas

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/rationhq/ration/schemas/structcodec"
	"github.com/twmb/franz-go/pkg/sr"
)

// ErrUnknownTopic is returned for a topic that has no schema.
var ErrUnknownTopic = errors.New("schemas: unknown topic")

// Codec encodes and decodes records in Confluent's wire format. It is safe
// for concurrent use.
type Codec struct {
	serde *sr.Serde
	ids   map[string]int // topic -> schema id
}

// Register registers the schema of every topic under "<topic>-value", and
// of every record in records under its full name (the subject of a type
// whose values share a topic with other types, such as a stage's
// changelog), and returns a codec for those record types. Registering is
// idempotent: an identical schema keeps its id, and the registry gives
// identical schemas one id, so topics that share a record type share it.
// Records written under an earlier version of a subject's schema decode
// too (versions.go).
func Register(ctx context.Context, cl *sr.Client, topics []TopicSchema, records ...Record) (*Codec, error) {
	subjects := make([]TopicSchema, 0, len(topics)+len(records))
	for _, ts := range topics {
		subjects = append(subjects, TopicSchema{Topic: ts.Topic + "-value", Value: ts.Value})
	}
	for _, r := range records {
		subjects = append(subjects, TopicSchema{Topic: r.AvroSchema().Name(), Value: r})
	}
	slices.SortFunc(subjects, func(a, b TopicSchema) int { return strings.Compare(a.Topic, b.Topic) })
	type typeInfo struct {
		proto Record
		id    int
		older []olderVersion
	}
	var (
		ids     = make(map[string]int, len(subjects))
		types   = make(map[reflect.Type]*typeInfo)
		order   []reflect.Type
		current = make(map[int]bool)
	)
	for _, s := range subjects {
		topic := strings.TrimSuffix(s.Topic, "-value")
		if _, ok := ids[topic]; ok {
			return nil, fmt.Errorf("subject %s declared twice", s.Topic)
		}
		if err := checkEvolution(ctx, cl, s.Topic, s.Value.AvroSchema().Text()); err != nil {
			return nil, err
		}
		ss, err := cl.CreateSchema(ctx, s.Topic, sr.Schema{Schema: s.Value.AvroSchema().Text(), Type: sr.TypeAvro})
		if err != nil {
			return nil, fmt.Errorf("register schema %s: %w", s.Topic, err)
		}
		ids[topic] = ss.ID
		current[ss.ID] = true
		older, err := olderVersions(ctx, cl, s.Topic, ss)
		if err != nil {
			return nil, err
		}
		t := reflect.TypeOf(s.Value)
		if ti, ok := types[t]; ok {
			if ti.id != ss.ID {
				return nil, fmt.Errorf("%v has schema id %d under %s but %d elsewhere: one type, one schema", t, ss.ID, s.Topic, ti.id)
			}
			ti.older = append(ti.older, older...)
			continue
		}
		types[t] = &typeInfo{proto: s.Value, id: ss.ID, older: older}
		order = append(order, t)
	}
	c := &Codec{serde: sr.NewSerde(), ids: ids}
	for _, t := range order {
		ti := types[t]
		if err := c.add(ti.id, ti.proto, ti.older, current); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// add registers the encoding and decoding of proto's type under id, and
// the decoding of its older versions.
func (c *Codec) add(id int, proto Record, older []olderVersion, current map[int]bool) error {
	t := reflect.TypeOf(proto)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%v: a record must be a pointer to a struct", t)
	}
	var (
		encode func([]byte, any) ([]byte, error)
		decode func([]byte, any) error
	)
	if _, ok := proto.(handCoded); ok {
		encode = func(b []byte, v any) ([]byte, error) { return v.(handCoded).AppendAvro(b) }
		decode = func(b []byte, v any) error { return v.(handCoded).ReadAvro(b) }
	} else {
		sc, err := structcodec.New(proto.AvroSchema().Text(), proto)
		if err != nil {
			return fmt.Errorf("%s: %w", proto.AvroSchema().Name(), err)
		}
		encode, decode = sc.Append, sc.Read
	}
	checked := func(b []byte, v any) error {
		if reflect.TypeOf(v) != t {
			return fmt.Errorf("%w: the bytes hold a %s, not a %v", errOtherType, proto.AvroSchema().Name(), reflect.TypeOf(v))
		}
		return decode(b, v)
	}
	// Older versions first: the last registration of a type is the one
	// it is encoded with.
	c.registerOlder(proto, older, current, checked)
	c.serde.Register(id, proto, sr.AppendEncodeFn(encode), sr.DecodeFn(checked))
	return nil
}

var errOtherType = errors.New("other record type")

// encodeSize is the room Encode starts with: most records fit, so one
// allocation serves where growing from nothing took several.
const encodeSize = 192

// Encode returns r in wire format.
func (c *Codec) Encode(r Record) ([]byte, error) {
	return c.serde.AppendEncode(make([]byte, 0, encodeSize), r)
}

// chunkSize is the size of the chunks EncodeForKafka carves values from.
const chunkSize = 64 << 10

// chunks hold each goroutine's current chunk between EncodeForKafka calls.
var chunks = sync.Pool{New: func() any { return new([]byte) }}

// EncodeForKafka returns r in wire format, as Encode, carved from a chunk
// shared with other values: one allocation serves a few hundred records
// where each took its own (a tenth of a stage's CPU went to allocating
// and clearing output values). Only for values that are produced and then
// dropped: a value kept (in a state store, a cache) keeps its whole chunk.
func (c *Codec) EncodeForKafka(r Record) ([]byte, error) {
	chunk := chunks.Get().(*[]byte)
	defer chunks.Put(chunk)
	if cap(*chunk)-len(*chunk) < encodeSize {
		*chunk = make([]byte, 0, chunkSize)
	}
	free := (*chunk)[len(*chunk):]
	b, err := c.serde.AppendEncode(free, r)
	if err != nil {
		return nil, err
	}
	if cap(b) == cap(free) { // else larger than the chunk's rest: a value of its own
		*chunk = (*chunk)[:len(*chunk)+len(b)]
	}
	return b[:len(b):len(b)], nil
}

// AppendEncode appends r in wire format to b.
func (c *Codec) AppendEncode(b []byte, r Record) ([]byte, error) {
	return c.serde.AppendEncode(b, r)
}

// Decode decodes wire-format bytes into r. It fails if the bytes carry the
// schema id of another record type, or are not valid Avro.
func (c *Codec) Decode(b []byte, r Record) error {
	if err := c.serde.Decode(b, r); err != nil {
		return fmt.Errorf("decode %s: %w", r.AvroSchema().Name(), err)
	}
	return nil
}

// SchemaID returns the registry id of the schema of topic's values.
func (c *Codec) SchemaID(topic string) (int, error) {
	id, ok := c.ids[topic]
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
	}
	return id, nil
}
