package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/bench"
	receiptsamples "github.com/rationhq/ration/docs/receipts"
	"github.com/rationhq/ration/pipelines/receipts"
	"github.com/rationhq/ration/pipelines/receipts/registrar"
	"github.com/rationhq/ration/schemas"
)

// receiptsLoad submits receipts of about 2 kB (bench's) and, as a client
// should, sends a receipt again until it is answered: a receipt id is
// taken once, so a repeat is harmless and answers 200.
type receiptsLoad struct {
	s   *stack
	tag string

	mu    sync.Mutex
	acked map[string]string // receipt id -> the API's id for it
	lost  []string          // never answered before the run ended
}

// setUp puts the receipts' type.
func (l *receiptsLoad) setUp(ctx context.Context) error {
	doc, err := receiptsamples.Type("retail")
	if err != nil {
		return err
	}
	_, err = l.s.adminClient(0).PutReceiptType(ctx, bench.BenchType, doc)
	return err
}

// send submits receipt n until it is answered or done ends, and reports
// whether it was.
func (l *receiptsLoad) send(done context.Context, n int) bool {
	rid := fmt.Sprintf("%s-R%06d", l.tag, n)
	doc := bench.Receipt(rid, time.Now())
	for attempt := n; ; attempt++ {
		got, err := l.s.loadClient(attempt).SubmitReceipt(done, "application/json", doc)
		if err == nil {
			l.mu.Lock()
			l.acked[rid] = got.ID
			l.mu.Unlock()
			return true
		}
		if !pause(done, 200*time.Millisecond) {
			l.mu.Lock()
			l.lost = append(l.lost, rid)
			l.mu.Unlock()
			return false
		}
	}
}

// receiptsCounts is what the receipts checker found.
type receiptsCounts struct {
	Acked, Unanswered, Accepted, Rejected int
	Tax, Logistics                        registrar.Stats
}

func (c receiptsCounts) String() string {
	return fmt.Sprintf("receipts: acknowledged=%d unanswered=%d accepted=%d rejected=%d tax_registrations=%d logistics_registrations=%d",
		c.Acked, c.Unanswered, c.Accepted, c.Rejected, c.Tax.Registrations, c.Logistics.Registrations)
}

// check waits for every acknowledged receipt to end ACCEPTED or REJECTED,
// holds the API's answers against Kafka, and the accepted ones against
// the registrations each simulator counts: every accepted receipt
// registered exactly once with both.
func (l *receiptsLoad) check(ctx context.Context, v *violations) receiptsCounts {
	l.mu.Lock()
	c := receiptsCounts{Acked: len(l.acked), Unanswered: len(l.lost)}
	ids := make(map[string]string, len(l.acked))
	for k, id := range l.acked {
		ids[k] = id
	}
	l.mu.Unlock()
	for _, id := range l.lost {
		v.add("receipts", "receipt %s: never answered", id)
	}
	admin := l.s.adminClient(0)
	deadline := time.Now().Add(drainFor)
	answers := make(map[string]ration.Receipt, len(ids))
	for rid, id := range ids {
		for {
			r, err := admin.Receipt(ctx, id)
			if err == nil && r.Status == ration.ReceiptAccepted {
				c.Accepted++
				answers[id] = r
				break
			}
			if err == nil && r.Status == ration.ReceiptRejected {
				c.Rejected++
				answers[id] = r
				break
			}
			if time.Now().After(deadline) {
				v.add("receipts", "receipt %s (%s): acknowledged, still %q after the drain (%v)", rid, id, r.Status, err)
				break
			}
			pause(ctx, 200*time.Millisecond) // the sink announces nothing: poll its progress
		}
	}
	l.againstKafka(ctx, answers, v)
	var err error
	if c.Tax, err = l.simStats(ctx, "tax"); err != nil {
		v.add("receipts", "tax simulator stats: %v", err)
	}
	if c.Logistics, err = l.simStats(ctx, "logistics"); err != nil {
		v.add("receipts", "logistics simulator stats: %v", err)
	}
	// A receipt the logistics service refused was registered with the
	// tax office first.
	if n := c.Tax.Registrations; n < int64(c.Accepted) || n > int64(c.Accepted+c.Rejected) {
		v.add("receipts", "tax office registered %d receipts, %d accepted and %d rejected", n, c.Accepted, c.Rejected)
	}
	if c.Logistics.Registrations != int64(c.Accepted) {
		v.add("receipts", "logistics service registered %d receipts, %d accepted", c.Logistics.Registrations, c.Accepted)
	}
	return c
}

// againstKafka holds the API's answers (ClickHouse's, once the sink has
// caught up) against the latest status of each receipt in Kafka
// (read_committed): the same status and registration numbers, and an
// accepted receipt's numbers the ones the services gave it.
func (l *receiptsLoad) againstKafka(ctx context.Context, answers map[string]ration.Receipt, v *violations) {
	latest := map[string]receipts.ReceiptStatus{}
	err := l.s.readCommitted(ctx, receipts.New(), receipts.TopicStatuses, func(codec *schemas.Codec, r *kgo.Record) error {
		var st receipts.ReceiptStatus
		if err := codec.Decode(r.Value, &st); err != nil {
			return err
		}
		if prev, ok := latest[st.ID]; !ok || st.Version > prev.Version {
			latest[st.ID] = st
		}
		return nil
	})
	if err != nil {
		v.add("receipts", "read %s: %v", receipts.TopicStatuses, err)
		return
	}
	for id, a := range answers {
		k, ok := latest[id]
		switch {
		case !ok:
			v.add("receipts", "receipt %s: %s through the API, no status in Kafka", id, a.Status)
		case k.Status != string(a.Status) || k.TaxRegistration != a.TaxRegistration || k.LogisticsRegistration != a.LogisticsRegistration:
			v.add("receipts", "receipt %s: the API says %s (tax %q, logistics %q), Kafka %s (tax %q, logistics %q)", id,
				a.Status, a.TaxRegistration, a.LogisticsRegistration, k.Status, k.TaxRegistration, k.LogisticsRegistration)
		case a.Status == ration.ReceiptAccepted &&
			(a.TaxRegistration != registrar.TaxOffice.Number(id) || a.LogisticsRegistration != registrar.Logistics.Number(id)):
			v.add("receipts", "receipt %s: accepted with registrations %q and %q, not the services' numbers", id, a.TaxRegistration, a.LogisticsRegistration)
		}
	}
}

func (l *receiptsLoad) simStats(ctx context.Context, name string) (registrar.Stats, error) {
	var st registrar.Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.s.simURLs[name]+"/admin/stats", nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}
