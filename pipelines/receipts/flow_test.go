package receipts

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipeline/pipelinetest"
	"github.com/rationhq/ration/pipelines/receipts/registrar"
)

// flowRig is the pipeline on an in-process Kafka with both services
// simulated.
type flowRig struct {
	*kafkatest.Kafka
	tax, logistics *registrar.Simulator
	opts           *Options
}

// eightTiers are delay tiers of milliseconds, eight of them, so that the
// faults of a test park a receipt only once in millions.
func eightTiers() []time.Duration {
	var ds []time.Duration
	for d := 10 * time.Millisecond; len(ds) < 8; d += 10 * time.Millisecond {
		ds = append(ds, d)
	}
	return ds
}

func (r *flowRig) descriptor() pipeline.Descriptor {
	return NewWith(r.opts).WithRetryDelays(eightTiers())
}

func newFlowRig(t *testing.T) *flowRig {
	r := &flowRig{opts: DefaultOptions()}
	r.Kafka = pipelinetest.Kafka(t, 4, r.descriptor())
	for _, s := range []struct {
		svc  registrar.Service
		sim  **registrar.Simulator
		base *string
	}{{registrar.TaxOffice, &r.tax, &r.opts.TaxURL}, {registrar.Logistics, &r.logistics, &r.opts.LogisticsURL}} {
		sim, err := registrar.NewSimulator(s.svc, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		*s.sim, *s.base = sim, srv.URL
	}
	return r
}

// startWorker runs a worker of every stage.
func (r *flowRig) startWorker(t *testing.T, instance string) {
	t.Helper()
	pipelinetest.StartWorker(t, r.descriptor(), nil, r.Addrs(), r.Codec, instance)
}

// submit produces n receipts as the API would.
func (r *flowRig) submit(t *testing.T, n int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		id := ID("shop", fmt.Sprintf("R-%04d", i))
		v, err := r.Codec.Encode(&Receipt{ID: id, Client: "shop", ReceiptID: fmt.Sprintf("R-%04d", i), Type: "retail",
			ContentType: ContentJSON, Value: goodValue, Digest: "d" + id, ReceivedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = &kgo.Record{Topic: TopicReceived, Key: []byte(id), Value: v}
	}
	if err := r.Client.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// awaitStatuses reads the statuses topic until every one of n receipts
// is in a status for which done holds, and returns the last status of
// each.
func (r *flowRig) awaitStatuses(t *testing.T, n int, done func(ReceiptStatus) bool) map[string]ReceiptStatus {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.Addrs()...), kgo.ConsumeTopics(TopicStatuses),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	last := make(map[string]ReceiptStatus)
	finished := 0
	for finished < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d receipts done after a minute; last statuses %+v", finished, n, last)
		}
		fs.EachRecord(func(rec *kgo.Record) {
			var s ReceiptStatus
			if err := r.Codec.Decode(rec.Value, &s); err != nil {
				t.Fatal(err)
			}
			prev, seen := last[s.ID]
			if seen && s.Version <= prev.Version {
				return
			}
			if seen && done(prev) {
				finished--
			}
			last[s.ID] = s
			if done(s) {
				finished++
			}
		})
	}
	return last
}

// TestReceiptsReachAcceptedThroughFaults: receipts pass both stages to
// ACCEPTED with both numbers, each registered once with each service,
// although the services fail now and then, lose replies (the
// registration made, the answer a 503) and a worker is replaced midway.
func TestReceiptsReachAcceptedThroughFaults(t *testing.T) {
	r := newFlowRig(t)
	errRate, lost := 0.1, 0.1 // a try fails at 0.19: parked after nine, once in 3e6
	for _, sim := range []*registrar.Simulator{r.tax, r.logistics} {
		if err := sim.Faults().Change(registrar.FaultChange{ErrorRate: &errRate, LostReplyRate: &lost}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 200
	r.startWorker(t, "w1")
	r.submit(t, n)
	r.startWorker(t, "w2")
	last := r.awaitStatuses(t, n, func(s ReceiptStatus) bool { return s.Status == string(StatusAccepted) })
	for id, s := range last {
		if s.TaxRegistration != registrar.TaxOffice.Number(id) || s.LogisticsRegistration != registrar.Logistics.Number(id) {
			t.Fatalf("%s accepted with %s and %s", id, s.TaxRegistration, s.LogisticsRegistration)
		}
	}
	for name, sim := range map[string]*registrar.Simulator{"tax": r.tax, "logistics": r.logistics} {
		if st := sim.Stats(); st.Registrations != n || st.Requests <= n {
			t.Errorf("%s: %+v, want %d registrations and more requests (the faults)", name, st, n)
		}
	}
}

// TestRefusedAndParkedReceipts: a receipt the tax office refuses ends
// REJECTED with its reason and is never sent to logistics; one whose
// service is down parks, PARKED at that stage.
func TestRefusedAndParkedReceipts(t *testing.T) {
	r := newFlowRig(t)
	refuse, down := 1.0, time.Hour
	if err := r.tax.Faults().Change(registrar.FaultChange{RefuseRate: &refuse}); err != nil {
		t.Fatal(err)
	}
	r.startWorker(t, "w1")
	r.submit(t, 5)
	last := r.awaitStatuses(t, 5, func(s ReceiptStatus) bool { return s.Status == string(StatusRejected) })
	for id, s := range last {
		if s.Reason == "" || s.TaxRegistration != "" {
			t.Fatalf("%s rejected as %+v", id, s)
		}
	}
	if st := r.logistics.Stats(); st.Requests != 0 {
		t.Fatalf("logistics asked about refused receipts: %+v", st)
	}

	r2 := newFlowRig(t)
	if err := r2.logistics.Faults().Change(registrar.FaultChange{DownFor: &down}); err != nil {
		t.Fatal(err)
	}
	r2.startWorker(t, "w1")
	r2.submit(t, 3)
	for id, s := range r2.awaitStatuses(t, 3, func(s ReceiptStatus) bool { return s.Status == string(StatusParked) }) {
		if s.ParkedStage != StageLogistics || s.TaxRegistration == "" {
			t.Fatalf("%s parked as %+v", id, s)
		}
	}
}
