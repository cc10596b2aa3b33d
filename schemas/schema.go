package schemas

import (
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/linkedin/goavro/v2"
)

// Schema is one Avro schema, embedded by the package that owns its record
// type and checked by goavro when the program starts.
type Schema struct {
	name string // the record's full name, e.g. "ration.Event"
	text string
}

// MustSchema reads and parses the schema at path in fsys. An invalid
// embedded schema is a programming error: it panics, at start-up, and
// every test of the owning package fails.
func MustSchema(fsys fs.FS, path string) *Schema {
	s, err := ParseSchema(fsys, path)
	if err != nil {
		panic(err)
	}
	return s
}

// ParseSchema reads and parses the schema at path in fsys.
func ParseSchema(fsys fs.FS, path string) (*Schema, error) {
	text, err := fs.ReadFile(fsys, path)
	if err != nil {
		return nil, err
	}
	if _, err := goavro.NewCodec(string(text)); err != nil {
		return nil, fmt.Errorf("schema %s: %w", path, err)
	}
	var head struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	if err := json.Unmarshal(text, &head); err != nil || head.Name == "" {
		return nil, fmt.Errorf("schema %s: not a named record", path)
	}
	name := head.Name
	if head.Namespace != "" {
		name = head.Namespace + "." + head.Name
	}
	return &Schema{name: name, text: string(text)}, nil
}

// Name is the record's full name.
func (s *Schema) Name() string { return s.name }

// Text is the schema's JSON, as registered.
func (s *Schema) Text() string { return s.text }

// Record is a Go value with an Avro schema. The codec encodes it through
// goavro (its struct fields tagged `avro:"<field>"`), unless it encodes
// itself: a type with AppendAvro and ReadAvro methods (see package
// avrobin) is encoded by those, which its tests hold to goavro's bytes.
type Record interface {
	AvroSchema() *Schema
}

// handCoded is a Record that encodes and decodes itself.
type handCoded interface {
	Record
	AppendAvro(b []byte) ([]byte, error)
	ReadAvro(b []byte) error
}

// TopicSchema says which record type a topic's values are. Value is a
// pointer to a zero value of it.
type TopicSchema struct {
	Topic string
	Value Record
}
