package receipts

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestRepeatsPaceTheirQueries: lookups one after another start queries
// queryPace times a query's time apart, or gap if less; lookups arriving together
// share one; every lookup gets its answer.
func TestRepeatsPaceTheirQueries(t *testing.T) {
	const took = 10 * time.Millisecond // each query's, as a ClickHouse busy for that long
	for _, tc := range []struct {
		name    string
		gap     time.Duration
		atLeast time.Duration // between two starts
	}{
		{"paced by the query's time", time.Second, queryPace * took},
		{"capped", took * 3 / 2, took * 3 / 2}, // below queryPace times took
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu     sync.Mutex
				starts []time.Time
				sizes  []int
				r      *repeats
			)
			query := func(_ context.Context, keys []receiptKey) (map[receiptKey]repeatAnswer, error) {
				// A query's start as the pacing counts it (set just before
				// the call, by the goroutine making it): the time the call
				// itself comes in can lag by a scheduler's whim on a
				// loaded machine, and a CI run saw 12.7 ms for 15.
				mu.Lock()
				starts, sizes = append(starts, r.started), append(sizes, len(keys))
				mu.Unlock()
				time.Sleep(took)
				out := make(map[receiptKey]repeatAnswer, len(keys))
				for _, k := range keys {
					out[k] = repeatAnswer{digest: "d-" + k.id, status: StatusAccepted}
				}
				return out, nil
			}
			r = newRepeats(query, time.Second, tc.gap)
			for i := range 5 {
				id := fmt.Sprintf("shop:R-%d", i)
				digest, status, err := r.lookup(t.Context(), "shop", id)
				if err != nil || digest != "d-"+id || status != StatusAccepted {
					t.Fatalf("lookup %s: %q %q %v", id, digest, status, err)
				}
			}
			// The next query cannot start at once: lookups made together
			// now wait for it, and share it.
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Go(func() {
					id := fmt.Sprintf("shop:S-%d", i)
					if digest, _, err := r.lookup(t.Context(), "shop", id); err != nil || digest != "d-"+id {
						t.Errorf("lookup %s: %q %v", id, digest, err)
					}
				})
			}
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			for i := 2; i < len(starts); i++ { // the first query waits for no other
				if d := starts[i].Sub(starts[i-1]); d < tc.atLeast {
					t.Fatalf("query %d started %v after the one before, want %v at least", i, d, tc.atLeast)
				}
			}
			if total := len(starts); total > 5+3 {
				t.Fatalf("%d queries of %v ids for 5 lookups in turn and 50 together, want the 50 in a few", total, sizes)
			}
		})
	}
}

// TestRepeatOfAReceiptOnItsWay: a receipt sent again while on its way is
// known, with its status, from what the API process holds: RECEIVED
// before the status view reaches it, then the view's status; ClickHouse
// is asked only once live can no longer tell (here, past half its
// window).
func TestRepeatOfAReceiptOnItsWay(t *testing.T) {
	clock := t0
	var queries int
	rs := &routes{recent: newRecent(recentWindow), live: newLive(liveWindow),
		repeats: newRepeats(func(_ context.Context, keys []receiptKey) (map[receiptKey]repeatAnswer, error) {
			queries++
			return map[receiptKey]repeatAnswer{keys[0]: {digest: "d", status: StatusLogisticsRegistered}}, nil
		}, time.Second, 0)}
	rs.recent.now, rs.live.now = func() time.Time { return clock }, func() time.Time { return clock }
	rs.live.from = clock.Add(-time.Minute)
	rs.recent.add("c:r1", recentEntry{Type: "retail", Digest: "d", ReceivedAt: clock})
	check := func(want Status, wantQueries int) {
		t.Helper()
		digest, st, err := rs.known(context.Background(), "c", "c:r1")
		if err != nil || digest != "d" || st != want || queries != wantQueries {
			t.Fatalf("known: %q %s %v after %d queries; want d %s after %d", digest, st, err, queries, want, wantQueries)
		}
	}
	check(StatusReceived, 0)
	rs.live.addStatus(ReceiptStatus{ID: "c:r1", Status: string(StatusTaxRegistered), ReceivedAt: clock.UnixMilli(), Version: 2})
	check(StatusTaxRegistered, 0)
	clock = clock.Add(2 * time.Minute) // live has let it go; the index has not
	check(StatusLogisticsRegistered, 1)
}
