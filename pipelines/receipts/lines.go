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
// says no time of issue.
func saleOf(value string, received time.Time) (sale, error) {
	var v struct {
		IssuedAt string          `json:"issued_at"`
		Currency string          `json:"currency"`
		Lines    json.RawMessage `json:"lines"`
	}
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		return sale{}, fmt.Errorf("receipt value: %w", err)
	}
	s := sale{Issued: received.UTC(), Currency: v.Currency}
	if t, err := time.Parse(time.RFC3339, v.IssuedAt); err == nil {
		s.Issued = t.UTC()
	}
	if len(v.Lines) > 0 && !bytes.Equal(v.Lines, []byte("null")) {
		// Lines of another shape count as none rather than fail the
		// receipt: analytics read what they can.
		_ = json.Unmarshal(v.Lines, &s.Lines)
	}
	return s, nil
}
