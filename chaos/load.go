package chaos

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rationhq/ration/bench"
)

// AnswerTarget is the p99 every pipeline's answers must keep for a rate to
// count as held: RC-5's 500 ms, which the receipts API is held to, applied
// to DM marks and points commands too.
const AnswerTarget = 500 * time.Millisecond

// load is one pipeline's requests as its clients saw them: how long each
// took from the moment it was due until it was answered, the client's
// retries included (a killed API or a cut connection costs the requests
// it catches a retry).
type load struct {
	name string

	mu         sync.Mutex
	answered   []time.Duration
	unanswered int
}

// pace calls send(0), send(1), ... rate times a second, each in its own
// goroutine, until ctx ends; wg waits for them. send reports whether its
// request was answered; l keeps the times.
func (l *load) pace(ctx context.Context, wg *sync.WaitGroup, rate float64, send func(n int) bool) {
	wg.Go(func() {
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
		for n := 0; ; n++ {
			var due time.Time
			select {
			case <-ctx.Done():
				return
			case due = <-tick.C:
			}
			wg.Go(func() {
				ok := send(n)
				took := time.Since(due)
				l.mu.Lock()
				defer l.mu.Unlock()
				if ok {
					l.answered = append(l.answered, took)
				} else {
					l.unanswered++
				}
			})
		}
	})
}

// LoadHeld is what one pipeline's clients saw over a run.
type LoadHeld struct {
	Pipeline             string
	Answered, Unanswered int
	Rate                 float64 // answered requests per second of load
	P50, P99, Max        time.Duration
}

// Held reports whether every request was answered and the p99 kept
// AnswerTarget: with the checkers passing, the rate was held.
func (h LoadHeld) Held() bool { return h.Unanswered == 0 && h.P99 <= AnswerTarget }

func (h LoadHeld) String() string {
	return fmt.Sprintf("load %s: answered=%d unanswered=%d rate=%.1f/s p50=%v p99=%v max=%v held=%t",
		h.Pipeline, h.Answered, h.Unanswered, h.Rate, h.P50.Round(time.Millisecond), h.P99.Round(time.Millisecond),
		h.Max.Round(time.Millisecond), h.Held())
}

// held sums l up over a load of duration d.
func (l *load) held(d time.Duration) LoadHeld {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LoadHeld{Pipeline: l.name, Answered: len(l.answered), Unanswered: l.unanswered,
		Rate: float64(len(l.answered)) / d.Seconds(),
		P50:  bench.Percentile(l.answered, 0.5), P99: bench.Percentile(l.answered, 0.99), Max: bench.Percentile(l.answered, 1)}
}
