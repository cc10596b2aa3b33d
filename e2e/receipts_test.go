package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/receipts"
	"github.com/rationhq/ration/pipelines/receipts/registrar"
	"github.com/rationhq/ration/schemas"
)

// TestReceiptWorkerKilledRegistersEachOnce: two receipts worker processes
// register 2 000 receipts with simulated services that answer in a few
// milliseconds and lose one reply in ten (the registration made, the
// answer a 503); one worker is killed with SIGKILL a quarter of the way
// in and started again. Every receipt ends ACCEPTED with the numbers its
// id gives, and each service registered each receipt once: a try the
// killed worker made and never committed is repeated with the same
// idempotency key.
func TestReceiptWorkerKilledRegistersEachOnce(t *testing.T) {
	const n = 2_000
	c := newCluster(t)
	rcl, err := sr.NewClient(sr.URLs(c.registry))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topics, records := pipeline.Schemas([]pipeline.Descriptor{receipts.New()})
	codec, err := schemas.Register(ctx, rcl, topics, records...)
	if err != nil {
		t.Fatal(err)
	}
	sims := map[string]*registrar.Simulator{}
	urls := map[string]string{}
	latency, lost := 2*time.Millisecond, 0.1
	for _, svc := range []registrar.Service{registrar.TaxOffice, registrar.Logistics} {
		sim, err := registrar.NewSimulator(svc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Faults().Change(registrar.FaultChange{Latency: &latency, LostReplyRate: &lost}); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		sims[svc.Name], urls[svc.Name] = sim, srv.URL
	}
	start := func(id string) *worker {
		return c.startProcess(t, id, "worker", "receipts", "--kafka", c.addr, "--registry", c.registry, "--instance-id", id,
			"--session-timeout", "3s", "--metrics=", "--log-format", "json", "--log-level", "info",
			"--retry-delays", "50ms,100ms,200ms,400ms,800ms", "--concurrency", "32",
			"--tax-url", urls["tax"], "--logistics-url", urls["logistics"])
	}
	w1, w2 := start("r1"), start("r2")
	for _, w := range []*worker{w1, w2} {
		// The workers create the topics: a produce before that fails.
		w.await(t, 30*time.Second, 0, "its first buckets", msg(msgAssigned))
	}

	// The receipts, as the API hands them to Kafka.
	recs := make([]*kgo.Record, n)
	for i := range recs {
		id := receipts.ID("shop", fmt.Sprintf("R-%05d", i))
		v, err := codec.Encode(&receipts.Receipt{ID: id, Client: "shop", ReceiptID: fmt.Sprintf("R-%05d", i), Type: "retail",
			ContentType: receipts.ContentJSON, Document: []byte("{}"), Digest: "d-" + id, ReceivedAt: time.Now(),
			Value: `{"total": 4.70, "currency": "EUR", "issued_at": "2026-11-20T10:15:00Z"}`})
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = &kgo.Record{Topic: receipts.TopicReceived, Key: []byte(id), Value: v}
	}
	if err := c.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Statuses as the view writes them: the latest of each receipt.
	statuses := c.client(t, kgo.ConsumeTopics(receipts.TopicStatuses), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	latest := map[string]receipts.ReceiptStatus{}
	accepted := 0
	readUntil := func(want int, within time.Duration) {
		t.Helper()
		rctx, rcancel := context.WithTimeout(ctx, within)
		defer rcancel()
		for accepted < want {
			fs := statuses.PollFetches(rctx)
			if rctx.Err() != nil {
				t.Fatalf("%d of %d receipts accepted after %v", accepted, want, within)
			}
			fs.EachRecord(func(r *kgo.Record) {
				var s receipts.ReceiptStatus
				if err := codec.Decode(r.Value, &s); err != nil {
					t.Fatal(err)
				}
				if prev, ok := latest[s.ID]; ok && prev.Version >= s.Version {
					return
				}
				if latest[s.ID].Status == string(receipts.StatusAccepted) {
					accepted--
				}
				latest[s.ID] = s
				if s.Status == string(receipts.StatusAccepted) {
					accepted++
				}
			})
		}
	}
	readUntil(n/4, time.Minute)
	w2.kill(t)
	t.Logf("killed r2 with %d of %d receipts accepted", accepted, n)
	w2 = start("r2")
	readUntil(n, time.Minute)

	for id, s := range latest {
		if s.TaxRegistration != registrar.TaxOffice.Number(id) || s.LogisticsRegistration != registrar.Logistics.Number(id) {
			t.Fatalf("%s accepted as %+v", id, s)
		}
	}
	for name, sim := range sims {
		if st := sim.Stats(); st.Registrations != n {
			t.Errorf("%s registered %d receipts (%d requests), want each of the %d once", name, st.Registrations, st.Requests, n)
		}
	}
	for _, w := range []*worker{w1, w2} {
		w.terminate(t, 30*time.Second)
	}
}
