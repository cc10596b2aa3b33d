package receipts

import (
	"reflect"
	"testing"
	"time"
)

// TestSaleOf: a receipt's day, currency and lines, read in one pass when
// the receipt has the usual shape and field by field when it does not,
// with the same answer either way.
func TestSaleOf(t *testing.T) {
	received := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	issued := time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)
	milk := Line{Product: "milk", Category: "dairy", Quantity: 2, Price: 1.19, Amount: 2.38}
	for _, tc := range []struct {
		name, value string
		want        sale
		fails       bool
	}{
		{"usual", `{"issued_at":"2026-11-20T10:15:00+01:00","currency":"EUR","lines":[{"product":"milk","category":"dairy","quantity":2,"price":1.19,"amount":2.38}]}`,
			sale{Issued: issued, Currency: "EUR", Lines: []Line{milk}}, false},
		{"no time of issue", `{"currency":"EUR","lines":[]}`, sale{Issued: received, Currency: "EUR", Lines: []Line{}}, false},
		{"a time of issue that is no time", `{"issued_at":"yesterday"}`, sale{Issued: received}, false},
		{"lines of another shape", `{"issued_at":"2026-11-20T09:15:00Z","currency":"EUR","lines":[{"quantity":"two"}]}`,
			sale{Issued: issued, Currency: "EUR"}, false},
		{"lines that are no list", `{"issued_at":"2026-11-20T09:15:00Z","lines":{"milk":2}}`, sale{Issued: issued}, false},
		{"null lines", `{"issued_at":"2026-11-20T09:15:00Z","lines":null}`, sale{Issued: issued}, false},
		{"a time of issue that is a number", `{"issued_at":20261120}`, sale{}, true},
		{"no JSON", `{"issued_at":`, sale{}, true},
	} {
		got, err := saleOf(tc.value, received)
		if (err != nil) != tc.fails {
			t.Errorf("%s: error %v, want one: %v", tc.name, err, tc.fails)
			continue
		}
		if !tc.fails && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
