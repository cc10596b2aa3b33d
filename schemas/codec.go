package schemas

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"sort"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

//go:embed *.avsc
var files embed.FS

// ErrUnknownTopic is returned for a topic that has no schema.
var ErrUnknownTopic = errors.New("schemas: unknown topic")

// Codec encodes and decodes records in Confluent's wire format. It is safe
// for concurrent use.
type Codec struct {
	serde *sr.Serde
	ids   map[string]int // topic -> schema id
}

// Register registers the schema of every topic under "<topic>-value" (an
// idempotent call: an identical schema keeps its id) and returns a codec
// that uses the ids the registry gave. Records written under an earlier
// version of a subject's schema decode too (versions.go).
func Register(ctx context.Context, cl *sr.Client) (*Codec, error) {
	topics := make([]string, 0, len(topicSchema))
	for t := range topicSchema {
		topics = append(topics, t)
	}
	sort.Strings(topics)

	ids := make(map[string]int, len(topics))
	older := make(map[string][]olderVersion)
	for _, topic := range topics {
		text, err := files.ReadFile(topicSchema[topic])
		if err != nil {
			return nil, err
		}
		subject := topic + "-value"
		ss, err := cl.CreateSchema(ctx, subject, sr.Schema{Schema: string(text), Type: sr.TypeAvro})
		if err != nil {
			return nil, fmt.Errorf("register schema for %s: %w", topic, err)
		}
		ids[topic] = ss.ID
		vs, err := olderVersions(ctx, cl, subject, ss)
		if err != nil {
			return nil, err
		}
		older[topicSchema[topic]] = append(older[topicSchema[topic]], vs...)
	}
	return newCodec(ids, older)
}

// newCodec returns a codec writing under ids (topic to schema id) and
// reading those and the older versions of each schema file.
func newCodec(ids map[string]int, older map[string][]olderVersion) (*Codec, error) {
	byFile := make(map[string]int)
	current := make(map[int]bool)
	for topic, id := range ids {
		byFile[topicSchema[topic]] = id
		current[id] = true
	}
	c := &Codec{serde: sr.NewSerde(), ids: ids}
	for _, r := range []Record{new(DMUser), new(DMMark), new(DMResult), new(Event), new(Client), new(Audit), new(KeyBlock), new(ReprocessState)} {
		id, ok := byFile[r.schemaFile()]
		if !ok {
			continue
		}
		text, err := files.ReadFile(r.schemaFile())
		if err != nil {
			return nil, err
		}
		// goavro checks the embedded schema is valid Avro; the records
		// encode and decode themselves (encode.go, decode.go).
		if _, err := goavro.NewCodec(string(text)); err != nil {
			return nil, fmt.Errorf("parse %s: %w", r.schemaFile(), err)
		}
		// Older versions first: the last registration of a type is the
		// one it is encoded with.
		c.registerOlder(r, string(text), older[r.schemaFile()], current)
		c.serde.Register(id, r,
			sr.AppendEncodeFn(func(b []byte, v any) ([]byte, error) {
				return v.(Record).appendAvro(b)
			}),
			sr.DecodeFn(func(b []byte, v any) error {
				return v.(Record).readAvro(b)
			}),
		)
	}
	return c, nil
}

// Encode returns r in wire format.
func (c *Codec) Encode(r Record) ([]byte, error) {
	return c.serde.Encode(r)
}

// AppendEncode appends r in wire format to b.
func (c *Codec) AppendEncode(b []byte, r Record) ([]byte, error) {
	return c.serde.AppendEncode(b, r)
}

// Decode decodes wire-format bytes into r. It fails if the bytes carry the
// schema id of another record type, or are not valid Avro.
func (c *Codec) Decode(b []byte, r Record) error {
	if err := c.serde.Decode(b, r); err != nil {
		return fmt.Errorf("decode %s: %w", r.schemaFile(), err)
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
