package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaread"
	"github.com/rationhq/ration/internal/syncbuf"
)

// brokerProc is a `ration broker --sync-writes` process on a data dir; it
// comes back on the same ports after a kill.
type brokerProc struct {
	dir   string
	cmd   *exec.Cmd
	kafka string
	log   syncbuf.Buffer // what every run wrote to stderr
}

// ended is what each start logged of the transactions it ended because
// the broker had died in them.
func (b *brokerProc) ended() []string {
	var out []string
	for _, l := range strings.Split(b.log.String(), "\n") {
		if _, rest, ok := strings.Cut(l, "transactions open when the broker stopped, ended: "); ok {
			ended, _, _ := strings.Cut(rest, `"`)
			out = append(out, ended)
		}
	}
	return out
}

// startBroker runs a broker on a data dir of its own, killed when the test
// ends.
func startBroker(t *testing.T) *brokerProc {
	b := &brokerProc{dir: filepath.Join(t.TempDir(), "broker")}
	b.start(t)
	t.Cleanup(func() { b.kill9(t) })
	return b
}

// clientOpts reach the broker and wait out its restarts (it comes back on
// the same port).
func (b *brokerProc) clientOpts() []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(b.kafka), kgo.RetryTimeout(30 * time.Second)}
}

// start runs the broker and waits for its ready line.
func (b *brokerProc) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(rationBin, "broker", "--data-dir", b.dir, "--no-auth", "--sync-writes", "--partitions", "4",
		"--kafka-listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0", "--metrics=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &b.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.cmd = cmd
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 3 && f[0] == "ration" && f[2] == "ready" {
				ready <- strings.TrimPrefix(f[3], "kafka=")
			}
		}
	}()
	select {
	case b.kafka = <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("broker not ready within 30s")
	}
}

// kill9 kills the broker with SIGKILL and reaps it.
func (b *brokerProc) kill9(t *testing.T) {
	t.Helper()
	kill(t, b.cmd)
}

// client is a client of the broker with opts, closed when the test ends,
// that has created topics of parts partitions.
func (b *brokerProc) client(ctx context.Context, t *testing.T, parts int32, topics []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(b.clientOpts(), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if _, err := kadm.NewClient(cl).CreateTopics(ctx, parts, 1, nil, topics...); err != nil {
		t.Fatal(err)
	}
	return cl
}

// committed reads topic, read committed, to its end and returns, for each
// number the records hold, the partitions it is in (once per record).
func (b *brokerProc) committed(ctx context.Context, t *testing.T, topic string) map[int][]int32 {
	t.Helper()
	seen := make(map[int][]int32)
	err := kafkaread.ToEnd(ctx, []kgo.Opt{kgo.SeedBrokers(b.kafka)}, map[string][]int32{topic: nil}, func(rec *kgo.Record) error {
		i, err := strconv.Atoi(string(rec.Value))
		seen[i] = append(seen[i], rec.Partition)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// logAround logs, for each of transactions, the batches of every
// partition near it as the broker holds them (read uncommitted, markers
// included): what a failure needs to be explained.
func (b *brokerProc) logAround(ctx context.Context, t *testing.T, topic string, transactions []int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.kafka), kgo.ConsumeTopics(topic), kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	logs := make(map[int32][]*kgo.Record)
	for left := len(ends[topic]); left > 0; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			logs[r.Partition] = append(logs[r.Partition], r)
			if e, _ := ends.Lookup(topic, r.Partition); r.Offset == e.Offset-1 {
				left--
			}
		})
	}
	show := func(r *kgo.Record) string {
		what := string(r.Value)
		if r.Attrs.IsControl() {
			what = "commit"
			if len(r.Key) >= 4 && r.Key[3] == 0 {
				what = "abort"
			}
		}
		return fmt.Sprintf("%d:%s(pid %d epoch %d)", r.Offset, what, r.ProducerID, r.ProducerEpoch)
	}
	for _, n := range transactions {
		for p, recs := range logs {
			var near []string // from transaction n-2 to n+2, with the markers between
			for _, r := range recs {
				v, err := strconv.Atoi(string(r.Value)) // a marker's value is not a number
				if err == nil && v > n+2 {
					break
				}
				if err == nil && v >= n-2 || r.Attrs.IsControl() && len(near) > 0 {
					near = append(near, show(r))
				}
			}
			t.Logf("transaction %d, partition %d: %s", n, p, strings.Join(near, " "))
		}
	}
}

// killDuring kills the broker kills times at random moments of a stream
// of commits and starts it again each time; before each kill, and after
// the last start, progress (commits so far) must have moved on.
func (b *brokerProc) killDuring(ctx context.Context, t *testing.T, kills int, progress func() int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	moved := func(what string) {
		for at := progress() + 5; progress() < at; {
			if ctx.Err() != nil {
				t.Fatalf("%s: no progress (%d commits)", what, progress())
			}
			time.Sleep(10 * time.Millisecond) // polling the commits' count; the schedule is the fault
		}
	}
	for k := range kills {
		moved(fmt.Sprintf("before kill %d", k+1))
		time.Sleep(time.Duration(r.IntN(40)) * time.Millisecond)
		b.kill9(t)
		b.start(t)
	}
	moved("after the last restart")
}

// TestBrokerKillKeepsTransactionsAtomic: a transactional producer writes
// transaction i as one record in each of four partitions, one after
// another, while the broker (--sync-writes) is killed with SIGKILL at
// random moments and restarted on its data dir. Killed in the middle of
// writing a commit's markers, the broker must finish the commit on
// restart, not abort the partitions it had not reached; a commit the
// client was told succeeded must be in the log, and one it was refused
// (a definite error, not a timeout) must not. So afterwards every
// transaction is in all four partitions or in none, as the client was
// told (Kafka's own transactions_test, with broker kills). A client told
// a commit failed that did not is how a stage's state store came to
// differ from its changelog (the forked points ledger).
func TestBrokerKillKeepsTransactionsAtomic(t *testing.T) {
	const (
		topic = "atomic"
		parts = 4
		kills = 8
	)
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b.client(ctx, t, parts, []string{topic})
	opts := b.clientOpts()

	var (
		mu     sync.Mutex
		acked  []int             // transactions whose commit the broker acknowledged
		failed = map[int]error{} // transactions the broker refused
		done   = make(chan struct{})
		stop   = make(chan struct{})
	)
	progress := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	go func() {
		defer close(done)
		produce(ctx, t, opts, topic, parts, stop, func(i int, err error) {
			mu.Lock()
			defer mu.Unlock()
			var ke *kerr.Error
			switch {
			case err == nil:
				acked = append(acked, i)
			case errors.As(err, &ke) && !ke.Retriable:
				failed[i] = err // not a timeout: the outcome is known
			}
		})
	}()

	b.killDuring(ctx, t, kills, progress)
	close(stop)
	<-done

	seen := b.committed(ctx, t, topic) // transaction -> partitions holding it
	var (
		torn    []string
		suspect []int // the transactions of torn and refused, for logAround
	)
	for i, ps := range seen {
		if len(ps) != parts {
			torn = append(torn, fmt.Sprintf("%d in %v", i, ps))
			suspect = append(suspect, i)
		}
	}
	var lost []int
	for _, i := range acked {
		if len(seen[i]) == 0 {
			lost = append(lost, i)
		}
	}
	var refused []string
	for i, err := range failed {
		if len(seen[i]) > 0 {
			refused = append(refused, fmt.Sprintf("%d (%v)", i, err))
			suspect = append(suspect, i)
		}
	}
	t.Logf("%d kills; %d commits acknowledged, %d refused, %d transactions committed; transactions the broker ended on restart: %s; segment indexes repaired: %d",
		kills, len(acked), len(failed), len(seen), strings.Join(b.ended(), "; "), strings.Count(b.log.String(), "repaired index"))
	if len(torn) > 0 || len(lost) > 0 || len(refused) > 0 {
		b.logAround(ctx, t, topic, suspect)
		t.Fatalf("torn transactions (not in all %d partitions): %v; acknowledged commits missing: %v; failed transactions committed: %v",
			parts, torn, lost, refused)
	}
}

// produce writes transaction i = 0, 1, ... as one record per partition
// until stop is closed, and calls ended(i, err) for each transaction, err
// nil when the broker acknowledged its commit. A transaction that fails is
// left to the next client: its InitProducerID aborts it.
func produce(ctx context.Context, t *testing.T, opts []kgo.Opt, topic string, parts int32, stop <-chan struct{}, ended func(int, error)) {
	newClient := func() *kgo.Client {
		cl, err := kgo.NewClient(append(opts, kgo.TransactionalID("atomic"), kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
		if err != nil {
			t.Error(err)
		}
		return cl
	}
	cl := newClient()
	defer func() { cl.Close() }()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		err := cl.BeginTransaction()
		for p := int32(0); p < parts && err == nil; p++ {
			err = cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte(strconv.Itoa(i))}).FirstErr()
		}
		if err == nil {
			err = cl.EndTransaction(ctx, kgo.TryCommit)
			if err == nil {
				ended(i, nil)
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		ended(i, err)
		t.Logf("transaction %d: %v", i, err)
		// A new client's InitProducerID aborts whatever is left open.
		cl.Close()
		cl = newClient()
	}
}

// TestBrokerKillKeepsCopyExactlyOnce: a consume-transform-produce copier
// (franz-go's GroupTransactSession, the way every ration stage commits)
// copies 20 000 records while the broker is killed with SIGKILL 8 times.
// The output, read committed, is the input exactly once: a commit the
// broker died in commits its offsets with its records or neither (Kafka's
// transactions_test, with broker kills).
func TestBrokerKillKeepsCopyExactlyOnce(t *testing.T) {
	const (
		in, out = "copy-in", "copy-out"
		parts   = 4
		records = 20_000
		kills   = 8
	)
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := b.clientOpts()
	cl := b.client(ctx, t, parts, []string{in, out}, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	recs := make([]*kgo.Record, records)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: in, Partition: int32(i % parts), Value: []byte(strconv.Itoa(i))}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	var (
		mu      sync.Mutex
		commits int
		done    = make(chan struct{})
		stop    = make(chan struct{})
	)
	progress := func() int { mu.Lock(); defer mu.Unlock(); return commits }
	go func() {
		defer close(done)
		copyRecords(ctx, t, opts, in, out, stop, func() { mu.Lock(); commits++; mu.Unlock() })
	}()
	b.killDuring(ctx, t, kills, progress)

	// Done once the group's committed offsets reach the input's ends.
	adm := kadm.NewClient(cl)
	for {
		offs, err := adm.FetchOffsets(ctx, "copier")
		var copied int64
		if err == nil {
			offs.Each(func(o kadm.OffsetResponse) { copied += o.At })
		}
		if copied == records {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the copier committed offsets of %d records of %d", copied, records)
		}
		time.Sleep(50 * time.Millisecond) // polling the group's offsets; there is no event to await
	}
	close(stop)
	<-done

	seen := b.committed(ctx, t, out)
	var missing, twice []int
	for i := range records {
		switch n := len(seen[i]); {
		case n == 0:
			missing = append(missing, i)
		case n > 1:
			twice = append(twice, i)
		}
	}
	t.Logf("%d kills, %d transactions committed; transactions the broker ended on restart: %s",
		kills, progress(), strings.Join(b.ended(), "; "))
	if len(missing) > 0 || len(twice) > 0 || len(seen) != records {
		t.Fatalf("output of %d records: %d missing (first %v), %d copied more than once (first %v), %d distinct",
			records, len(missing), missing[:min(len(missing), 10)], len(twice), twice[:min(len(twice), 10)], len(seen))
	}
}

// copyRecords copies from in to the same partition of out, at most 100
// records a transaction, until stop is closed, and calls ok for each
// transaction that committed. A session that fails is closed and a new
// one, whose InitProducerID aborts what was left open, takes over.
func copyRecords(ctx context.Context, t *testing.T, opts []kgo.Opt, in, out string, stop <-chan struct{}, ok func()) {
	for {
		sess, err := kgo.NewGroupTransactSession(append(opts,
			kgo.TransactionalID("copier"), kgo.ConsumerGroup("copier"), kgo.ConsumeTopics(in),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.SessionTimeout(6*time.Second))...)
		if err != nil {
			t.Error(err)
			return
		}
		for err == nil {
			select {
			case <-stop:
				sess.Close()
				return
			default:
			}
			poll, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			fs := sess.PollRecords(poll, 100)
			cancel()
			if ctx.Err() != nil {
				sess.Close()
				return
			}
			recs := fs.Records()
			if len(recs) == 0 {
				continue
			}
			if err = sess.Begin(); err != nil {
				break
			}
			for _, r := range recs {
				sess.Produce(ctx, &kgo.Record{Topic: out, Partition: r.Partition, Value: r.Value}, nil)
			}
			var committed bool
			committed, err = sess.End(ctx, kgo.TryCommit)
			if committed {
				ok()
			}
		}
		t.Logf("copier: %v; a new session takes over", err)
		sess.Close()
	}
}

// TestBrokerKillKeepsIdempotentProduceOnce: an idempotent producer (no
// transactions; kgo's default, and how ration's API writes what it
// accepts) sends a stream of records while the broker is killed with
// SIGKILL 8 times. A batch the broker wrote but died before acknowledging
// is sent again after the restart, and the broker must know it by its
// sequence numbers, as Kafka rebuilds producer state from its log: every
// record is in the log once, and every acknowledged one is there.
func TestBrokerKillKeepsIdempotentProduceOnce(t *testing.T) {
	const (
		topic = "idempotent"
		parts = 4
		kills = 8
	)
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := b.client(ctx, t, parts, []string{topic}, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))

	var (
		mu     sync.Mutex
		acked  []int
		failed int
		sent   sync.WaitGroup
		done   = make(chan struct{})
		stop   = make(chan struct{})
	)
	progress := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) / 50 }
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			sent.Add(1)
			cl.Produce(ctx, &kgo.Record{Topic: topic, Value: []byte(strconv.Itoa(i))}, func(_ *kgo.Record, err error) {
				defer sent.Done()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
					return
				}
				acked = append(acked, i)
			})
		}
	}()
	b.killDuring(ctx, t, kills, progress)
	close(stop)
	<-done
	sent.Wait()

	seen := b.committed(ctx, t, topic)
	var twice, lost []int
	for i, ps := range seen {
		if len(ps) > 1 {
			twice = append(twice, i)
		}
	}
	for _, i := range acked {
		if len(seen[i]) == 0 {
			lost = append(lost, i)
		}
	}
	slices.Sort(twice)
	t.Logf("%d kills; %d records acknowledged, %d failed, %d in the log", kills, len(acked), failed, len(seen))
	if len(twice) > 0 || len(lost) > 0 {
		t.Fatalf("records written twice: %d (first %v); acknowledged records missing: %d (first %v)",
			len(twice), twice[:min(len(twice), 10)], len(lost), lost[:min(len(lost), 10)])
	}
}
