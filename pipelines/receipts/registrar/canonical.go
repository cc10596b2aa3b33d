package registrar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// canonical writes the canonical form of a JSON value as it reads the
// value, and the form is how two bodies are told to be the same body:
// object members sorted by name, a name given twice kept with its last
// value (as decoding into a map keeps it), no white space, strings with
// their escapes resolved and written back by one rule, and numbers and
// literals as written (4.70 is not 4.7: a service may read the digits).
// Two texts have one canonical form exactly when they decode to the same
// value with json.Decoder.UseNumber.
//
// It is one pass over the text, where decoding into maps and marshalling
// them again cost a simulator most of its CPU.
type canonical struct {
	src   []byte
	pos   int
	depth int
}

// maxDepth is how deep values may nest, as deep as encoding/json allows.
const maxDepth = 10000

// member is one member of an object in canonical form.
type member struct {
	name  []byte // as decoded
	value []byte // canonical
}

var errNotObject = errors.New("want a JSON object")

// canonicalObject returns the canonical form of src, which must hold one
// JSON object and nothing but white space after it, and that object's
// members, sorted by name.
func canonicalObject(src []byte) ([]byte, []member, error) {
	c := canonical{src: src}
	c.space()
	if c.pos == len(src) || src[c.pos] != '{' {
		if _, err := c.value(nil); err != nil {
			return nil, nil, err
		}
		return nil, nil, errNotObject
	}
	var spans []span
	out, err := c.object(make([]byte, 0, len(src)), &spans)
	if err != nil {
		return nil, nil, err
	}
	if c.space(); c.pos != len(src) {
		return nil, nil, c.errorf("data after the JSON object")
	}
	members := make([]member, len(spans))
	for i, s := range spans {
		members[i] = member{name: s.name, value: out[s.value:s.end]}
	}
	return out, members, nil
}

func (c *canonical) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", c.pos, fmt.Sprintf(format, args...))
}

func (c *canonical) space() {
	for c.pos < len(c.src) {
		switch c.src[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

// value appends the canonical form of the value at c.pos to out.
func (c *canonical) value(out []byte) ([]byte, error) {
	c.space()
	if c.pos == len(c.src) {
		return nil, c.errorf("unexpected end")
	}
	switch b := c.src[c.pos]; {
	case b == '{':
		return c.object(out, nil)
	case b == '[':
		return c.array(out)
	case b == '"':
		start := c.pos
		s, plain, err := c.str()
		if err != nil {
			return nil, err
		}
		if plain { // its own canonical form
			return append(out, c.src[start:c.pos]...), nil
		}
		return appendString(out, s), nil
	case b == '-' || b >= '0' && b <= '9':
		return c.number(out)
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(c.src[c.pos:], []byte(lit)) {
				c.pos += len(lit)
				return append(out, lit...), nil
			}
		}
		return nil, c.errorf("unexpected %q", b)
	}
}

func (c *canonical) nest() error {
	if c.depth++; c.depth > maxDepth {
		return c.errorf("nested deeper than %d", maxDepth)
	}
	return nil
}

// span is where object wrote a member: "name":value in out[start:end],
// its value from out[value:].
type span struct {
	name              []byte
	start, value, end int
}

// object appends the canonical form of the object at c.pos to out. Its
// members are written as they come, which in most bodies is their order
// already; only when it is not are they sorted afterwards. With members,
// it leaves there where each member is in out.
func (c *canonical) object(out []byte, members *[]span) ([]byte, error) {
	if err := c.nest(); err != nil {
		return nil, err
	}
	defer func() { c.depth-- }()
	c.pos++ // {
	open := len(out)
	out = append(out, '{')
	var local [16]span
	spans := local[:0]
	sorted := true
	c.space()
	if c.pos < len(c.src) && c.src[c.pos] == '}' {
		c.pos++
		return append(out, '}'), nil
	}
	for {
		c.space()
		if c.pos == len(c.src) || c.src[c.pos] != '"' {
			return nil, c.errorf("want a member name")
		}
		name, _, err := c.str()
		if err != nil {
			return nil, err
		}
		if c.space(); c.pos == len(c.src) || c.src[c.pos] != ':' {
			return nil, c.errorf("want ':' after a member name")
		}
		c.pos++
		if len(spans) > 0 {
			out = append(out, ',')
			sorted = sorted && bytes.Compare(spans[len(spans)-1].name, name) < 0
		}
		start := len(out)
		out = append(appendString(out, name), ':')
		at := len(out)
		if out, err = c.value(out); err != nil {
			return nil, err
		}
		spans = append(spans, span{name: name, start: start, value: at, end: len(out)})
		c.space()
		if c.pos == len(c.src) {
			return nil, c.errorf("unexpected end in an object")
		}
		c.pos++
		if c.src[c.pos-1] == '}' {
			break
		}
		if c.src[c.pos-1] != ',' {
			c.pos--
			return nil, c.errorf("want ',' or '}' in an object")
		}
	}
	if !sorted {
		out, spans = resort(out, open, spans)
	}
	if members != nil {
		*members = slices.Clone(spans)
	}
	return append(out, '}'), nil
}

// resort writes again the members of the object opened at out[open],
// sorted by name, and of a name given twice only the last (the sort is
// stable, so the last comes last).
func resort(out []byte, open int, spans []span) ([]byte, []span) {
	written := slices.Clone(out[open+1:])
	slices.SortStableFunc(spans, func(a, b span) int { return bytes.Compare(a.name, b.name) })
	out = out[:open+1]
	kept := spans[:0]
	for i, s := range spans {
		if i+1 < len(spans) && bytes.Equal(spans[i+1].name, s.name) {
			continue
		}
		if len(kept) > 0 {
			out = append(out, ',')
		}
		shift := len(out) - s.start
		out = append(out, written[s.start-open-1:s.end-open-1]...)
		kept = append(kept, span{name: s.name, start: s.start + shift, value: s.value + shift, end: s.end + shift})
	}
	return out, kept
}

// array appends the canonical form of the array at c.pos to out.
func (c *canonical) array(out []byte) ([]byte, error) {
	if err := c.nest(); err != nil {
		return nil, err
	}
	defer func() { c.depth-- }()
	c.pos++ // [
	out = append(out, '[')
	c.space()
	if c.pos < len(c.src) && c.src[c.pos] == ']' {
		c.pos++
		return append(out, ']'), nil
	}
	for i := 0; ; i++ {
		if i > 0 {
			out = append(out, ',')
		}
		var err error
		if out, err = c.value(out); err != nil {
			return nil, err
		}
		c.space()
		if c.pos == len(c.src) {
			return nil, c.errorf("unexpected end in an array")
		}
		c.pos++
		if c.src[c.pos-1] == ']' {
			return append(out, ']'), nil
		}
		if c.src[c.pos-1] != ',' {
			c.pos--
			return nil, c.errorf("want ',' or ']' in an array")
		}
	}
}

// str reads the string at c.pos and returns it decoded, and whether it
// is plain: without escapes, in valid UTF-8, so its own bytes (a slice of
// the source) and its own canonical form. Any other is decoded by
// encoding/json, which resolves escapes and turns invalid UTF-8 into
// U+FFFD.
func (c *canonical) str() ([]byte, bool, error) {
	start := c.pos
	c.pos++ // "
	plain := true
	for {
		if c.pos >= len(c.src) {
			c.pos = len(c.src)
			return nil, false, c.errorf("unexpected end in a string")
		}
		switch b := c.src[c.pos]; {
		case b == '"':
			c.pos++
			raw := c.src[start:c.pos]
			if inner := raw[1 : len(raw)-1]; plain && utf8.Valid(inner) {
				return inner, true, nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				c.pos = start
				return nil, false, c.errorf("a string: %v", err)
			}
			return []byte(s), false, nil
		case b == '\\':
			plain = false
			c.pos += 2 // the escape's first character cannot end the string
		case b < ' ':
			return nil, false, c.errorf("control character %#x in a string", b)
		default:
			c.pos++
		}
	}
}

// appendString appends s as a JSON string by the one rule of the
// canonical form: a quote, a backslash and control characters escaped,
// everything else as it is.
func appendString(out, s []byte) []byte {
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b == '"' || b == '\\':
			out = append(out, '\\', b)
		case b < ' ':
			out = fmt.Appendf(out, `\u%04x`, b)
		default:
			out = append(out, b)
		}
	}
	return append(out, '"')
}

// number appends the number at c.pos as written, once its grammar holds.
func (c *canonical) number(out []byte) ([]byte, error) {
	start := c.pos
	digits := func() int {
		n := 0
		for c.pos < len(c.src) && c.src[c.pos] >= '0' && c.src[c.pos] <= '9' {
			c.pos++
			n++
		}
		return n
	}
	if c.src[c.pos] == '-' {
		c.pos++
	}
	switch {
	case c.pos < len(c.src) && c.src[c.pos] == '0':
		c.pos++
	case digits() == 0:
		return nil, c.errorf("a number without digits")
	}
	if c.pos < len(c.src) && c.src[c.pos] == '.' {
		c.pos++
		if digits() == 0 {
			return nil, c.errorf("a number without digits after its point")
		}
	}
	if c.pos < len(c.src) && (c.src[c.pos] == 'e' || c.src[c.pos] == 'E') {
		c.pos++
		if c.pos < len(c.src) && (c.src[c.pos] == '+' || c.src[c.pos] == '-') {
			c.pos++
		}
		if digits() == 0 {
			return nil, c.errorf("a number without digits in its exponent")
		}
	}
	return append(out, c.src[start:c.pos]...), nil
}
