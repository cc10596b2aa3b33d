package registrar_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rationhq/ration/pipelines/receipts/registrar"
)

// TestContractRegistersOncePerKey: the first call with a key registers
// (201), and a repeat with the same body, however its fields are ordered
// and spaced, answers the same number without a new registration (200).
func TestContractRegistersOncePerKey(t *testing.T) {
	r := newRig(t, registrar.TaxOffice)
	first := r.register(t, "k1", receipt("R-1"))
	if first.status != http.StatusCreated || first.number != registrar.TaxOffice.Number("k1") {
		t.Fatalf("first call: %+v, want 201 %s", first, registrar.TaxOffice.Number("k1"))
	}
	if again := r.register(t, "k1", receipt("R-1")); again != (answer{status: http.StatusOK, number: first.number}) {
		t.Fatalf("repeat: %+v, want 200 %s", again, first.number)
	}
	reordered := ` { "issued_at":"2025-03-01T10:00:00Z", "total" : 4.7,
		"currency":"EUR","client":"acme","receipt_id":"R-1" } `
	if again := r.post(t, "application/json; charset=utf-8", reordered, "k1"); again != (answer{status: http.StatusOK, number: first.number}) {
		t.Fatalf("repeat reordered: %+v, want 200 %s", again, first.number)
	}
	r.wantStats(t, registrar.Stats{Requests: 3, Registrations: 1})
}

// TestContractRefusesAReusedKey: the same key with another body is a
// permanent refusal and changes nothing.
func TestContractRefusesAReusedKey(t *testing.T) {
	r := newRig(t, registrar.TaxOffice)
	r.register(t, "k1", receipt("R-1"))
	other := receipt("R-1")
	other["total"] = 4.8
	want := answer{status: http.StatusUnprocessableEntity, err: "idempotency key reused with a different body"}
	if got := r.register(t, "k1", other); got != want {
		t.Fatalf("another body: %+v, want %+v", got, want)
	}
	if got := r.register(t, "k1", receipt("R-1")); got.status != http.StatusOK {
		t.Fatalf("the first body after the refusal: %+v, want 200", got)
	}
	r.wantStats(t, registrar.Stats{Requests: 3, Registrations: 1})
}

// TestContractRefusesReceiptsForGood: at refuse_rate 1 every new receipt
// is refused, again on a retry, while a receipt registered before is
// still answered.
func TestContractRefusesReceiptsForGood(t *testing.T) {
	r := newRig(t, registrar.Logistics)
	before := r.register(t, "old", receipt("R-0"))
	r.setFaults(t, `{"refuse_rate": 1}`)
	for range 2 {
		got := r.register(t, "new", receipt("R-1"))
		if got.status != http.StatusUnprocessableEntity || !strings.HasPrefix(got.err, "refused: ") {
			t.Fatalf("new receipt: %+v, want 422 refused: …", got)
		}
	}
	if got := r.register(t, "old", receipt("R-0")); got != (answer{status: http.StatusOK, number: before.number}) {
		t.Fatalf("receipt registered before: %+v, want 200 %s", got, before.number)
	}
	r.wantStats(t, registrar.Stats{Requests: 4, Registrations: 1})
}

// TestContractRefusesBadRequests: a request outside the contract is
// refused with 400 (413 when too big) and a JSON error, and has no
// effect.
func TestContractRefusesBadRequests(t *testing.T) {
	const ok = `{"receipt_id":"R-1","client":"acme","total":4.7,"currency":"EUR","issued_at":"2025-03-01T10:00:00Z"}`
	pad := func(n int) string { // ok grown to n bytes by an ignored field
		return ok[:len(ok)-1] + `,"x":"` + strings.Repeat("x", n-len(ok)-7) + `"}`
	}
	for _, tc := range []struct {
		name        string
		contentType string
		body        string
		keys        []string
		status      int
		err         string
	}{
		{"no key", "application/json", ok, nil, 400, "want one Idempotency-Key header, got 0"},
		{"two keys", "application/json", ok, []string{"a", "b"}, 400, "want one Idempotency-Key header, got 2"},
		{"empty key", "application/json", ok, []string{""}, 400, "invalid idempotency key: empty"},
		{"key too long", "application/json", ok, []string{strings.Repeat("k", 201)}, 400, "over 200"},
		{"key not ASCII", "application/json", ok, []string{"clé"}, 400, "not printable ASCII"},
		{"no content type", "", ok, []string{"k"}, 400, "want application/json"},
		{"text", "text/plain", ok, []string{"k"}, 400, "want application/json"},
		{"not JSON", "application/json", "receipt", []string{"k"}, 400, "body: invalid JSON at offset 0: unexpected 'r'"},
		{"empty body", "application/json", "", []string{"k"}, 400, "body: invalid JSON at offset 0: unexpected end"},
		{"array", "application/json", "[" + ok + "]", []string{"k"}, 400, "body: want a JSON object"},
		{"null", "application/json", "null", []string{"k"}, 400, "want a JSON object"},
		{"two objects", "application/json", ok + ok, []string{"k"}, 400, "data after the JSON object"},
		{"no receipt id", "application/json", strings.Replace(ok, `"receipt_id":"R-1",`, "", 1), []string{"k"}, 400, "receipt_id: missing"},
		{"empty client", "application/json", strings.Replace(ok, `"acme"`, `""`, 1), []string{"k"}, 400, "client: want a non-empty string, got an empty string"},
		{"total a string", "application/json", strings.Replace(ok, `4.7`, `"4.7"`, 1), []string{"k"}, 400, "total: want a number, got a string"},
		{"issued_at no time", "application/json", strings.Replace(ok, `2025-03-01T10:00:00Z`, `2025-03-01`, 1), []string{"k"}, 400, "issued_at: want an RFC 3339 time"},
		{"over 64 KiB", "application/json", pad(registrar.MaxBodyBytes + 1), []string{"k"}, 413, "body over 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, registrar.TaxOffice)
			got := r.post(t, tc.contentType, tc.body, tc.keys...)
			if got.status != tc.status || !strings.Contains(got.err, tc.err) {
				t.Fatalf("%d %q, want %d with an error containing %q", got.status, got.err, tc.status, tc.err)
			}
			r.wantStats(t, registrar.Stats{Requests: 1, Registrations: 0})
		})
	}
	t.Run("64 KiB", func(t *testing.T) {
		r := newRig(t, registrar.TaxOffice)
		if got := r.post(t, "application/json", pad(registrar.MaxBodyBytes), "k"); got.status != http.StatusCreated {
			t.Fatalf("a body of exactly 64 KiB: %+v, want 201", got)
		}
	})
}

// TestContractHealth: /healthz answers 200.
func TestContractHealth(t *testing.T) {
	r := newRig(t, registrar.TaxOffice)
	req, err := http.NewRequest(http.MethodGet, r.url+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]string
	if status := r.do(t, req, &doc); status != http.StatusOK {
		t.Fatalf("GET /healthz: %d", status)
	}
}
