package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
)

// ReceiptsConfig configures `ration bench receipts`.
type ReceiptsConfig struct {
	// API and Key reach a running stack (`ration dev`, say); Key is an
	// admin's, to put the bench's receipt type.
	API, Key string
	// Rate is receipts sent per second, on a fixed schedule (open loop).
	// Default 1000.
	Rate float64
	// Duration of a run at one rate. Default 10s.
	Duration time.Duration
	// FindMax raises the rate from Rate, by half each step, until the POST
	// p99 passes MaxP99 or a request fails, then tries the rate halfway
	// between the highest that held and the lowest that did not until
	// they are within findMaxResolution; the highest rate that held is
	// the report's MaxRate.
	FindMax bool
	// MaxP99 is the POST p99 a rate must keep to hold. Default 500ms.
	MaxP99 time.Duration
	// FollowOneIn is how many receipts there are for each one followed to
	// ACCEPTED (the POST-to-ACCEPTED latency). Default 50.
	FollowOneIn int
	// MaxInFlight bounds the requests waiting for an answer; a send that
	// would pass it counts as failed (the stack is not keeping up).
	// Default 4096.
	MaxInFlight int
}

func (c *ReceiptsConfig) setDefaults() {
	if c.Rate == 0 {
		c.Rate = 1000
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.MaxP99 == 0 {
		c.MaxP99 = 500 * time.Millisecond
	}
	if c.FollowOneIn == 0 {
		c.FollowOneIn = 50
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 4096
	}
}

// ReceiptsStep is one run at one rate.
type ReceiptsStep struct {
	Rate                       float64
	Sent, Failed               int
	PostP50, PostP99, PostP999 time.Duration
	Accepted                   int // followed receipts that reached ACCEPTED
	AcceptP50, AcceptP99       time.Duration
	Errors                     []string // the first few failures
}

// ReceiptsReport is every step of a run of `ration bench receipts`.
type ReceiptsReport struct {
	Steps   []ReceiptsStep
	MaxRate float64 // with FindMax: the highest rate that held
}

// Print writes a line per step and, with FindMax, max_rate=... last.
func (r ReceiptsReport) Print(w io.Writer, findMax bool) {
	for _, s := range r.Steps {
		fmt.Fprintf(w, "rate=%.0f/s sent=%d failed=%d post_p50=%s post_p99=%s post_p999=%s accepted=%d accept_p50=%s accept_p99=%s\n",
			s.Rate, s.Sent, s.Failed, ms(s.PostP50), ms(s.PostP99), ms(s.PostP999), s.Accepted, ms(s.AcceptP50), ms(s.AcceptP99))
		for _, e := range s.Errors {
			fmt.Fprintf(w, "  error: %s\n", e)
		}
	}
	if findMax {
		fmt.Fprintf(w, "max_rate=%.0f\n", r.MaxRate)
	}
}

// BenchType is the receipt type the bench puts and sends: a retail
// receipt's shape and rules.
const BenchType = "bench-retail"

// RunReceipts sends receipts of about 2 kB to the stack at cfg.API at a
// constant arrival rate: each request leaves at its planned time whether
// or not earlier ones were answered, and its latency counts from that
// planned time, so a stall of the stack is not hidden by the bench
// waiting for it.
func RunReceipts(ctx context.Context, cfg ReceiptsConfig, typeDoc []byte, progress io.Writer) (ReceiptsReport, error) {
	cfg.setDefaults()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.MaxInFlight, MaxConnsPerHost: cfg.MaxInFlight}}
	c := apiclient.New(cfg.API, hc).WithKey(cfg.Key)
	if _, err := c.PutReceiptType(ctx, BenchType, typeDoc); err != nil {
		return ReceiptsReport{}, fmt.Errorf("put the bench's receipt type: %w", err)
	}
	var rep ReceiptsReport
	run := fmt.Sprintf("b%d", time.Now().UnixNano()%1e9)
	failed := math.Inf(1) // the lowest rate that did not hold
	for rate, step := cfg.Rate, 0; ; step++ {
		fmt.Fprintf(progress, "sending %.0f receipts/s for %s...\n", rate, cfg.Duration)
		s, err := runReceiptsStep(ctx, c, cfg, rate, fmt.Sprintf("%s-%d", run, step))
		if err != nil {
			return rep, err
		}
		rep.Steps = append(rep.Steps, s)
		if s.Failed == 0 && s.PostP99 <= cfg.MaxP99 {
			rep.MaxRate = rate
		} else {
			failed = rate
		}
		if !cfg.FindMax || ctx.Err() != nil {
			return rep, nil
		}
		var more bool
		if rate, more = nextRate(rate, rep.MaxRate, failed); !more {
			return rep, nil
		}
	}
}

// nextRate is the rate FindMax tries after rate, given the highest rate
// that held (0: none) and the lowest that did not (+Inf: none): half as
// much again while every rate held, then halfway between the two until
// they are within findMaxResolution; false when it is done.
func nextRate(rate, held, failed float64) (float64, bool) {
	switch {
	case math.IsInf(failed, 1):
		return math.Round(rate * 1.5), true
	case held > 0 && failed > held*(1+findMaxResolution):
		return math.Round((held + failed) / 2), true
	}
	return 0, false
}

// findMaxResolution is how close FindMax brings the highest rate that
// held and the lowest that did not: 10%. Steps of half as much again
// alone left max_rate=1013 undecided between 1 013 and 1 519.
const findMaxResolution = 0.1

func runReceiptsStep(ctx context.Context, c *apiclient.Client, cfg ReceiptsConfig, rate float64, prefix string) (ReceiptsStep, error) {
	s := ReceiptsStep{Rate: rate}
	n := int(rate * cfg.Duration.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	var (
		mu       sync.Mutex
		post     = make([]time.Duration, 0, n)
		accept   []time.Duration
		inFlight atomic.Int64
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		s.Failed++
		if len(s.Errors) < 5 {
			s.Errors = append(s.Errors, err.Error())
		}
	}
	start := time.Now()
	for i := range n {
		planned := start.Add(time.Duration(i) * interval)
		if d := time.Until(planned); d > 0 {
			select {
			case <-ctx.Done():
				return s, ctx.Err()
			case <-time.After(d):
			}
		}
		s.Sent++
		if inFlight.Load() >= int64(cfg.MaxInFlight) {
			fail(errors.New("too many requests waiting: the stack is not keeping up"))
			continue
		}
		inFlight.Add(1)
		wg.Go(func() {
			defer inFlight.Add(-1)
			id := fmt.Sprintf("%s-%07d", prefix, i)
			got, err := c.SubmitReceipt(ctx, "application/json", benchReceipt(id, planned))
			took := time.Since(planned)
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			post = append(post, took)
			mu.Unlock()
			if i%cfg.FollowOneIn != 0 {
				return
			}
			at, err := awaitAccepted(ctx, c, got.ID, planned)
			if err != nil {
				fail(fmt.Errorf("follow %s: %w", got.ID, err))
				return
			}
			mu.Lock()
			accept = append(accept, at.Sub(planned))
			mu.Unlock()
		})
	}
	wg.Wait()
	s.PostP50, s.PostP99, s.PostP999 = Percentile(post, 0.5), Percentile(post, 0.99), Percentile(post, 0.999)
	s.Accepted, s.AcceptP50, s.AcceptP99 = len(accept), Percentile(accept, 0.5), Percentile(accept, 0.99)
	return s, nil
}

// awaitAccepted polls a receipt until it is ACCEPTED and returns when it
// was seen so: later than it was by at most a poll's interval, which is a
// tenth of the receipt's age (planned is when it was to be sent), at
// least 50 ms and at most a second. Polls every 50 ms whatever the age
// asked 20 a second of each receipt still on its way: as a stack fell
// behind, the bench's own GETs grew past its POSTs and pushed it further.
func awaitAccepted(ctx context.Context, c *apiclient.Client, id string, planned time.Time) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		r, err := c.Receipt(ctx, id)
		switch {
		case err == nil && r.Status == ration.ReceiptAccepted:
			return time.Now(), nil
		case err == nil && (r.Status == ration.ReceiptRejected || r.Status == ration.ReceiptFailed):
			return time.Time{}, fmt.Errorf("ended %s: %s", r.Status, r.Reason)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("not accepted within a minute (last: %s, %v)", r.Status, err)
		case <-time.After(pollInterval(time.Since(planned))):
		}
	}
}

// pollInterval is how long awaitAccepted waits before asking again after
// a receipt of age age: a tenth of it, within [50 ms, 1 s].
func pollInterval(age time.Duration) time.Duration {
	return min(max(age/10, 50*time.Millisecond), time.Second)
}

// benchReceipt is a retail receipt of about 2 kB: fifteen lines that add
// up to its total. Every receipt has the same lines, so they are encoded
// once (receiptParts) and each receipt only fills in its id and time: the
// bench shares the stack's cores and should take as little of them as it
// can.
func benchReceipt(id string, at time.Time) []byte {
	parts := receiptParts()
	b := make([]byte, 0, len(parts[0])+len(parts[1])+len(parts[2])+len(id)+32)
	b = append(b, parts[0]...)
	b = strconv.AppendQuote(b, at.UTC().Format(time.RFC3339))
	b = append(b, parts[1]...)
	idJSON, _ := json.Marshal(id) // a string always marshals
	b = append(b, idJSON...)
	return append(b, parts[2]...)
}

// receiptParts is a bench receipt's JSON around its time of issue and its
// id: before, between and after.
var receiptParts = sync.OnceValue(func() [3][]byte {
	type line struct {
		Product  string  `json:"product"`
		Category string  `json:"category"`
		Quantity float64 `json:"quantity"`
		Price    float64 `json:"price"`
		Amount   float64 `json:"amount"`
	}
	categories := []string{"dairy", "bakery", "produce", "drinks", "household"}
	var lines []line
	total := 0
	for i := range 15 {
		cents := 100 + 37*i
		lines = append(lines, line{Product: fmt.Sprintf("Product %02d %s", i, strings.Repeat("x", 40)), Category: categories[i%len(categories)],
			Quantity: 1, Price: float64(cents) / 100, Amount: float64(cents) / 100})
		total += cents
	}
	const atMark, idMark = `"@issued_at@"`, `"@receipt_id@"`
	b, err := json.Marshal(map[string]any{
		"type": BenchType, "receipt_id": idMark[1 : len(idMark)-1], "issued_at": atMark[1 : len(atMark)-1],
		"merchant": map[string]string{"name": "Bench Shop", "tax_id": "79927398713"}, "currency": "EUR", "payment": "card",
		"lines": lines, "total": float64(total) / 100,
	})
	if err != nil {
		panic(err) // a fixed shape
	}
	before, rest, _ := bytes.Cut(b, []byte(atMark))
	between, after, _ := bytes.Cut(rest, []byte(idMark))
	return [3][]byte{before, between, after}
})

// Receipt is a receipt of about 2 kB of type BenchType with receipt id
// id, issued at at: the bench's load, for other loads (`ration chaos`).
func Receipt(id string, at time.Time) []byte { return benchReceipt(id, at) }
