package receipttype

import (
	"strconv"
	"strings"
)

// Kind is the JSON type a schema declares for a value: "object", "array",
// "string", "number", "integer", "boolean", "null", or "" when it declares
// none (or the path leaves what it describes).
type Kind string

// Declared returns the kind the type's schema declares at path: property
// names, and any array index (or "*") for an array's items. It follows
// local $refs, "properties", "items", "additionalProperties" and the
// branches of allOf, anyOf and oneOf (the first that declares a kind);
// of a list of types it takes the first that is not "null". It is what
// maps an XML receipt onto JSON (package xmlreceipt): the schema says
// where a list is and what a text is.
func (t *Type) Declared(path []string) Kind {
	return declared(t.shape, t.shape, path, 0)
}

// maxRefs bounds the $refs followed for one path (a schema may refer to
// itself).
const maxRefs = 32

func declared(root, s any, path []string, refs int) Kind {
	obj, ok := s.(map[string]any)
	if !ok || refs > maxRefs {
		return ""
	}
	if ref, ok := obj["$ref"].(string); ok {
		if target, ok := resolve(root, ref); ok {
			if k := declared(root, target, path, refs+1); k != "" {
				return k
			}
		}
	}
	if len(path) == 0 {
		if k := ownKind(obj); k != "" {
			return k
		}
	} else if next, ok := child(obj, path[0]); ok {
		if k := declared(root, next, path[1:], refs); k != "" {
			return k
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		branches, _ := obj[key].([]any)
		for _, b := range branches {
			if k := declared(root, b, path, refs); k != "" {
				return k
			}
		}
	}
	return ""
}

// ownKind is the kind obj declares by "type" (or implies by "properties"
// or "items").
func ownKind(obj map[string]any) Kind {
	switch t := obj["type"].(type) {
	case string:
		return Kind(t)
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok && s != "null" {
				return Kind(s)
			}
		}
	}
	if _, ok := obj["properties"]; ok {
		return "object"
	}
	if _, ok := obj["items"]; ok {
		return "array"
	}
	return ""
}

// child is the schema of step inside obj: an array's items for an index
// (or "*"), else a property's schema, else additionalProperties.
func child(obj map[string]any, step string) (any, bool) {
	if _, err := strconv.Atoi(step); err == nil || step == "*" {
		if items, ok := obj["items"]; ok {
			return items, true
		}
	}
	if props, ok := obj["properties"].(map[string]any); ok {
		if p, ok := props[step]; ok {
			return p, true
		}
	}
	if ap, ok := obj["additionalProperties"].(map[string]any); ok {
		return ap, true
	}
	return nil, false
}

// resolve follows a local JSON pointer reference ("#", "#/$defs/line").
func resolve(root any, ref string) (any, bool) {
	if ref == "#" {
		return root, true
	}
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	cur := root
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
