package registrar_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/rationhq/ration/pipelines/receipts/registrar"
)

// TestAdminFaults: PUT /admin/faults changes the faults it names and
// leaves the others; a bad value changes none; GET shows them.
func TestAdminFaults(t *testing.T) {
	r := newRig(t, registrar.TaxOffice)
	none := map[string]any{"error_rate": 0.0, "lost_reply_rate": 0.0, "refuse_rate": 0.0, "latency_ms": 0.0}
	wantFaults(t, r.faults(t), none)

	r.setFaults(t, `{"error_rate": 0.25, "latency_ms": 1.5}`)
	r.setFaults(t, `{"refuse_rate": 0.5, "lost_reply_rate": 0.125}`)
	set := map[string]any{"error_rate": 0.25, "lost_reply_rate": 0.125, "refuse_rate": 0.5, "latency_ms": 1.5}
	wantFaults(t, r.faults(t), set)
	if st := r.sim.Faults().State(); st.Latency != 1500*time.Microsecond {
		t.Fatalf("latency %v, want 1.5ms", st.Latency)
	}

	for _, bad := range []string{
		`{"error_rate": 1.5}`,
		`{"error_rate": 0.1, "refuse_rate": -0.1}`, // none of it, not the first half
		`{"lost_reply_rate": 2}`,
		`{"down_for_seconds": -1}`,
		`{"down_for_seconds": 1e300}`,
		`{"latency_ms": -5}`,
		`{"latency": 5}`,
		`{"error_rate": "0.1"}`,
		`not json`,
	} {
		if status, doc := r.putFaults(t, bad); status != http.StatusBadRequest || doc["error"] == nil {
			t.Errorf("PUT %s: %d %v, want 400 with an error", bad, status, doc)
		}
	}
	wantFaults(t, r.faults(t), set)

	r.setFaults(t, `{"down_for_seconds": 3600}`)
	down, ok := r.faults(t)["down_until"].(string)
	if until, err := time.Parse(time.RFC3339, down); !ok || err != nil || time.Until(until) < 59*time.Minute {
		t.Fatalf("down_until %q after down_for_seconds 3600", down)
	}
	r.setFaults(t, `{"down_for_seconds": 0}`)
	if doc := r.faults(t); doc["down_until"] != nil {
		t.Fatalf("down_until %v after down_for_seconds 0, want none", doc["down_until"])
	}
}

func wantFaults(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("faults %v, want %s = %v", got, k, v)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("faults %v, want only %v", got, want)
	}
}
