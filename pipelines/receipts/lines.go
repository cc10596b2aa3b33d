package receipts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Line is one line of a receipt, as analytics keep it.
type Line struct {
	Product  string  `json:"product"`
	Category string  `json:"category"`
	Quantity float64 `json:"quantity"`
	Price    float64 `json:"price"`
	Amount   float64 `json:"amount"`
}

// sale is what analytics read of a receipt's value: when it was issued
// (the day it counts for), its currency and its lines. A type without
// them contributes a receipt with no lines on the day it was received.
type sale struct {
	Issued   time.Time
	Currency string
	Lines    []Line
}

// saleOf reads a receipt's sale; received is its day when the receipt
// says no time of issue. A receipt of the usual shape is read in one
// pass; one with a field of another type (lines that are not lines, a
// time of issue that is a number) goes the careful way, field by field.
func saleOf(value string, received time.Time) (sale, error) {
	type head struct {
		IssuedAt string `json:"issued_at"`
		Currency string `json:"currency"`
	}
	var v struct {
		head
		Lines []Line `json:"lines"`
	}
	if err := json.Unmarshal([]byte(value), &v); err == nil {
		return sale{Issued: issuedOr(v.IssuedAt, received), Currency: v.Currency, Lines: v.Lines}, nil
	}
	var loose struct {
		head
		Lines json.RawMessage `json:"lines"`
	}
	if err := json.Unmarshal([]byte(value), &loose); err != nil {
		return sale{}, fmt.Errorf("receipt value: %w", err)
	}
	s := sale{Issued: issuedOr(loose.IssuedAt, received), Currency: loose.Currency}
	if len(loose.Lines) > 0 && !bytes.Equal(loose.Lines, []byte("null")) {
		// Lines of another shape count as none rather than fail the
		// receipt: analytics read what they can.
		if err := json.Unmarshal(loose.Lines, &s.Lines); err != nil {
			s.Lines = nil // not the lines decoded before the fault
		}
	}
	return s, nil
}

// issuedOr is the time of issue a receipt gives, in UTC, or received.
func issuedOr(issued string, received time.Time) time.Time {
	if t, err := time.Parse(time.RFC3339, issued); err == nil {
		return t.UTC()
	}
	return received.UTC()
}
