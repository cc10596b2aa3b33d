package e2e

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/await"
	"github.com/rationhq/ration/pipelines/dm"
)

// result is one committed DM result and where it sits in the result topic.
type result struct {
	dm.Result
	Partition int32
	Offset    int64
	Timestamp time.Time // the record's timestamp: when the worker produced it
}

// resultLog is everything a read_committed reader of the result topic has
// seen so far, kept up to date in the background.
type resultLog struct {
	board *await.Board
	all   []result
	users map[string]int
	// sentinels[label][partition] is the offset of a sentinel record.
	sentinels map[string]map[int32]int64
	err       error
}

// readResults starts a read_committed reader of the result topic from its
// start; it stops when the test ends.
func (c *cluster) readResults(t *testing.T) *resultLog {
	t.Helper()
	l := &resultLog{board: c.board, users: make(map[string]int), sentinels: make(map[string]map[int32]int64)}
	cl := c.client(t,
		kgo.ConsumeTopics(dm.TopicResults),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil || fs.IsClientClosed() {
				return
			}
			var batch []result
			var sentinels []*kgo.Record
			var errs []error
			fs.EachError(func(topic string, p int32, err error) {
				errs = append(errs, fmt.Errorf("fetch %s[%d]: %w", topic, p, err))
			})
			fs.EachRecord(func(rec *kgo.Record) {
				if len(rec.Headers) > 0 && rec.Headers[0].Key == sentinelHeader {
					sentinels = append(sentinels, rec)
					return
				}
				r := result{Partition: rec.Partition, Offset: rec.Offset, Timestamp: rec.Timestamp}
				if err := c.codec.Decode(rec.Value, &r.Result); err != nil {
					errs = append(errs, fmt.Errorf("decode result at %d/%d: %w", rec.Partition, rec.Offset, err))
					return
				}
				batch = append(batch, r)
			})
			l.board.Update(func() {
				for _, r := range batch {
					l.all = append(l.all, r)
					l.users[r.UserID]++
				}
				for _, rec := range sentinels {
					label := string(rec.Headers[0].Value)
					if l.sentinels[label] == nil {
						l.sentinels[label] = make(map[int32]int64)
					}
					l.sentinels[label][rec.Partition] = rec.Offset
				}
				if l.err == nil && len(errs) > 0 {
					l.err = errors.Join(errs...)
				}
			})
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// distinct is how many users have a result.
func (l *resultLog) distinct() (n int) {
	l.board.Read(func() { n = len(l.users) })
	return n
}

// any reports whether some result matches.
func (l *resultLog) any(match func(result) bool) (found bool) {
	l.board.Read(func() {
		for _, r := range l.all {
			if match(r) {
				found = true
				return
			}
		}
	})
	return found
}

// sentinelSeen reports whether the reader has passed sentinel label in
// every partition.
func (l *resultLog) sentinelSeen(label string, partitions int32) (seen bool) {
	l.board.Read(func() { seen = int32(len(l.sentinels[label])) == partitions })
	return seen
}

// snapshot returns every result so far and the sentinels' offsets.
func (l *resultLog) snapshot() ([]result, map[string]map[int32]int64, error) {
	var (
		all  []result
		sent = make(map[string]map[int32]int64)
		err  error
	)
	l.board.Read(func() {
		all = append(all, l.all...)
		for label, byP := range l.sentinels {
			sent[label] = make(map[int32]int64, len(byP))
			for p, o := range byP {
				sent[label][p] = o
			}
		}
		err = l.err
	})
	return all, sent, err
}

// settle waits until every user has a result and the group has committed
// every mark, stops the workers gracefully, and reads the result topic to
// its end: the returned results are all that will ever be committed.
func (c *cluster) settle(t *testing.T, l *resultLog, users int, timeout time.Duration, workers ...*worker) []result {
	t.Helper()
	c.board.MustAwait(t, timeout, fmt.Sprintf("results for %d users", users), func() bool { return l.distinct() >= users })
	c.awaitGroupCaughtUp(t, 30*time.Second)
	for _, w := range workers {
		w.terminate(t, 15*time.Second)
	}
	c.sentinel(t, "end")
	c.board.MustAwait(t, 30*time.Second, "the end sentinel in every result partition", func() bool { return l.sentinelSeen("end", c.partitions) })
	all, _, err := l.snapshot()
	if err != nil {
		t.Fatalf("reading results: %v", err)
	}
	return all
}

// checkExactlyOnce fails unless every marked user has exactly one result,
// a successful check with the right answer, and no one else has any.
func checkExactlyOnce(t *testing.T, marks map[string]int32, all []result) {
	t.Helper()
	byUser := make(map[string][]result, len(marks))
	for _, r := range all {
		byUser[r.UserID] = append(byUser[r.UserID], r)
	}
	var dups, missing, strangers, wrong []string
	for id, rs := range byUser {
		if _, ok := marks[id]; !ok {
			strangers = append(strangers, id)
		}
		if len(rs) > 1 {
			dups = append(dups, describe(rs))
		}
		r := rs[0]
		if r.Status != dm.ResultChecked || r.OpenDM == nil || *r.OpenDM != dm.Answer(id) {
			wrong = append(wrong, describe(rs[:1]))
		}
	}
	for id := range marks {
		if len(byUser[id]) == 0 {
			missing = append(missing, id)
		}
	}
	t.Logf("%d committed results for %d users (%d marked)", len(all), len(byUser), len(marks))
	report := func(what string, items []string) {
		if len(items) == 0 {
			return
		}
		sort.Strings(items)
		t.Errorf("%d %s, e.g.:\n  %s", len(items), what, strings.Join(items[:min(len(items), 5)], "\n  "))
	}
	report("users with more than one committed result", dups)
	report("marked users without a committed result", missing)
	report("results for users never marked", strangers)
	report("results that are not a correct check", wrong)
}

func describe(rs []result) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("[%s by %s checked %s at %d/%d]", r.UserID, r.Worker,
			r.CheckedAt.Format("15:04:05.000"), r.Partition, r.Offset)
	}
	return strings.Join(parts, " ")
}
