package receipts

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/pipelines/receipts/registrar"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// taxRig is the tax stage's handler against a simulated tax office.
type taxRig struct {
	t     *testing.T
	codec *schemas.Codec
	sim   *registrar.Simulator
	h     *register
}

func newTaxRig(t *testing.T) *taxRig {
	sim, err := registrar.NewSimulator(registrar.TaxOffice, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := registrar.New(srv.URL, srv.Client(), registrar.Timeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(Receipt)}})
	return &taxRig{t: t, codec: codec, sim: sim, h: newRegister(codec, StageTax, client)}
}

func (r *taxRig) receipt(id, value string) *kgo.Record {
	r.t.Helper()
	b, err := r.codec.Encode(&Receipt{ID: "shop:" + id, Client: "shop", ReceiptID: id, Type: "retail", ContentType: ContentJSON,
		Document: []byte(value), Value: value, Digest: "d", ReceivedAt: t0})
	if err != nil {
		r.t.Fatal(err)
	}
	return &kgo.Record{Topic: TopicReceived, Key: []byte("shop:" + id), Value: b}
}

func (r *taxRig) decode(recs []*kgo.Record) (topic string, out Receipt) {
	r.t.Helper()
	if len(recs) != 1 {
		r.t.Fatalf("%d outputs, want 1", len(recs))
	}
	if err := r.codec.Decode(recs[0].Value, &out); err != nil {
		r.t.Fatal(err)
	}
	return recs[0].Topic, out
}

const goodValue = `{"total": 4.70, "currency": "EUR", "issued_at": "2026-11-20T10:15:00Z", "lines": []}`

// TestRegisterStage: a registered receipt goes on with its number and
// its value but not its document (that stays on the received topic); the
// same receipt again gets the same number and one registration; a refusal
// rejects it with the service's reason; a second body under the id is a
// duplicate; a service down is a transient failure.
func TestRegisterStage(t *testing.T) {
	r := newTaxRig(t)
	ctx := context.Background()
	out, err := r.h.Process(ctx, r.receipt("R-1", goodValue), nil)
	if err != nil {
		t.Fatal(err)
	}
	topic, taxed := r.decode(out)
	if topic != TopicTaxed || !strings.HasPrefix(taxed.TaxRegistration, "TAX-") || taxed.TaxRegisteredAt.IsZero() ||
		taxed.Value != goodValue || len(taxed.Document) != 0 {
		t.Fatalf("registered receipt on %s: %+v", topic, taxed)
	}
	again, err := r.h.Process(ctx, r.receipt("R-1", goodValue), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, second := r.decode(again); second.TaxRegistration != taxed.TaxRegistration {
		t.Fatalf("a repeat got %s, want %s", second.TaxRegistration, taxed.TaxRegistration)
	}
	if st := r.sim.Stats(); st.Registrations != 1 {
		t.Fatalf("%+v, want one registration", st)
	}

	_, err = r.h.Process(ctx, r.receipt("R-1", strings.Replace(goodValue, "4.70", "5.70", 1)), nil)
	if !errors.Is(err, processor.ErrDuplicate) {
		t.Fatalf("a second body: %v, want a duplicate", err)
	}

	out, err = r.h.Process(ctx, r.receipt("R-2", `{"lines": []}`), nil) // no total: the office refuses it
	if !errors.Is(err, processor.ErrRejected) {
		t.Fatalf("a receipt without a total: %v, want a rejection", err)
	}
	if topic, rejected := r.decode(out); topic != TopicRejected || !strings.Contains(rejected.Reason, "the tax office refused") {
		t.Fatalf("rejection on %s: %+v", topic, rejected)
	}

	down := time.Minute
	if err := r.sim.Faults().Change(registrar.FaultChange{DownFor: &down}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.h.Process(ctx, r.receipt("R-3", goodValue), nil); err == nil || processor.IsPermanent(err) || errors.Is(err, processor.ErrRejected) {
		t.Fatalf("service down: %v, want a transient failure", err)
	}
}

// TestRegistrationSendsTheReceiptAsWritten: a service gets the receipt's
// total, currency and time of issue, and the whole receipt, byte for
// byte as the client wrote them (numbers and spaces too), and nothing of
// a field the receipt lacks; the body is valid JSON with names escaped.
func TestRegistrationSendsTheReceiptAsWritten(t *testing.T) {
	value := `{"total": 4.70, "currency": "EUR", "issued_at": "2026-11-20T10:15:00Z", "lines": [{"amount": 4.700}]}`
	body, err := registration(&Receipt{ID: "shop:R-1", Client: "shop", Type: "retail", Value: value})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"receipt_id":"shop:R-1","client":"shop","type":"retail","total":4.70,"currency":"EUR",` +
		`"issued_at":"2026-11-20T10:15:00Z","receipt":` + value + `}`
	if string(body) != want {
		t.Fatalf("body:\n%s\nwant\n%s", body, want)
	}
	body, err = registration(&Receipt{ID: `sh"op:R-2`, Client: `sh"op`, Type: "retail", Value: `{"lines": []}`})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"receipt_id":"sh\"op:R-2","client":"sh\"op","type":"retail","receipt":{"lines": []}}`; string(body) != want || !json.Valid(body) {
		t.Fatalf("body of a receipt without the fields: %s, want %s", body, want)
	}
}
