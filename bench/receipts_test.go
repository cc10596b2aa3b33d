package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestBenchReceipt: a bench receipt is the JSON of its id and time, with
// fifteen lines that add up to its total, about 2 kB, whatever its id
// holds.
func TestBenchReceipt(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 15, 0, 0, time.FixedZone("CET", 3600))
	for _, id := range []string{"b1-0-0000001", `odd "id" \ é`} {
		b := benchReceipt(id, at)
		var r struct {
			Type      string  `json:"type"`
			ReceiptID string  `json:"receipt_id"`
			IssuedAt  string  `json:"issued_at"`
			Total     float64 `json:"total"`
			Lines     []struct {
				Amount float64 `json:"amount"`
			} `json:"lines"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		sum := 0.0
		for _, l := range r.Lines {
			sum += l.Amount
		}
		if r.Type != BenchType || r.ReceiptID != id || r.IssuedAt != "2026-11-27T09:15:00Z" || len(r.Lines) != 15 ||
			math.Abs(sum-r.Total) > 0.005 || len(b) < 1800 || len(b) > 2300 {
			t.Fatalf("receipt %s (%d bytes): %+v, lines summing to %.2f", id, len(b), r, sum)
		}
	}
}

// TestNextRate: --find-max raises the rate by half while it holds, then
// halves the gap between the highest rate that held and the lowest that
// did not until it is within 10%, and finds the limit of a stack that
// holds up to a given rate.
func TestNextRate(t *testing.T) {
	for _, limit := range []float64{250, 1100, 1500, 4000} {
		var tried []float64
		held, failed := 0.0, math.Inf(1)
		for rate, more := 300.0, true; more; rate, more = nextRate(rate, held, failed) {
			tried = append(tried, rate)
			if rate <= limit {
				held = rate
			} else {
				failed = rate
			}
			if len(tried) > 30 {
				t.Fatalf("limit %v: no end after %v", limit, tried)
			}
		}
		switch {
		case limit < 300:
			if held != 0 || len(tried) != 1 {
				t.Errorf("limit %v: held %v after %v, want nothing after one try", limit, held, tried)
			}
		case held > limit || failed <= limit || failed > held*1.1:
			t.Errorf("limit %v: held %v, failed %v after %v: want them around the limit, within 10%%", limit, held, failed, tried)
		}
	}
}

// TestPollInterval: a followed receipt is asked after a tenth of its age,
// from 50 ms to a second.
func TestPollInterval(t *testing.T) {
	for age, want := range map[time.Duration]time.Duration{
		0:                      50 * time.Millisecond,
		300 * time.Millisecond: 50 * time.Millisecond,
		2 * time.Second:        200 * time.Millisecond,
		7 * time.Second:        700 * time.Millisecond,
		time.Minute:            time.Second,
	} {
		if got := pollInterval(age); got != want {
			t.Errorf("pollInterval(%v) = %v, want %v", age, got, want)
		}
	}
}

// BenchmarkHTTPExchange is the floor under a receipt's cost on this
// machine: one HTTP exchange of a 2 kB body on loopback, a server that
// only reads it and a client that keeps its connections, both on the
// machine's cores, many at once. A receipt makes three (its POST and a
// call to each registrar), which bounds receipts/s on these cores from
// above whatever the rest costs (docs/benchmarks.md).
func BenchmarkHTTPExchange(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"id":"bench:r-1","status":"RECEIVED"}`))
	}))
	defer srv.Close()
	body := benchReceipt("r-1", time.Now())
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(16) // many exchanges at once per core, as under load
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := cl.Post(srv.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
