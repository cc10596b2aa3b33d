package structcodec

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// The builder walks a parsed schema alongside a Go type and returns the
// converters of reflect_conv.go. It resolves names the way goavro does, so
// that it sees the types goavro sees and names union branches as goavro's
// native form does: a name without a dot takes its "namespace", else the
// enclosing one; a reference is looked up as written, then in the
// enclosing namespace; a record's fields are in the record's namespace.
// The schema is goavro-valid by the time it gets here, but the builder
// asserts nothing about it without checking.

var (
	timeType = reflect.TypeFor[time.Time]()
	byteType = reflect.TypeFor[byte]()
)

// namedType is the definition of a record, an enum or a fixed.
type namedType struct {
	kind      string // "record", "enum" or "fixed"
	schema    map[string]any
	fullName  string
	namespace string // for the names inside a record
}

type builder struct {
	named map[string]namedType // by full name
	open  map[string]bool      // records being built: meeting one again is recursion
}

func newBuilder() *builder {
	return &builder{named: map[string]namedType{}, open: map[string]bool{}}
}

// root builds the converter of a top-level record schema for struct type t.
func (b *builder) root(schema any, t reflect.Type) (*recordConv, error) {
	m, _ := schema.(map[string]any)
	for typ, ok := m["type"].(map[string]any); ok; typ, ok = m["type"].(map[string]any) {
		m = typ // {"type": {"type": "record", …}}
	}
	if m["type"] != "record" {
		return nil, errors.New("the schema is not a record")
	}
	c, _, err := b.build(m, "", t, "")
	if err != nil {
		return nil, err
	}
	return c.(*recordConv), nil
}

// build returns the converter of schema for Go type t, and the name goavro
// gives the type as a union branch. ns is the enclosing namespace, path
// the field's name in errors ("" for the top-level record).
func (b *builder) build(schema any, ns string, t reflect.Type, path string) (conv, string, error) {
	switch s := schema.(type) {
	case string:
		return b.byName(s, nil, ns, t, path)
	case []any:
		return b.union(s, ns, t, path)
	case map[string]any:
		switch typ := s["type"].(type) {
		case string:
			return b.byName(typ, s, ns, t, path)
		case map[string]any, []any:
			return b.build(typ, ns, t, path)
		}
	}
	return nil, "", fieldErr(path, fmt.Errorf("unreadable schema %v", schema))
}

// byName builds the type named typeName; m is the JSON object that named
// it, if any, where a logical type or a definition's attributes are.
func (b *builder) byName(typeName string, m map[string]any, ns string, t reflect.Type, path string) (conv, string, error) {
	if lt, ok := m["logicalType"]; ok && lt != nil {
		switch logical := fmt.Sprintf("%s.%v", typeName, lt); logical {
		case "long.timestamp-millis", "long.timestamp-micros":
			if t != timeType {
				return nil, "", mismatch(path, logical, "time.Time", t)
			}
			unit := time.Millisecond
			if logical == "long.timestamp-micros" {
				unit = time.Microsecond
			}
			return &timeConv{field: path, unit: unit}, logical, nil
		case "int.date", "int.time-millis", "long.time-micros", "bytes.decimal", "fixed.decimal", "string.validated-string":
			return nil, "", fieldErr(path, fmt.Errorf("logical type %s is not supported", logical))
		}
		// goavro ignores any other logical type, and so do we.
	}
	switch typeName {
	case "null":
		return nil, "", fieldErr(path, errors.New("null is supported only in a union with one other type"))
	case "boolean", "int", "long", "float", "double", "bytes", "string":
		c, err := primitive(typeName, t, path)
		return c, typeName, err
	case "array", "map":
		if m == nil {
			break
		}
		c, err := b.container(typeName, m, ns, t, path)
		return c, typeName, err
	case "record", "enum", "fixed":
		if m == nil {
			break
		}
		d, err := define(typeName, m, ns)
		if err != nil {
			return nil, "", fieldErr(path, err)
		}
		b.named[d.fullName] = d
		c, err := b.buildNamed(d, t, path)
		return c, d.fullName, err
	default:
		d, ok := b.named[typeName]
		if !ok && ns != "" {
			d, ok = b.named[ns+"."+typeName]
		}
		if ok {
			c, err := b.buildNamed(d, t, path)
			return c, d.fullName, err
		}
	}
	return nil, "", fieldErr(path, fmt.Errorf("unknown type %q", typeName))
}

// define reads the name of a record, enum or fixed, as goavro does.
func define(kind string, m map[string]any, ns string) (namedType, error) {
	name, _ := m["name"].(string)
	if name == "" {
		return namedType{}, fmt.Errorf("%s without a name", kind)
	}
	d := namedType{kind: kind, schema: m}
	explicit, _ := m["namespace"].(string)
	switch i := strings.LastIndexByte(name, '.'); {
	case i >= 0:
		d.fullName, d.namespace = name, name[:i]
	case explicit != "":
		d.fullName, d.namespace = explicit+"."+name, explicit
	case ns != "":
		d.fullName, d.namespace = ns+"."+name, ns
	default:
		d.fullName = name
	}
	return d, nil
}

func (b *builder) buildNamed(d namedType, t reflect.Type, path string) (conv, error) {
	switch d.kind {
	case "record":
		return b.record(d, t, path)
	case "enum":
		if t.Kind() != reflect.String {
			return nil, mismatch(path, "enum "+d.fullName, "string kind", t)
		}
		raw, _ := d.schema["symbols"].([]any)
		symbols := make([]string, len(raw))
		for i, s := range raw {
			symbols[i], _ = s.(string)
		}
		return &enumConv{field: path, symbols: symbols}, nil
	default: // fixed
		size, _ := d.schema["size"].(float64)
		if t.Kind() != reflect.Array || t.Elem() != byteType || float64(t.Len()) != size {
			return nil, mismatch(path, fmt.Sprintf("fixed %s of size %v", d.fullName, size), fmt.Sprintf("[%v]byte", size), t)
		}
		return &fixedConv{field: path, size: t.Len()}, nil
	}
}

func (b *builder) record(d namedType, t reflect.Type, path string) (conv, error) {
	if b.open[d.fullName] {
		return nil, fieldErr(path, fmt.Errorf("record %s is recursive, which is not supported", d.fullName))
	}
	if t.Kind() != reflect.Struct {
		return nil, mismatch(path, "record "+d.fullName, "struct", t)
	}
	b.open[d.fullName] = true
	defer delete(b.open, d.fullName)

	tagged, err := taggedFields(t, path)
	if err != nil {
		return nil, err
	}
	fields, _ := d.schema["fields"].([]any)
	rc := &recordConv{field: path, fields: make([]recordField, 0, len(fields))}
	inSchema := make(map[string]bool, len(fields))
	for _, f := range fields {
		fm, _ := f.(map[string]any)
		name, _ := fm["name"].(string)
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:] // goavro keeps a dotted field name's last part
		}
		inSchema[name] = true
		fieldPath := joinPath(path, name)
		index, ok := tagged[name]
		if !ok {
			return nil, fieldErr(fieldPath, fmt.Errorf("no struct field of %s is tagged avro:%q", t, name))
		}
		c, _, err := b.build(fm, d.namespace, t.Field(index).Type, fieldPath)
		if err != nil {
			return nil, err
		}
		rc.fields = append(rc.fields, recordField{name: name, index: index, conv: c})
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if name, ok := f.Tag.Lookup("avro"); ok && !inSchema[name] {
			return nil, fieldErr(joinPath(path, name), fmt.Errorf("struct field %s.%s is tagged avro:%q but record %s has no such field", t, f.Name, name, d.fullName))
		}
	}
	return rc, nil
}

// taggedFields returns the index of each struct field of t by its avro tag.
func taggedFields(t reflect.Type, path string) (map[string]int, error) {
	tagged := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("avro")
		if !ok {
			continue
		}
		if !f.IsExported() {
			return nil, fieldErr(joinPath(path, name), fmt.Errorf("struct field %s.%s is tagged but not exported", t, f.Name))
		}
		if j, dup := tagged[name]; dup {
			return nil, fieldErr(joinPath(path, name), fmt.Errorf("struct fields %s.%s and %s are both tagged avro:%q", t, t.Field(j).Name, f.Name, name))
		}
		tagged[name] = i
	}
	return tagged, nil
}

func primitive(typeName string, t reflect.Type, path string) (conv, error) {
	k := t.Kind()
	switch typeName {
	case "string":
		if k == reflect.String {
			return &stringConv{field: path}, nil
		}
		return nil, mismatch(path, typeName, "string kind", t)
	case "boolean":
		if k == reflect.Bool {
			return &boolConv{field: path}, nil
		}
		return nil, mismatch(path, typeName, "bool", t)
	case "int":
		if k == reflect.Int || k == reflect.Int32 {
			return &intConv{field: path}, nil
		}
		return nil, mismatch(path, typeName, "int or int32", t)
	case "long":
		if k == reflect.Int || k == reflect.Int64 {
			return &longConv{field: path}, nil
		}
		return nil, mismatch(path, typeName, "int or int64", t)
	case "float":
		if k == reflect.Float32 {
			return &floatConv{field: path}, nil
		}
		return nil, mismatch(path, typeName, "float32", t)
	case "double":
		if k == reflect.Float64 {
			return &doubleConv{field: path}, nil
		}
		return nil, mismatch(path, typeName, "float64", t)
	default: // bytes
		if k == reflect.Slice && t.Elem() == byteType {
			return &bytesConv{field: path}, nil
		}
		return nil, mismatch(path, typeName, "[]byte", t)
	}
}

// container builds an array or a map from the JSON object m that defines it.
func (b *builder) container(typeName string, m map[string]any, ns string, t reflect.Type, path string) (conv, error) {
	if typeName == "array" {
		if t.Kind() != reflect.Slice {
			return nil, mismatch(path, "array", "slice", t)
		}
		items, err := b.buildOnly(m["items"], ns, t.Elem(), path+"[]")
		if err != nil {
			return nil, err
		}
		if items.minSize() == 0 {
			// Nothing would bound a block's count by the bytes left
			// (reflect_check.go).
			return nil, fieldErr(path, errors.New("an array of items that take no bytes is not supported"))
		}
		return &arrayConv{field: path, items: items}, nil
	}
	if t.Kind() != reflect.Map || t.Key().Kind() != reflect.String {
		return nil, mismatch(path, "map", "map with a string-kind key", t)
	}
	values, err := b.buildOnly(m["values"], ns, t.Elem(), path+"{}")
	if err != nil {
		return nil, err
	}
	return &mapConv{field: path, values: values}, nil
}

// buildOnly is build without the branch name.
func (b *builder) buildOnly(schema any, ns string, t reflect.Type, path string) (conv, error) {
	c, _, err := b.build(schema, ns, t, path)
	return c, err
}

// union builds ["null", T] or [T, "null"] for *T.
func (b *builder) union(members []any, ns string, t reflect.Type, path string) (conv, string, error) {
	nullAt := -1
	for i, m := range members {
		if isNull(m) {
			nullAt = i
		}
	}
	if len(members) != 2 || nullAt < 0 || isNull(members[1-nullAt]) {
		return nil, "", fieldErr(path, errors.New("only a union of null and one other type is supported"))
	}
	other := members[1-nullAt]
	if _, nested := other.([]any); nested {
		return nil, "", fieldErr(path, errors.New("a union inside a union is not supported"))
	}
	if t.Kind() != reflect.Pointer {
		return nil, "", mismatch(path, "union with null", "pointer", t)
	}
	c, branch, err := b.build(other, ns, t.Elem(), path)
	if err != nil {
		return nil, "", err
	}
	return &unionConv{field: path, nullAt: nullAt, branch: branch, elem: t.Elem(), value: c}, "union", nil
}

func isNull(schema any) bool {
	if m, ok := schema.(map[string]any); ok {
		schema = m["type"]
	}
	return schema == "null"
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func fieldErr(path string, err error) error {
	if path == "" {
		return err
	}
	return fmt.Errorf("field %s: %w", path, err)
}

func mismatch(path, avroType, want string, have reflect.Type) error {
	return fieldErr(path, fmt.Errorf("Avro %s needs Go %s, not %s", avroType, want, have))
}
