package receipttype_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rationhq/ration/bench"
	"github.com/rationhq/ration/pipelines/receipts/receipttype"
)

// samples is where the shipped sample types and receipts live.
const samples = "../../../docs/receipts"

// SampleTypes compiles every shipped sample type.
func sampleTypes(t testing.TB) map[string]*receipttype.Type {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(samples, "types", "*.json"))
	if err != nil || len(files) < 4 {
		t.Fatalf("sample types: %v (%d files)", err, len(files))
	}
	types := make(map[string]*receipttype.Type)
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		typ, err := receipttype.Compile(name, doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		types[name] = typ
	}
	return types
}

func readJSON(t testing.TB, b []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sample(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, "samples", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return readJSON(t, b).(map[string]any)
}

// TestSamplesAreValid: every shipped sample receipt is valid under its
// type.
func TestSamplesAreValid(t *testing.T) {
	for name, typ := range sampleTypes(t) {
		if rs := typ.Validate(sample(t, name)); rs != nil {
			t.Errorf("%s: %v", name, rs)
		}
	}
}

// TestEveryViolationIsReported: a receipt that breaks its schema in three
// places gets three reasons, each at its path; one with the right shape
// that breaks three rules gets the three rules.
func TestEveryViolationIsReported(t *testing.T) {
	retail := sampleTypes(t)["retail"]
	r := sample(t, "retail")
	delete(r, "currency")
	r["lines"].([]any)[1].(map[string]any)["quantity"] = json.Number("-1")
	r["colour"] = "red"
	rs := retail.Validate(r)
	want := map[string]string{"": "currency", "/lines/1/quantity": "exclusiveMinimum", "/colour": ""}
	for path, word := range want {
		found := false
		for _, reason := range rs {
			found = found || (reason.Path == path && strings.Contains(reason.Message, word)) ||
				(path == "/colour" && strings.Contains(reason.Message, "colour"))
		}
		if !found {
			t.Errorf("no reason at %q (mentioning %q) among %v", path, word, rs)
		}
	}

	r = sample(t, "retail")
	r["total"] = json.Number("5.7")
	r["issued_at"] = "2999-01-01T00:00:00Z"
	r["merchant"].(map[string]any)["tax_id"] = "79927398710"
	rs = retail.Validate(r)
	var rules []string
	for _, reason := range rs {
		rules = append(rules, reason.Message)
	}
	for _, rule := range []string{"lines_add_up_to_total", "not_in_future", "merchant_tax_id_check_digit"} {
		if !strings.Contains(strings.Join(rules, "\n"), "rule "+rule+" ") {
			t.Errorf("rule %s not reported: %v", rule, rules)
		}
	}
	if len(rs) != 3 {
		t.Errorf("%d reasons, want 3: %v", len(rs), rs)
	}
}

// TestBrokenTypesAreRefusedWithReasons: a type document that does not
// compile is refused, saying where and why, every reason at once.
func TestBrokenTypesAreRefusedWithReasons(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string // paths with a reason
	}{
		{"not json", `{"schema":`, []string{""}},
		{"unknown field", `{"schema": {}, "rulez": {}}`, []string{""}},
		{"no schema", `{"description": "x"}`, []string{"/schema"}},
		{"bad schema", `{"schema": {"type": 12}}`, []string{"/schema"}},
		{"outside ref", `{"schema": {"$ref": "https://example.com/s.json"}}`, []string{"/schema"}},
		{"file ref", `{"schema": {"$ref": "file:///etc/passwd"}}`, []string{"/schema"}},
		{"bad rules", `{"schema": {}, "rules": {"a": "receipt.total >", "b/c": "1 + 1", "ok": "true"}}`, []string{"/rules/a", "/rules/b~1c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := receipttype.Compile("x", []byte(tc.doc))
			var inv *receipttype.InvalidError
			if !errors.As(err, &inv) || !errors.Is(err, receipttype.ErrInvalid) {
				t.Fatalf("Compile = %v, want an InvalidError", err)
			}
			var paths []string
			for _, r := range inv.Reasons {
				paths = append(paths, r.Path)
			}
			if !reflect.DeepEqual(paths, tc.want) {
				t.Fatalf("reasons at %q, want %q: %v", paths, tc.want, inv.Reasons)
			}
		})
	}
	if _, err := receipttype.Compile("Bad Name", []byte(`{"schema": {}}`)); !errors.Is(err, receipttype.ErrInvalid) {
		t.Errorf("a bad name: %v", err)
	}
}

// TestARuleThatErrsIsAReason: a rule that fails to evaluate (a missing
// field) is a reason, not a crash or a pass.
func TestARuleThatErrsIsAReason(t *testing.T) {
	typ, err := receipttype.Compile("x", []byte(`{"schema": {}, "rules": {"has_total": "receipt.total > 0.0"}}`))
	if err != nil {
		t.Fatal(err)
	}
	rs := typ.Validate(map[string]any{})
	if len(rs) != 1 || !strings.Contains(rs[0].Message, "rule has_total") {
		t.Fatalf("reasons %v", rs)
	}
}

// TestDeclared: what the schema declares along a path, through $refs and
// array items.
func TestDeclared(t *testing.T) {
	typ := sampleTypes(t)["pharmacy"]
	for path, want := range map[string]receipttype.Kind{
		"":                        "object",
		"lines":                   "array",
		"lines/0":                 "object",
		"lines/*/quantity":        "number",
		"lines/3/prescription":    "boolean",
		"merchant/tax_id":         "string",
		"total":                   "number",
		"nothing/here":            "",
		"lines/0/product/further": "",
	} {
		var p []string
		if path != "" {
			p = strings.Split(path, "/")
		}
		if got := typ.Declared(p); got != want {
			t.Errorf("Declared(%s) = %q, want %q", path, got, want)
		}
	}
}

// FuzzValidate: no receipt makes validation panic, whatever its shape.
func FuzzValidate(f *testing.F) {
	types := sampleTypes(f)
	for _, name := range []string{"retail", "fuel", "pharmacy", "restaurant"} {
		b, _ := os.ReadFile(filepath.Join(samples, "samples", name+".json"))
		f.Add(name, b)
	}
	f.Add("retail", []byte(`{"lines": [{"amount": "x"}], "total": null}`))
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		typ, ok := types[name]
		if !ok {
			return
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return
		}
		_ = typ.Validate(v)
	})
}

// BenchmarkValidate: the retail type on the load's receipt of about 2 kB
// (fifteen lines), by part: the schema alone (a type without rules), the
// rules too.
func BenchmarkValidate(b *testing.B) {
	retail := sampleTypes(b)["retail"]
	receipt := readJSON(b, bench.Receipt("r-1", time.Now().Add(-time.Hour)))
	shapeOnly, err := receipttype.Compile("retail", mustJSON(b, receipttype.Document{Description: "shape", Schema: retail.Document.Schema}))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		typ  *receipttype.Type
	}{{"schema", shapeOnly}, {"schema+rules", retail}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rs := c.typ.Validate(receipt); rs != nil {
					b.Fatal(rs)
				}
			}
		})
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
