package registrar_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rationhq/ration/pipelines/receipts/registrar"
	"github.com/rationhq/ration/processor"
)

// TestClientRepeatGetsTheSameNumber: calling again with a key gives the
// number of the first call.
func TestClientRepeatGetsTheSameNumber(t *testing.T) {
	r := newRig(t, registrar.TaxOffice)
	for range 2 {
		n, err := r.client.Register(t.Context(), "k1", receipt("R-1"))
		if err != nil || n != registrar.TaxOffice.Number("k1") {
			t.Fatalf("Register: %q, %v; want %s", n, err, registrar.TaxOffice.Number("k1"))
		}
	}
	r.wantStats(t, registrar.Stats{Requests: 2, Registrations: 1})
}

// TestClientClassifiesFailures: what a stage may retry is marked
// transient, what it may not permanent, and a failed call had no effect
// unless it says so.
func TestClientClassifiesFailures(t *testing.T) {
	t.Run("key reused with another body is permanent", func(t *testing.T) {
		r := newRig(t, registrar.TaxOffice)
		if _, err := r.client.Register(t.Context(), "k1", receipt("R-1")); err != nil {
			t.Fatal(err)
		}
		_, err := r.client.Register(t.Context(), "k1", receipt("R-2"))
		wantClass(t, err, processor.ErrPermanent)
		wantStatus(t, err, http.StatusUnprocessableEntity, "idempotency key reused with a different body")
		if !errors.Is(err, registrar.ErrKeyReused) {
			t.Errorf("%v is not ErrKeyReused", err)
		}
		r.wantStats(t, registrar.Stats{Requests: 2, Registrations: 1})
	})
	t.Run("refused receipt is permanent", func(t *testing.T) {
		r := newRig(t, registrar.TaxOffice)
		r.setFaults(t, `{"refuse_rate": 1}`)
		_, err := r.client.Register(t.Context(), "k1", receipt("R-1"))
		wantClass(t, err, processor.ErrPermanent)
		wantStatus(t, err, http.StatusUnprocessableEntity, `refused: receipt "R-1"`)
		if errors.Is(err, registrar.ErrKeyReused) {
			t.Errorf("a refusal is ErrKeyReused: %v", err)
		}
		r.wantStats(t, registrar.Stats{Requests: 1, Registrations: 0})
	})
	t.Run("bad body is permanent", func(t *testing.T) {
		r := newRig(t, registrar.TaxOffice)
		_, err := r.client.Register(t.Context(), "k1", map[string]any{"receipt_id": "R-1"})
		wantClass(t, err, processor.ErrPermanent)
		wantStatus(t, err, http.StatusBadRequest, "client: missing")
	})
	t.Run("error_rate 1 is transient and has no effect", func(t *testing.T) {
		r := newRig(t, registrar.TaxOffice)
		r.setFaults(t, `{"error_rate": 1}`)
		_, err := r.client.Register(t.Context(), "k1", receipt("R-1"))
		wantClass(t, err, processor.ErrTransient)
		wantStatus(t, err, http.StatusServiceUnavailable, "simulated failure")
		r.wantStats(t, registrar.Stats{Requests: 1, Registrations: 0})
		r.setFaults(t, `{"error_rate": 0}`)
		if got := r.register(t, "k1", receipt("R-1")); got.status != http.StatusCreated {
			t.Fatalf("after the failure: %+v, want 201: the failed call registered", got)
		}
	})
	t.Run("down is transient and has no effect", func(t *testing.T) {
		r := newRig(t, registrar.TaxOffice)
		r.setFaults(t, `{"down_for_seconds": 3600}`)
		_, err := r.client.Register(t.Context(), "k1", receipt("R-1"))
		wantClass(t, err, processor.ErrTransient)
		wantStatus(t, err, http.StatusServiceUnavailable, "simulated outage")
		r.wantStats(t, registrar.Stats{Requests: 1, Registrations: 0})
		r.setFaults(t, `{"down_for_seconds": 0}`)
		if _, err := r.client.Register(t.Context(), "k1", receipt("R-1")); err != nil {
			t.Fatalf("after the outage: %v", err)
		}
	})
	t.Run("lost reply is transient and the retry gets the same number", func(t *testing.T) {
		r := newRig(t, registrar.TaxOffice)
		r.setFaults(t, `{"lost_reply_rate": 1}`)
		_, err := r.client.Register(t.Context(), "k1", receipt("R-1"))
		wantClass(t, err, processor.ErrTransient)
		wantStatus(t, err, http.StatusServiceUnavailable, "lost reply")
		r.wantStats(t, registrar.Stats{Requests: 1, Registrations: 1}) // the reply was lost, not the registration
		r.setFaults(t, `{"lost_reply_rate": 0}`)
		n, err := r.client.Register(t.Context(), "k1", receipt("R-1"))
		if err != nil || n != registrar.TaxOffice.Number("k1") {
			t.Fatalf("retry: %q, %v; want %s", n, err, registrar.TaxOffice.Number("k1"))
		}
		r.wantStats(t, registrar.Stats{Requests: 2, Registrations: 1})
	})
	t.Run("a call slower than the timeout is transient", func(t *testing.T) {
		r := newRig(t, registrar.TaxOffice, registrar.Timeout(50*time.Millisecond))
		r.setFaults(t, `{"latency_ms": 60000}`)
		_, err := r.client.Register(t.Context(), "k1", receipt("R-1"))
		wantClass(t, err, processor.ErrTransient)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v: want a time-out", err)
		}
		if got := r.sim.Stats().Registrations; got != 0 {
			t.Fatalf("%d registrations after a call that timed out, want 0", got)
		}
	})
	t.Run("bad key is permanent and never sent", func(t *testing.T) {
		r := newRig(t, registrar.TaxOffice)
		for _, key := range []string{"", " k", "k\n", string(make([]byte, registrar.MaxKeyLen+1))} {
			_, err := r.client.Register(t.Context(), key, receipt("R-1"))
			wantClass(t, err, processor.ErrPermanent)
			if !errors.Is(err, registrar.ErrInvalidKey) {
				t.Fatalf("key %q: %v, want ErrInvalidKey", key, err)
			}
		}
		r.wantStats(t, registrar.Stats{})
	})
	t.Run("body that is no JSON is permanent and never sent", func(t *testing.T) {
		r := newRig(t, registrar.TaxOffice)
		_, err := r.client.Register(t.Context(), "k1", map[string]any{"total": func() {}})
		wantClass(t, err, processor.ErrPermanent)
		r.wantStats(t, registrar.Stats{})
	})
}

// TestClientRefusedConnectionIsTransient: no service listening is a fault
// that may pass.
func TestClientRefusedConnectionIsTransient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := registrar.New("http://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Register(t.Context(), "k1", receipt("R-1"))
	wantClass(t, err, processor.ErrTransient)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("error %v: want a refused connection", err)
	}
}

// TestConcurrentCallsWithOneKeyRegisterOnce: of calls racing with one key,
// exactly one registers (201); the others answer its number (200).
func TestConcurrentCallsWithOneKeyRegisterOnce(t *testing.T) {
	const calls = 50
	r := newRig(t, registrar.TaxOffice)
	body := marshal(t, receipt("R-1"))
	answers := make([]answer, calls)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			<-start
			answers[i] = r.post(t, "application/json", body, "k1")
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for _, a := range answers {
		if a.number != registrar.TaxOffice.Number("k1") {
			t.Fatalf("answer %+v, want the number %s", a, registrar.TaxOffice.Number("k1"))
		}
		if a.status == http.StatusCreated {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d calls answered 201, want 1", created)
	}
	r.wantStats(t, registrar.Stats{Requests: calls, Registrations: 1})
}

// TestNumbersAreDeterministic: a number follows from the service and the
// key alone, as the package doc says, so a restarted simulator gives the
// same one.
func TestNumbersAreDeterministic(t *testing.T) {
	want := func(svc, prefix, key string) string {
		h := sha256.Sum256([]byte(svc + "\x00" + key))
		return prefix + hex.EncodeToString(h[:])[:16]
	}
	for _, svc := range []registrar.Service{registrar.TaxOffice, registrar.Logistics} {
		for _, key := range []string{"k1", "receipt/R-1/tax"} {
			for instance := range 2 {
				r := newRig(t, svc)
				n, err := r.client.Register(t.Context(), key, receipt("R-1"))
				if err != nil {
					t.Fatal(err)
				}
				if w := want(svc.Name, svc.Prefix, key); n != w {
					t.Fatalf("%s instance %d, key %q: %s, want %s", svc.Name, instance, key, n, w)
				}
			}
		}
	}
	if registrar.TaxOffice.Number("k1")[4:] == registrar.Logistics.Number("k1")[4:] {
		t.Fatal("the tax office and logistics give one key the same digits")
	}
}

// TestRefusalIsChosenByKey: at refuse_rate 0.5 some receipts are refused
// and some not, and the same ones on a retry and by another instance.
func TestRefusalIsChosenByKey(t *testing.T) {
	const keys = 100
	refusedBy := func(r *rig) []bool {
		t.Helper()
		r.setFaults(t, `{"refuse_rate": 0.5}`)
		out := make([]bool, keys)
		for i := range out {
			key := fmt.Sprintf("k%d", i)
			first := r.register(t, key, receipt(key))
			again := r.register(t, key, receipt(key))
			out[i] = first.status == http.StatusUnprocessableEntity
			wantAgain := http.StatusOK
			if out[i] {
				wantAgain = http.StatusUnprocessableEntity
			}
			if again.status != wantAgain {
				t.Fatalf("key %s: %d then %d", key, first.status, again.status)
			}
		}
		return out
	}
	a, b := refusedBy(newRig(t, registrar.TaxOffice)), refusedBy(newRig(t, registrar.TaxOffice))
	n := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("key k%d refused by one instance only", i)
		}
		if a[i] {
			n++
		}
	}
	// The chance of 0 or 100 of 100 at 0.5 is 2^-99.
	if n == 0 || n == keys {
		t.Fatalf("%d of %d keys refused at refuse_rate 0.5", n, keys)
	}
}
