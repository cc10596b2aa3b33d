package schemas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// Records written under an earlier version of their schema still decode.
// ration evolves a schema only by appending fields with defaults; the
// registry gives each version an id of its own, and a record carries the
// id it was written under. For every earlier version of a subject whose
// fields are the current version's first ones, the codec registers that
// id too, with a decoder that appends the encoded defaults of the missing
// fields to the record's body and reads it as the current version. Records
// are always written under the current version.

// olderVersion is an earlier version of a subject's schema.
type olderVersion struct {
	id     int
	schema string
}

// olderVersions returns the versions of subject other than current.
func olderVersions(ctx context.Context, cl *sr.Client, subject string, current sr.SubjectSchema) ([]olderVersion, error) {
	if current.Version <= 1 {
		return nil, nil
	}
	all, err := cl.Schemas(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("versions of %s: %w", subject, err)
	}
	var out []olderVersion
	for _, ss := range all {
		if ss.ID != current.ID {
			out = append(out, olderVersion{id: ss.ID, schema: ss.Schema.Schema})
		}
	}
	return out, nil
}

// avroRecord is the part of a record schema that versions are compared by.
type avroRecord struct {
	Type      string                       `json:"type"`
	Name      string                       `json:"name"`
	Namespace string                       `json:"namespace"`
	Fields    []map[string]json.RawMessage `json:"fields"`
}

// defaultsTail returns the Avro encoding of the defaults of the fields
// that current has beyond older, if older's fields are current's first
// ones (same names, same types) and every later field has a default. A
// body written under older, followed by the tail, is a body of current.
func defaultsTail(older, current string) ([]byte, error) {
	var o, c avroRecord
	if err := json.Unmarshal([]byte(older), &o); err != nil {
		return nil, fmt.Errorf("older version: %w", err)
	}
	if err := json.Unmarshal([]byte(current), &c); err != nil {
		return nil, fmt.Errorf("current version: %w", err)
	}
	if o.Type != "record" || o.Name != c.Name || o.Namespace != c.Namespace {
		return nil, fmt.Errorf("older version is %s %s.%s, not record %s.%s", o.Type, o.Namespace, o.Name, c.Namespace, c.Name)
	}
	if len(o.Fields) > len(c.Fields) {
		return nil, errors.New("older version has more fields")
	}
	for i, of := range o.Fields {
		for _, attr := range []string{"name", "type"} {
			same, err := sameJSON(of[attr], c.Fields[i][attr])
			if err != nil || !same {
				return nil, fmt.Errorf("field %d: %s %s in the older version, %s now", i, attr, of[attr], c.Fields[i][attr])
			}
		}
	}
	tail := c.Fields[len(o.Fields):]
	for _, f := range tail {
		if _, ok := f["default"]; !ok {
			return nil, fmt.Errorf("field %s was added without a default", f["name"])
		}
	}
	if len(tail) == 0 {
		return nil, nil
	}
	schema, err := json.Marshal(avroRecord{Type: "record", Name: c.Name + "Added", Namespace: c.Namespace, Fields: tail})
	if err != nil {
		return nil, err
	}
	codec, err := goavro.NewCodec(string(schema))
	if err != nil {
		return nil, fmt.Errorf("fields added since: %w", err)
	}
	// goavro encodes a field missing from the map as its default.
	return codec.BinaryFromNative(nil, map[string]any{})
}

// sameJSON says whether a and b are the same JSON value.
func sameJSON(a, b json.RawMessage) (bool, error) {
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		return false, err
	}
	// Marshalling sorts object keys.
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	return bytes.Equal(ca, cb), nil
}

// registerOlder registers, for r, the ids of older versions of its schema:
// each decodes with decode, as r with the fields added since at their
// defaults, or, if the version cannot be read so, fails saying why. It
// leaves alone the ids in current, which are other records' schemas.
func (c *Codec) registerOlder(r Record, older []olderVersion, current map[int]bool, decode func([]byte, any) error) {
	seen := map[int]bool{}
	for _, ver := range older {
		if current[ver.id] || seen[ver.id] {
			continue
		}
		seen[ver.id] = true
		tail, err := defaultsTail(ver.schema, r.AvroSchema().Text())
		if err != nil {
			err = fmt.Errorf("written under schema id %d, an earlier version of %s that cannot be read as the current one: %w", ver.id, r.AvroSchema().Name(), err)
		}
		c.serde.Register(ver.id, r, sr.DecodeFn(func(b []byte, v any) error {
			if err != nil {
				return err
			}
			return decode(append(slices.Clip(b), tail...), v)
		}))
	}
}

// checkEvolution refuses a schema that records already written under the
// subject's latest registered version could not be read as: ration's rule
// (fields appended, each with a default) is the one defaultsTail reads
// by, and it is stricter than the registry's BACKWARD, so a schema that
// breaks it stops the role at start-up, before anything is written under
// it — a Confluent registry would refuse a BACKWARD-incompatible one
// itself, the embedded one accepts anything.
func checkEvolution(ctx context.Context, cl *sr.Client, subject, schema string) error {
	latest, err := cl.SchemaByVersion(ctx, subject, -1)
	var re *sr.ResponseError
	switch {
	case errors.As(err, &re) && re.SchemaError() == sr.ErrSubjectNotFound:
		return nil
	case err != nil:
		return fmt.Errorf("latest version of %s: %w", subject, err)
	}
	if same, err := sameJSON(json.RawMessage(latest.Schema.Schema), json.RawMessage(schema)); err == nil && same {
		return nil
	}
	if _, err := defaultsTail(latest.Schema.Schema, schema); err != nil {
		return fmt.Errorf("schema of %s cannot read what version %d wrote (append fields, each with a default): %w",
			subject, latest.Version, err)
	}
	return nil
}
