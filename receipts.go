package ration

// ReceiptStatus is where a receipt stands in the receipts pipeline.
type ReceiptStatus string

// The statuses of a receipt: received, registered with the tax office,
// with the logistics service, accepted (both), rejected (a service refused
// it, with the reason), parked (waiting for the reprocessor) or failed
// (given up on, or unreadable).
const (
	ReceiptReceived            ReceiptStatus = "RECEIVED"
	ReceiptTaxRegistered       ReceiptStatus = "TAX_REGISTERED"
	ReceiptLogisticsRegistered ReceiptStatus = "LOGISTICS_REGISTERED"
	ReceiptAccepted            ReceiptStatus = "ACCEPTED"
	ReceiptRejected            ReceiptStatus = "REJECTED"
	ReceiptParked              ReceiptStatus = "PARKED"
	ReceiptFailed              ReceiptStatus = "FAILED"
)

// Valid reports whether s is a status.
func (s ReceiptStatus) Valid() bool {
	switch s {
	case ReceiptReceived, ReceiptTaxRegistered, ReceiptLogisticsRegistered, ReceiptAccepted, ReceiptRejected,
		ReceiptParked, ReceiptFailed:
		return true
	}
	return false
}

// Receipt is a receipt as the read API shows it.
type Receipt struct {
	ID                    string        `json:"id"`
	Type                  string        `json:"type"`
	Status                ReceiptStatus `json:"status"`
	ReceivedAt            *Timestamp    `json:"received_at"`
	AcceptedAt            *Timestamp    `json:"accepted_at"`
	TaxRegistration       string        `json:"tax_registration"`
	LogisticsRegistration string        `json:"logistics_registration"`
	Reason                string        `json:"reason"`
	ParkedStage           string        `json:"parked_stage,omitempty"`
	History               []ItemEvent   `json:"history,omitempty"`
	// Digest is the SHA-256 of the receipt as first sent: the same body is
	// the same receipt, another one a conflict. Not shown.
	Digest string `json:"-"`
}

// ReceiptPage is one page of receipts, in the order they were received,
// and the cursor of the next ("" after the last).
type ReceiptPage struct {
	Receipts []Receipt `json:"receipts"`
	Next     string    `json:"next_cursor"`
}

// Reason is one of several things wrong with a request's body: where (a
// JSON pointer, "" for the whole) and what.
type Reason struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}
