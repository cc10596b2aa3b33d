// Package xmlreceipt reads a receipt written in XML as the JSON value the
// same receipt has in JSON, so that one schema validates both. The rule:
//
//  1. The root element is <receipt>, without a namespace. Its attributes
//     type and id are the receipt's "type" and "receipt_id"; it has no
//     other attributes, and no other element has any.
//  2. Every other element is a property of the object its parent is,
//     named by the element's name.
//  3. Where the type's schema declares an array, the element's child
//     elements, whatever their names (<line>, <item>), are its items in
//     order.
//  4. An element with child elements is an object (or, by 3, an array);
//     an element without is a value: its text, trimmed of surrounding
//     white space, as a number where the schema declares "number" or
//     "integer", as true or false where it declares "boolean", and as a
//     string anywhere else. A text that is no number where a number is
//     declared stays a string, so the schema reports it where it is.
//  5. An element that appears twice in an object, text beside child
//     elements, a DOCTYPE, an entity other than XML's five and character
//     references, a processing instruction other than the XML declaration,
//     and nesting deeper than MaxDepth are refused: nothing is fetched or
//     expanded.
//
// So
//
//	<receipt type="retail" id="R-1">
//	  <total>4.7</total>
//	  <lines><line><product>Milk</product><quantity>2</quantity></line></lines>
//	</receipt>
//
// reads as {"type": "retail", "receipt_id": "R-1", "total": 4.7,
// "lines": [{"product": "Milk", "quantity": 2}]} where the schema declares
// lines an array and total and quantity numbers.
package xmlreceipt

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rationhq/ration/pipelines/receipts/receipttype"
)

// MaxDepth is the deepest nesting of elements read.
const MaxDepth = 64

// ErrSyntax marks a document that is not a receipt in XML (as opposed to
// a receipt that its type refuses).
var ErrSyntax = errors.New("not a receipt in XML")

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, args...))
}

// Element is one element of a parsed receipt: a value (Text) or child
// elements, never both.
type Element struct {
	Name     string
	Attrs    map[string]string
	Text     string
	Children []*Element
}

// Parse reads one XML document into its element tree, refusing what rule
// 5 refuses.
func Parse(r io.Reader) (*Element, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	d.Entity = nil // XML's five entities only; an undefined one is an error
	var (
		stack []*Element
		root  *Element
		text  strings.Builder
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxErr("%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, syntaxErr("a second root element <%s>", t.Name.Local)
			}
			if len(stack) >= MaxDepth {
				return nil, syntaxErr("elements nested deeper than %d", MaxDepth)
			}
			if t.Name.Space != "" {
				return nil, syntaxErr("element <%s> has a namespace", t.Name.Local)
			}
			e := &Element{Name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space != "" && a.Name.Space != "xmlns" {
					return nil, syntaxErr("attribute %s:%s of <%s>", a.Name.Space, a.Name.Local, e.Name)
				}
				if e.Attrs == nil {
					e.Attrs = make(map[string]string)
				}
				e.Attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				if strings.TrimSpace(text.String()) != "" {
					return nil, syntaxErr("<%s> has both text and elements", parent.Name)
				}
				parent.Children = append(parent.Children, e)
			} else {
				root = e
			}
			text.Reset()
			stack = append(stack, e)
		case xml.EndElement:
			e := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(e.Children) == 0 {
				e.Text = strings.TrimSpace(text.String())
			} else if strings.TrimSpace(text.String()) != "" {
				return nil, syntaxErr("<%s> has both text and elements", e.Name)
			}
			text.Reset()
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, syntaxErr("text outside the root element")
				}
				continue
			}
			text.Write(t)
		case xml.Directive:
			return nil, syntaxErr("a DOCTYPE or other directive (<!%.20s...>) is not accepted", string(t))
		case xml.ProcInst:
			if t.Target != "xml" || root != nil {
				return nil, syntaxErr("processing instruction <?%s?> is not accepted", t.Target)
			}
		case xml.Comment:
		}
	}
	if root == nil {
		return nil, syntaxErr("no root element")
	}
	return root, nil
}

// Head returns the type and id the root element names.
func (e *Element) Head() (typeName, id string, err error) {
	if e.Name != "receipt" {
		return "", "", syntaxErr("the root element is <%s>, not <receipt>", e.Name)
	}
	for k := range e.Attrs {
		if k != "type" && k != "id" {
			return "", "", syntaxErr("<receipt> has attribute %s; only type and id are read", k)
		}
	}
	return e.Attrs["type"], e.Attrs["id"], nil
}

// Schema is what the mapping asks of a receipt type.
type Schema interface {
	Declared(path []string) receipttype.Kind
}

// JSON maps the receipt e onto its JSON value under the type's schema s.
func (e *Element) JSON(s Schema) (map[string]any, error) {
	typeName, id, err := e.Head()
	if err != nil {
		return nil, err
	}
	obj, err := object(e, s, nil)
	if err != nil {
		return nil, err
	}
	if _, ok := obj["type"]; ok {
		return nil, syntaxErr("<receipt> has a <type> element; the type is its attribute")
	}
	if _, ok := obj["receipt_id"]; ok {
		return nil, syntaxErr("<receipt> has a <receipt_id> element; the id is its attribute id")
	}
	obj["type"], obj["receipt_id"] = typeName, id
	return obj, nil
}

func object(e *Element, s Schema, path []string) (map[string]any, error) {
	if e.Attrs != nil && len(path) > 0 {
		return nil, syntaxErr("<%s> has attributes; only <receipt> has any", e.Name)
	}
	obj := make(map[string]any, len(e.Children))
	for _, c := range e.Children {
		if _, dup := obj[c.Name]; dup {
			return nil, syntaxErr("<%s> appears twice in <%s>", c.Name, e.Name)
		}
		v, err := value(c, s, append(path[:len(path):len(path)], c.Name))
		if err != nil {
			return nil, err
		}
		obj[c.Name] = v
	}
	return obj, nil
}

func value(e *Element, s Schema, path []string) (any, error) {
	if e.Attrs != nil {
		return nil, syntaxErr("<%s> has attributes; only <receipt> has any", e.Name)
	}
	kind := s.Declared(path)
	switch {
	case kind == "array":
		items := make([]any, 0, len(e.Children))
		if len(e.Children) == 0 && e.Text != "" {
			return nil, syntaxErr("<%s> is a list: its items are elements, not text", e.Name)
		}
		for i, c := range e.Children {
			v, err := value(c, s, append(path[:len(path):len(path)], strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		}
		return items, nil
	case len(e.Children) > 0:
		return object(e, s, path)
	case kind == "object":
		return map[string]any{}, nil
	case kind == "number" || kind == "integer":
		if _, err := strconv.ParseFloat(e.Text, 64); err == nil && json.Valid([]byte(e.Text)) {
			return json.Number(e.Text), nil
		}
	case kind == "boolean":
		switch e.Text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return e.Text, nil
}
