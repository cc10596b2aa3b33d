package registrar

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// decoded is the oracle of the canonical form: the body decoded into a
// map with UseNumber, as the simulator once read it, or an error where
// that refuses the body.
func decoded(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if v == nil {
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return v, nil
}

// checkCanonical holds canonicalObject(body) to the oracle: it refuses
// what decoding refuses; it decodes to the value body decodes to (so two
// values never share a form); and it is the form of that value however
// written (json.Marshal writes it another way: escapes, order), so one
// value never has two forms.
func checkCanonical(t *testing.T, body []byte) {
	t.Helper()
	canon, _, err := canonicalObject(body)
	want, werr := decoded(body)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%q: canonical form error %v, decoding error %v", body, err, werr)
	}
	if err != nil {
		return
	}
	got, err := decoded(canon)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: canonical form %q decodes to %v (%v), want %v", body, canon, got, err, want)
	}
	other, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := canonicalObject(other)
	if err != nil || !bytes.Equal(again, canon) {
		t.Fatalf("%q: canonical form %q, but the same value written as %q has %q (%v)", body, canon, other, again, err)
	}
}

func TestCanonicalForm(t *testing.T) {
	for _, body := range []string{
		`{"b":1,"a":[1,2,{"d":true,"c":null}]}`,
		" {\n\t\"a\" : \"x\\u002dy\\n\\\"\" , \"b\":-0.5e+3 } \r\n",
		`{"a":1,"a":2}`,
		`{"\u0061":1,"a":2}`,
		`{"a":"<&>\u2028é\ud83d\ude00"}`,
		"{\"a\":\"\xff\"}",
		`{"a":"\ud800"}`,
		`{}`, `{"a":{}}`, `{"a":[]}`,
		`[]`, `null`, `1`, `"a"`, ``, `{`, `{"a"}`, `{"a":1,}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`,
		`{"a":tru}`, `{"a":"\x"}`, "{\"a\":\"\x01\"}", `{"a":1}x`, `{"a":1}{}`, `{"a":"\`,
		strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
		`{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`,
	} {
		checkCanonical(t, []byte(body))
	}
	a, _, _ := canonicalObject([]byte(`{"total":4.70}`))
	b, _, _ := canonicalObject([]byte(`{"total":4.7}`))
	if bytes.Equal(a, b) {
		t.Fatalf("4.70 and 4.7 share the form %s: numbers count as written", a)
	}
}

func FuzzCanonicalForm(f *testing.F) {
	for _, seed := range []string{
		`{"b":1,"a":[1,2,{"d":true,"c":null}]}`, `{"a":1,"a":2}`, `{"a":"<&>\u2028\ud83d\ude00"}`,
		"{\"a\":\"\xff\"}", `{"a":-0.5e+3}`, `{}`, `[]`, `{"a":"\`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkCanonical(t, body) })
}

// BenchmarkDecodeRegistration: a 2 kB registration read with the one-pass
// canonical form against decoding into maps and marshalling them, which
// the simulator did before, in the same run.
func BenchmarkDecodeRegistration(b *testing.B) {
	var lines []string
	for range 15 {
		lines = append(lines, `{"product": "Organic whole milk 1 l", "category": "dairy", "quantity": 2, "price": 1.19, "amount": 2.38}`)
	}
	receipt := `{"type": "retail", "receipt_id": "R-1", "issued_at": "2026-11-20T10:15:00Z", "currency": "EUR", "total": 35.70, "lines": [` +
		strings.Join(lines, ", ") + `]}`
	body := []byte(`{"receipt_id":"shop:R-1","client":"shop","type":"retail","total":35.70,"currency":"EUR","issued_at":"2026-11-20T10:15:00Z","receipt":` +
		receipt + `}`)
	b.Run("maps", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := decoded(body)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("canonical", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeRegistration(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
