// Package receipttype is what a receipt type is: a JSON Schema (2020-12)
// for the shape of its receipts and named rules in CEL for what a schema
// cannot say (the lines add up to the total, a date not in the future, a
// tax id's check digit). A type is one JSON document,
//
//	{"description": "...", "schema": {<JSON Schema>},
//	 "rules": {"<rule name>": "<CEL expression over receipt, true when the rule holds>"}}
//
// compiled once (Compile) and then used to validate receipts (Validate),
// which reports every violation found, each with the JSON pointer of the
// value it is about.
package receipttype

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/rationhq/ration"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Document is a receipt type as admins write it.
type Document struct {
	Description string            `json:"description"`
	Schema      json.RawMessage   `json:"schema"`
	Rules       map[string]string `json:"rules,omitempty"`
}

// Reason is one violation: where (a JSON pointer into the receipt, "" for
// the whole of it) and what.
type Reason = ration.Reason

// Type is a compiled receipt type.
type Type struct {
	Name     string
	Document Document
	schema   *jsonschema.Schema
	rules    []rule
	// shape is the schema as a JSON value, for finding what it declares
	// at a path (Declared).
	shape any
}

type rule struct {
	name string
	prg  cel.Program
}

// NamePattern is what a type's name must match.
var NamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// Limits on a type document.
const (
	MaxDocumentBytes = 256 << 10
	MaxRules         = 64
	MaxRuleBytes     = 4 << 10
)

// ErrInvalid marks a document that does not compile; its reasons say why.
var ErrInvalid = errors.New("invalid receipt type")

// InvalidError is a document that does not compile, with every reason.
type InvalidError struct{ Reasons []Reason }

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Reasons))
	for i, r := range e.Reasons {
		msgs[i] = r.Path + ": " + r.Message
	}
	return "invalid receipt type: " + strings.Join(msgs, "; ")
}

func (e *InvalidError) Unwrap() error { return ErrInvalid }

// Compile parses and compiles the type document doc called name. A
// document that does not compile is an *InvalidError listing every
// reason found (paths are JSON pointers into the document).
func Compile(name string, doc []byte) (*Type, error) {
	invalid := func(rs ...Reason) error { return &InvalidError{Reasons: rs} }
	if !NamePattern.MatchString(name) {
		return nil, invalid(Reason{Path: "", Message: fmt.Sprintf("a type name is a lower-case letter, then up to 63 letters, digits, _ or -; got %.70q", name)})
	}
	if len(doc) > MaxDocumentBytes {
		return nil, invalid(Reason{Path: "", Message: fmt.Sprintf("a type document is at most %d bytes", MaxDocumentBytes)})
	}
	var d Document
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, invalid(Reason{Path: "", Message: "not a type document: " + err.Error()})
	}
	var reasons []Reason
	if len(d.Schema) == 0 || string(d.Schema) == "null" {
		reasons = append(reasons, Reason{Path: "/schema", Message: "a type needs a schema"})
	}
	if len(d.Rules) > MaxRules {
		reasons = append(reasons, Reason{Path: "/rules", Message: fmt.Sprintf("at most %d rules", MaxRules)})
	}
	t := &Type{Name: name, Document: d}
	if len(d.Schema) > 0 {
		sch, shape, rs := compileSchema(name, d.Schema)
		t.schema, t.shape = sch, shape
		reasons = append(reasons, rs...)
	}
	names := make([]string, 0, len(d.Rules))
	for n := range d.Rules {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		prg, err := compileRule(n, d.Rules[n])
		if err != nil {
			reasons = append(reasons, Reason{Path: "/rules/" + pointerEscape(n), Message: err.Error()})
			continue
		}
		t.rules = append(t.rules, rule{name: n, prg: prg})
	}
	if reasons != nil {
		return nil, invalid(reasons...)
	}
	return t, nil
}

// compileSchema compiles a type's JSON Schema, draft 2020-12 unless it
// says otherwise. Its $refs resolve inside it only: nothing is fetched.
func compileSchema(name string, raw json.RawMessage) (*jsonschema.Schema, any, []Reason) {
	shape, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, []Reason{{Path: "/schema", Message: "not JSON: " + err.Error()}}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // "format": "date-time" is checked, not an annotation
	c.UseLoader(refuseLoader{})
	url := "urn:ration:receipt-type:" + name
	if err := c.AddResource(url, shape); err != nil {
		return nil, nil, []Reason{{Path: "/schema", Message: err.Error()}}
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, nil, []Reason{{Path: "/schema", Message: err.Error()}}
	}
	return sch, shape, nil
}

// refuseLoader fetches nothing: a type's schema is one document.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("a receipt type's schema cannot refer outside itself (%s)", url)
}

// Validate checks receipt (a JSON value as jsonschema.UnmarshalJSON or
// encoding/json with UseNumber gives it) against the type's schema and
// then, if it has the shape, its rules; it returns every violation found,
// none for a valid receipt.
func (t *Type) Validate(receipt any) []Reason {
	if err := t.schema.Validate(receipt); err != nil {
		return schemaReasons(err)
	}
	var reasons []Reason
	vars := map[string]any{"receipt": celValue(receipt), "now": time.Now()}
	for _, r := range t.rules {
		if msg := r.check(vars); msg != "" {
			reasons = append(reasons, Reason{Path: "", Message: msg})
		}
	}
	return reasons
}

// schemaReasons flattens a validation error into one reason per failed
// keyword (the leaves of its tree of causes), in the order the validator
// found them.
func schemaReasons(err error) []Reason {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Reason{{Path: "", Message: err.Error()}}
	}
	var reasons []Reason
	seen := make(map[Reason]bool)
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			r := Reason{Path: pointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(english)}
			if !seen[r] {
				seen[r] = true
				reasons = append(reasons, r)
			}
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return reasons
}

var english = message.NewPrinter(language.English)

// pointer is the JSON pointer of a path's tokens.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(pointerEscape(t))
	}
	return b.String()
}

func pointerEscape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
