package xmlreceipt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rationhq/ration/pipelines/receipts/receipttype"
	"github.com/rationhq/ration/pipelines/receipts/xmlreceipt"
)

const samples = "../../../docs/receipts"

func sampleType(t testing.TB, name string) *receipttype.Type {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(samples, "types", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	typ, err := receipttype.Compile(name, doc)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

func read(t testing.TB, typ *receipttype.Type, doc []byte) (map[string]any, error) {
	t.Helper()
	e, err := xmlreceipt.Parse(bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	return e.JSON(typ)
}

// TestSamplesReadAsTheirJSON: each sample receipt in XML reads as the
// same value as its JSON twin (but for its id), and is valid.
func TestSamplesReadAsTheirJSON(t *testing.T) {
	for _, name := range []string{"retail", "fuel", "pharmacy", "restaurant"} {
		t.Run(name, func(t *testing.T) {
			typ := sampleType(t, name)
			doc, err := os.ReadFile(filepath.Join(samples, "samples", name+".xml"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := read(t, typ, doc)
			if err != nil {
				t.Fatal(err)
			}
			jb, err := os.ReadFile(filepath.Join(samples, "samples", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := jsonschema.UnmarshalJSON(bytes.NewReader(jb))
			if err != nil {
				t.Fatal(err)
			}
			if rs := typ.Validate(got); rs != nil {
				t.Fatal(rs)
			}
			delete(got, "receipt_id")
			delete(want.(map[string]any), "receipt_id")
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Fatalf("XML reads as\n%s\nJSON is\n%s", g, w)
			}
		})
	}
}

// TestTheSchemaSaysWhatATextIs: one line is still a list, a number where
// the schema says string stays a string, and a text that is no number
// where one is declared stays a string for the schema to report there.
func TestTheSchemaSaysWhatATextIs(t *testing.T) {
	typ := sampleType(t, "retail")
	got, err := read(t, typ, []byte(`<receipt type="retail" id="A-1"><merchant><tax_id>0079927398713</tax_id></merchant>
<lines><line><quantity>2</quantity><price>1e2</price><amount>twelve</amount></line></lines><total>007</total></receipt>`))
	if err != nil {
		t.Fatal(err)
	}
	lines := got["lines"].([]any)
	line := lines[0].(map[string]any)
	if len(lines) != 1 || line["quantity"] != json.Number("2") || line["price"] != json.Number("1e2") || line["amount"] != "twelve" {
		t.Errorf("lines read as %#v", lines)
	}
	if got["merchant"].(map[string]any)["tax_id"] != "0079927398713" || got["total"] != "007" {
		t.Errorf("tax id %#v, total %#v", got["merchant"], got["total"])
	}
	found := false
	for _, r := range typ.Validate(got) {
		found = found || r.Path == "/lines/0/amount"
	}
	if !found {
		t.Errorf("the schema says nothing at /lines/0/amount: %v", typ.Validate(got))
	}
}

// TestRefused: what is not a receipt in XML is refused as such, before
// anything is expanded or fetched.
func TestRefused(t *testing.T) {
	deep := strings.Repeat("<a>", xmlreceipt.MaxDepth) + strings.Repeat("</a>", xmlreceipt.MaxDepth)
	for name, doc := range map[string]string{
		"malformed":        `<receipt type="retail" id="1"><total>1</receipt>`,
		"doctype":          `<!DOCTYPE receipt><receipt type="retail" id="1"/>`,
		"external entity":  `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><receipt type="retail" id="1"><total>&x;</total></receipt>`,
		"billion laughs":   `<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><receipt type="retail" id="1"><total>&b;</total></receipt>`,
		"undefined entity": `<receipt type="retail" id="1"><total>&x;</total></receipt>`,
		"too deep":         `<receipt type="retail" id="1">` + deep + `</receipt>`,
		"mixed content":    `<receipt type="retail" id="1">text<total>1</total></receipt>`,
		"twice":            `<receipt type="retail" id="1"><total>1</total><total>2</total></receipt>`,
		"child attribute":  `<receipt type="retail" id="1"><total unit="EUR">1</total></receipt>`,
		"other attribute":  `<receipt type="retail" id="1" lang="en"/>`,
		"namespace":        `<receipt xmlns="urn:x" type="retail" id="1"/>`,
		"other root":       `<invoice type="retail" id="1"/>`,
		"two roots":        `<receipt type="retail" id="1"/><receipt type="retail" id="2"/>`,
		"processing":       `<receipt type="retail" id="1"><?php echo 1 ?></receipt>`,
		"type element":     `<receipt type="retail" id="1"><type>fuel</type></receipt>`,
		"empty":            ``,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := read(t, sampleType(t, "retail"), []byte(doc))
			if !errors.Is(err, xmlreceipt.ErrSyntax) {
				t.Fatalf("got %v, want a syntax error", err)
			}
			t.Log(err)
		})
	}
}

// FuzzXMLReceipt: no document makes the mapping panic, and what it reads
// is JSON.
func FuzzXMLReceipt(f *testing.F) {
	typ := sampleType(f, "pharmacy")
	for _, name := range []string{"retail", "pharmacy"} {
		b, _ := os.ReadFile(filepath.Join(samples, "samples", name+".xml"))
		f.Add(b)
	}
	f.Add([]byte(`<receipt type="x" id="1"><lines><line/><line>1</line></lines></receipt>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := read(t, typ, doc)
		if err != nil {
			return
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatal(fmt.Errorf("read a value JSON cannot hold: %w", err))
		}
		_ = typ.Validate(got)
	})
}
