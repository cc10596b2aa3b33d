package registrar

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheckKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{"k", true},
		{"receipt/R-1/tax", true},
		{"a b", true},
		{"~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", true},
		{strings.Repeat("k", MaxKeyLen), true},
		{"", false},
		{strings.Repeat("k", MaxKeyLen+1), false},
		{" k", false},
		{"k ", false},
		{"k\t", false},
		{"k\x7f", false},
		{"clé", false},
	} {
		err := CheckKey(tc.key)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidKey)) {
			t.Errorf("CheckKey(%q) = %v, want ok %v", tc.key, err, tc.ok)
		}
	}
}

// TestDigestIsOfTheJSONValue: bodies that are the same JSON value have
// one digest; bodies that differ in any field, ignored ones too, do not.
func TestDigestIsOfTheJSONValue(t *testing.T) {
	const base = `{"receipt_id":"R-1","client":"acme","total":4.70,"currency":"EUR","issued_at":"2025-03-01T10:00:00Z"}`
	digest := func(body string) [32]byte {
		t.Helper()
		reg, err := decodeRegistration([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return reg.digest
	}
	same := []string{
		"\n" + strings.ReplaceAll(base, ",", " ,\n\t") + "\n",
		`{"issued_at":"2025-03-01T10:00:00Z","currency":"EUR","total":4.70,"client":"acme","receipt_id":"R-1"}`,
		`{"receipt_id":"R\u002d1","client":"acme","total":4.70,"currency":"EUR","issued_at":"2025-03-01T10:00:00Z"}`,
	}
	for _, body := range same {
		if digest(body) != digest(base) {
			t.Errorf("%s: another digest than %s", body, base)
		}
	}
	other := []string{
		strings.Replace(base, "4.70", "4.7", 1), // as written: a service may read the digits
		strings.Replace(base, "acme", "acne", 1),
		strings.Replace(base, "}", `,"note":"x"}`, 1),
	}
	for _, body := range other {
		if digest(body) == digest(base) {
			t.Errorf("%s: the digest of %s", body, base)
		}
	}
}

// FuzzDecodeRegistration: any body is decoded or refused without a panic,
// and a body taken is taken again, with the same digest and receipt, when
// its white space changes.
func FuzzDecodeRegistration(f *testing.F) {
	for _, seed := range []string{
		`{"receipt_id":"R-1","client":"acme","total":4.7,"currency":"EUR","issued_at":"2025-03-01T10:00:00Z"}`,
		`{"receipt_id":"R-1","client":"acme","total":-1e3,"currency":"EUR","issued_at":"2025-03-01T10:00:00.5+02:00","lines":[{"q":2}]}`,
		`{"receipt_id":"R-1","receipt_id":"","client":"acme","total":4.7,"currency":"EUR","issued_at":"2025-03-01T10:00:00Z"}`,
		`{"receipt_id":"\ud800","client":"a","total":0,"currency":"c","issued_at":"2025-03-01T10:00:00Z"} `,
		`[]`, `null`, `{}`, `{"total":1e999}`, `{"a":1}{"b":2}`, "\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		reg, err := decodeRegistration(body)
		if err != nil {
			return
		}
		if reg.receiptID == "" {
			t.Fatalf("%q taken without a receipt id", body)
		}
		var compact, indented bytes.Buffer
		if err := json.Compact(&compact, body); err != nil {
			t.Fatalf("%q taken, yet no JSON: %v", body, err)
		}
		if err := json.Indent(&indented, body, "\n", "\t"); err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{compact.Bytes(), indented.Bytes()} {
			again, err := decodeRegistration(b)
			if err != nil || again != reg {
				t.Fatalf("%q taken, yet %q gives %v, %v", body, b, again, err)
			}
		}
	})
}
