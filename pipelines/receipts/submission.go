// Package receipts is the receipt registration pipeline (RC-1..RC-14).
// This file reads what a service submits: a receipt in JSON or XML, of a
// type in force, valid under that type.
package receipts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/pipelines/receipts/receipttype"
	"github.com/rationhq/ration/pipelines/receipts/xmlreceipt"
)

// Limits on a submitted receipt.
const (
	// MaxBody is the largest receipt accepted, in bytes.
	MaxBody = 256 << 10
	// MaxDepth is the deepest nesting of objects and arrays (of elements,
	// in XML) accepted.
	MaxDepth = xmlreceipt.MaxDepth
)

// ReceiptIDPattern is what a client's receipt id must match. The id of a
// receipt in ration is "<client name>:<receipt id>", so one client's ids
// never meet another's.
var ReceiptIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// The content types of a receipt.
const (
	ContentJSON = "application/json"
	ContentXML  = "application/xml"
)

// Submission is a valid receipt as submitted.
type Submission struct {
	Type        string
	ReceiptID   string
	ContentType string         // ContentJSON or ContentXML
	Document    []byte         // the bytes as sent
	Value       map[string]any // its JSON value, as validated
	Digest      string         // hex SHA-256 of Document: the same body is the same receipt
}

// JSON returns the receipt's value in JSON: a JSON receipt's own bytes,
// an XML receipt's mapping onto JSON.
func (s Submission) JSON() ([]byte, error) {
	if s.ContentType == ContentJSON {
		return s.Document, nil
	}
	return json.Marshal(s.Value)
}

// Types are the receipt types in force (a receipttype.Registry).
type Types interface {
	Get(name string) (receipttype.Entry, bool)
}

// Read reads and validates one submitted receipt. Its errors are
// *api.Error: 415 for a content type other than JSON or XML, 413 for a
// body over MaxBody, 400 for a body that is not a receipt in its format
// (malformed, too deep, a DOCTYPE...), 422 for an unknown type, a missing
// or invalid receipt id, or a receipt its type refuses, with every reason.
func Read(contentType string, body io.Reader, types Types) (Submission, error) {
	ct, err := mediaType(contentType)
	if err != nil {
		return Submission{}, err
	}
	doc, err := io.ReadAll(io.LimitReader(body, MaxBody+1))
	if err != nil {
		return Submission{}, api.BadRequest("reading the body: %v", err)
	}
	if len(doc) > MaxBody {
		return Submission{}, api.Errorf(http.StatusRequestEntityTooLarge, "a receipt is at most %d bytes", MaxBody)
	}
	s := Submission{ContentType: ct, Document: doc}
	sum := sha256.Sum256(doc)
	s.Digest = hex.EncodeToString(sum[:])
	var typ receipttype.Entry
	switch ct {
	case ContentJSON:
		s.Value, err = readJSON(doc)
		if err != nil {
			return Submission{}, err
		}
		s.Type, _ = s.Value["type"].(string)
		s.ReceiptID, _ = s.Value["receipt_id"].(string)
		if typ, err = lookup(types, s.Type, s.Value["type"] != nil); err != nil {
			return Submission{}, err
		}
	case ContentXML:
		e, err := xmlreceipt.Parse(bytes.NewReader(doc))
		if err != nil {
			return Submission{}, api.BadRequest("%v", err)
		}
		name, id, err := e.Head()
		if err != nil {
			return Submission{}, api.BadRequest("%v", err)
		}
		if typ, err = lookup(types, name, name != ""); err != nil {
			return Submission{}, err
		}
		if s.Value, err = e.JSON(typ); err != nil {
			return Submission{}, api.BadRequest("%v", err)
		}
		s.Type, s.ReceiptID = name, id
	}
	if !ReceiptIDPattern.MatchString(s.ReceiptID) {
		return Submission{}, invalid(typ.Name, []receipttype.Reason{{Path: "/receipt_id",
			Message: fmt.Sprintf("a receipt id is a letter or digit, then up to 63 letters, digits, _, . or -; got %q", api.Clip(s.ReceiptID, 70))}})
	}
	if rs := typ.Validate(s.Value); rs != nil {
		return Submission{}, invalid(typ.Name, rs)
	}
	return s, nil
}

// mediaType accepts JSON and XML, in UTF-8.
func mediaType(contentType string) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != ContentJSON && mt != ContentXML) {
		return "", api.Errorf(http.StatusUnsupportedMediaType, "a receipt is %s or %s, not %q", ContentJSON, ContentXML, api.Clip(contentType, 60))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return "", api.Errorf(http.StatusUnsupportedMediaType, "a receipt is UTF-8, not %q", api.Clip(cs, 30))
	}
	return mt, nil
}

// readJSON reads one JSON object, no deeper than MaxDepth and followed by
// nothing but white space, numbers as json.Number (as the schema
// validator reads them).
func readJSON(doc []byte) (map[string]any, error) {
	if err := checkDepth(doc); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, api.BadRequest("not JSON: %v", err)
	}
	if len(bytes.TrimSpace(doc[dec.InputOffset():])) > 0 {
		return nil, api.BadRequest("not JSON: more after the receipt's object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, api.BadRequest("a receipt is a JSON object")
	}
	return obj, nil
}

// checkDepth refuses JSON nested deeper than MaxDepth before anything is
// built from it. It counts brackets outside strings and nothing else:
// whether the rest is JSON is the parser's to say.
func checkDepth(doc []byte) error {
	depth, inString, escaped := 0, false, false
	for _, c := range doc {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > MaxDepth {
				return api.BadRequest("JSON nested deeper than %d", MaxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// lookup finds the type a receipt names.
func lookup(types Types, name string, named bool) (receipttype.Entry, error) {
	if !named || name == "" {
		return receipttype.Entry{}, invalid("", []receipttype.Reason{{Path: "/type", Message: "a receipt names its type"}})
	}
	t, ok := types.Get(name)
	if !ok {
		return receipttype.Entry{}, invalid("", []receipttype.Reason{{Path: "/type",
			Message: fmt.Sprintf("no receipt type %q (GET /v1/receipt-types lists them)", api.Clip(name, 70))}})
	}
	return t, nil
}

// invalid is the 422 of a receipt with reasons.
func invalid(typ string, rs []receipttype.Reason) error {
	msg := fmt.Sprintf("the receipt is not valid: %d reasons", len(rs))
	if typ != "" {
		msg = fmt.Sprintf("the receipt is not a valid %s receipt: %d reasons", typ, len(rs))
	}
	if len(rs) == 1 {
		msg = strings.Replace(msg, "1 reasons", "1 reason", 1)
	}
	return api.Errorf(http.StatusUnprocessableEntity, "%s", msg).WithReasons(rs)
}
