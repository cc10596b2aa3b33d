package receipts

import (
	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// Status is where a receipt stands (ration.ReceiptStatus). With the tax
// office registered first and the logistics service second (docs/DESIGN.md,
// "Receipts"), a receipt goes RECEIVED → TAX_REGISTERED → ACCEPTED;
// LOGISTICS_REGISTERED, registered with the logistics service but not yet
// accepted, is the same moment as ACCEPTED and never shown.
type Status = ration.ReceiptStatus

// The statuses, by their names in this package.
const (
	StatusReceived            = ration.ReceiptReceived
	StatusTaxRegistered       = ration.ReceiptTaxRegistered
	StatusLogisticsRegistered = ration.ReceiptLogisticsRegistered
	StatusAccepted            = ration.ReceiptAccepted
	StatusRejected            = ration.ReceiptRejected
	StatusParked              = ration.ReceiptParked
	StatusFailed              = ration.ReceiptFailed
)

// ReceiptStatus is a receipt's status and what it is made of: the status
// view's state of the receipt, and what it writes after every change.
// Every field is a maximum, or the value at one, so folding the same
// records in any order, or one twice, gives the same ReceiptStatus.
type ReceiptStatus struct {
	ID                    string `avro:"id"`
	Client                string `avro:"client"`
	ReceiptID             string `avro:"receipt_id"`
	Type                  string `avro:"type"`
	ContentType           string `avro:"content_type"`
	Digest                string `avro:"digest"`
	Status                string `avro:"status"`
	PrevStatus            string `avro:"prev_status"`
	ReceivedAt            int64  `avro:"received_at"`
	TaxRegistration       string `avro:"tax_registration"`
	TaxRegisteredAt       int64  `avro:"tax_registered_at"`
	LogisticsRegistration string `avro:"logistics_registration"`
	LogisticsRegisteredAt int64  `avro:"logistics_registered_at"`
	Reason                string `avro:"reason"`
	RejectedAt            int64  `avro:"rejected_at"`
	ParkedAt              int64  `avro:"parked_at"`
	ParkedStage           string `avro:"parked_stage"`
	RetriedAt             int64  `avro:"retried_at"`
	ParkError             string `avro:"park_error"`
	GaveUpAt              int64  `avro:"gave_up_at"`
	GiveUpError           string `avro:"give_up_error"`
	Version               int64  `avro:"version"`
}

var receiptStatusSchema = schemas.MustSchema(avsc, "avro/receipt_status.avsc")

// AvroSchema implements schemas.Record.
func (*ReceiptStatus) AvroSchema() *schemas.Schema { return receiptStatusSchema }

// applyReceipt folds in what a record of the path says. A record of
// another body than the one the receipt was first received with (a
// second body under the same id, which the tax stage drops) is left out;
// it reports whether r was taken.
func (s *ReceiptStatus) applyReceipt(r *Receipt) bool {
	if s.Digest != "" && r.Digest != s.Digest {
		return false
	}
	if s.Digest == "" {
		s.ID, s.Client, s.ReceiptID, s.Type, s.ContentType, s.Digest = r.ID, r.Client, r.ReceiptID, r.Type, r.ContentType, r.Digest
	}
	s.ReceivedAt = max(s.ReceivedAt, millis(r.ReceivedAt))
	if at := millis(r.TaxRegisteredAt); later(at, r.TaxRegistration, s.TaxRegisteredAt, s.TaxRegistration) {
		s.TaxRegistration, s.TaxRegisteredAt = r.TaxRegistration, at
	}
	if at := millis(r.LogisticsRegisteredAt); later(at, r.LogisticsRegistration, s.LogisticsRegisteredAt, s.LogisticsRegistration) {
		s.LogisticsRegistration, s.LogisticsRegisteredAt = r.LogisticsRegistration, at
	}
	if at := millis(r.RejectedAt); later(at, r.Reason, s.RejectedAt, s.Reason) {
		s.Reason, s.RejectedAt = r.Reason, at
	}
	return true
}

// applyEvent folds in a status event of the pipeline: a park, a try that
// failed or a re-send by the reprocessor, a give-up (or a record no stage
// could read). A rejection's FAILED event is left out: its record on
// ration.receipts.rejected says more.
func (s *ReceiptStatus) applyEvent(e *schemas.Event) {
	at := millis(e.Time)
	switch {
	case e.Status == schemas.StatusReprocess:
		if later(at, e.Stage+"\x00"+e.Error, s.ParkedAt, s.ParkedStage+"\x00"+s.ParkError) {
			s.ParkedAt, s.ParkedStage, s.ParkError = at, e.Stage, e.Error
		}
	case e.Status == schemas.StatusError || e.Stage == reprocessStage:
		s.RetriedAt = max(s.RetriedAt, at)
	case e.Status == schemas.StatusFailed && e.ErrorClass != "rejected":
		if later(at, e.Error, s.GaveUpAt, s.GiveUpError) {
			s.GaveUpAt, s.GiveUpError = at, e.Error
		}
	}
}

// reprocessStage names the reprocessor in the events of its re-sends.
const reprocessStage = "reprocess"

// status derives where the receipt stands from what was folded.
func (s *ReceiptStatus) status() Status {
	progress := max(s.ReceivedAt, s.TaxRegisteredAt)
	switch {
	case s.RejectedAt > 0:
		return StatusRejected
	case s.LogisticsRegisteredAt > 0:
		return StatusAccepted
	case s.GaveUpAt > 0 && s.GaveUpAt >= progress && s.GaveUpAt >= s.ParkedAt:
		return StatusFailed
	case s.ParkedAt > 0 && s.ParkedAt >= progress && s.ParkedAt > s.RetriedAt:
		return StatusParked
	case s.TaxRegisteredAt > 0:
		return StatusTaxRegistered
	}
	return StatusReceived
}

// later orders two facts of one kind: by time, then by what they say, so
// that the pick does not depend on the order they arrive in.
func later(at int64, what string, thanAt int64, thanWhat string) bool {
	return at > thanAt || (at == thanAt && what > thanWhat)
}
