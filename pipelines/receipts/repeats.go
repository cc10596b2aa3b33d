package receipts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// repeats tells whether receipts were received before, from ClickHouse,
// for the POSTs that the index of recent receipts cannot answer. Concurrent
// lookups share queries: the first waiting lookup starts a query for every
// id waiting at that moment, and the lookups arriving meanwhile form the
// next one, which starts queryPace times as long after the one before
// started as that one took, but at most gap after. At a few receipts a
// second a lookup is one query, sent at once; at thousands, a query
// serves tens or hundreds.
type repeats struct {
	query   func(context.Context, []receiptKey) (map[receiptKey]repeatAnswer, error)
	timeout time.Duration
	gap     time.Duration
	started time.Time     // of the latest query; only the goroutine serving touches these two
	took    time.Duration // by the latest query

	mu      sync.Mutex
	waiting map[receiptKey][]chan repeatAnswer
	running bool
}

type receiptKey struct{ client, id string }

// repeatAnswer is what ClickHouse holds of a receipt: its digest and
// status ("" digest: nothing).
type repeatAnswer struct {
	digest string
	status Status
	err    error
}

// maxRepeatBatch bounds the ids of one query.
const maxRepeatBatch = 1000

// queryGap is the longest wait between two queries. Without a wait a
// query left as the one before returned, some 200 a second at 1 000
// receipts/s, a handful of ids each: ClickHouse spent 0.4 of 2 cores on
// them, most of it on what every query costs whatever its ids. Starts 20
// ms apart cut that to a fifth, but made a POST wait 10 ms more at
// 300/s too. Starts queryPace times the last query's time apart cost
// little while ClickHouse answers in a millisecond or two, and space out,
// up to this, as a loaded ClickHouse slows: twice the time gave 100
// queries a second at 1 000 receipts/s; four times, about 90, and a POST
// p50 at 300/s twice as long (docs/benchmarks.md).
const (
	queryGap  = 20 * time.Millisecond
	queryPace = 2
)

// newRepeats answers lookups with query, each given timeout, starting
// queries queryPace times a query's time apart, at most gap.
func newRepeats(query func(context.Context, []receiptKey) (map[receiptKey]repeatAnswer, error), timeout, gap time.Duration) *repeats {
	return &repeats{query: query, timeout: timeout, gap: gap, waiting: make(map[receiptKey][]chan repeatAnswer)}
}

// lookup returns the digest and status of client's receipt id, "" if
// ClickHouse has none.
func (r *repeats) lookup(ctx context.Context, client, id string) (string, Status, error) {
	w := make(chan repeatAnswer, 1)
	r.mu.Lock()
	k := receiptKey{client, id}
	r.waiting[k] = append(r.waiting[k], w)
	if !r.running {
		r.running = true
		go r.serve()
	}
	r.mu.Unlock()
	select {
	case a := <-w:
		return a.digest, a.status, a.err
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
}

// serve runs queries while lookups wait.
func (r *repeats) serve() {
	for {
		if wait := min(r.gap, queryPace*r.took) - time.Since(r.started); wait > 0 {
			time.Sleep(wait) // the lookups arriving meanwhile join this query
		}
		r.mu.Lock()
		if len(r.waiting) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		batch := make(map[receiptKey][]chan repeatAnswer, min(len(r.waiting), maxRepeatBatch))
		for k, ws := range r.waiting {
			if len(batch) == maxRepeatBatch {
				break
			}
			batch[k] = ws
			delete(r.waiting, k)
		}
		r.mu.Unlock()
		keys := make([]receiptKey, 0, len(batch))
		for k := range batch {
			keys = append(keys, k)
		}
		r.started = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		found, err := r.query(ctx, keys)
		r.took = time.Since(r.started)
		cancel()
		for k, ws := range batch {
			a := repeatAnswer{err: err}
			if err == nil {
				a = found[k]
			}
			for _, w := range ws {
				w <- a
			}
		}
	}
}

// digests returns the digest and status of each of keys that the read
// model holds: which of them it holds, and their digests, from
// receipt_ids; the status of those (repeats: few), from the lookup table.
// A receipt stored there without a status yet is RECEIVED.
func (rd *Reader) digests(ctx context.Context, keys []receiptKey) (map[receiptKey]repeatAnswer, error) {
	out := make(map[receiptKey]repeatAnswer)
	err := rd.byKeys(ctx, `SELECT client, id, any(digest), '' FROM `+rd.ids, keys, out)
	if err != nil || len(out) == 0 {
		return out, err
	}
	found := make([]receiptKey, 0, len(out))
	for k, a := range out {
		found = append(found, k)
		out[k] = repeatAnswer{digest: a.digest, status: StatusReceived}
	}
	statuses := make(map[receiptKey]repeatAnswer, len(found))
	if err := rd.byKeys(ctx, `SELECT client, id, '', toString(argMax(status, version)) FROM `+rd.lookup, found, statuses); err != nil {
		return nil, err
	}
	for k, a := range statuses {
		out[k] = repeatAnswer{digest: out[k].digest, status: a.status}
	}
	return out, nil
}

// byKeys runs query (SELECT client, id, a digest, a status FROM table)
// for keys, grouped by receipt, and adds its answers to out.
func (rd *Reader) byKeys(ctx context.Context, query string, keys []receiptKey, out map[receiptKey]repeatAnswer) error {
	clients, ids := make([]string, 0, len(keys)), make([]string, 0, len(keys))
	for _, k := range keys {
		if !slices.Contains(clients, k.client) {
			clients = append(clients, k.client)
		}
		ids = append(ids, k.id)
	}
	q := fmt.Sprintf(`%s WHERE client IN (%s) AND id IN (%s) GROUP BY client, id`, query, placeholders(len(clients)), placeholders(len(ids)))
	args := make([]any, 0, len(clients)+len(ids))
	for _, c := range clients {
		args = append(args, c)
	}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := rd.conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("repeats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k receiptKey
		var a repeatAnswer
		var status string
		if err := rows.Scan(&k.client, &k.id, &a.digest, &status); err != nil {
			return fmt.Errorf("repeats: %w", err)
		}
		a.status = Status(status)
		out[k] = a
	}
	return rows.Err()
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
