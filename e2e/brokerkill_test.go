package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
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
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = b.cmd.Wait()
}

// TestBrokerKillKeepsTransactionsAtomic: a transactional producer writes
// transaction i as one record in each of four partitions, one after
// another, while the broker (--sync-writes) is killed with SIGKILL at
// random moments and restarted on its data dir. Killed in the middle of
// writing a commit's markers, the broker must finish the commit on
// restart, not abort the partitions it had not reached; and a commit the
// client was told succeeded must be in the log. So afterwards every
// transaction is in all four partitions or in none, and every
// acknowledged one is there (Kafka's own transactions_test, with broker
// kills).
func TestBrokerKillKeepsTransactionsAtomic(t *testing.T) {
	const (
		topic = "atomic"
		parts = 4
		kills = 8
	)
	b := &brokerProc{dir: filepath.Join(t.TempDir(), "broker")}
	b.start(t)
	t.Cleanup(func() { b.kill9(t) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := []kgo.Opt{kgo.SeedBrokers(b.kafka), kgo.RetryTimeout(30 * time.Second)}
	adm, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, parts, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	adm.Close()

	var (
		mu    sync.Mutex
		acked []int // transactions whose commit the broker acknowledged
		done  = make(chan struct{})
		stop  = make(chan struct{})
	)
	progress := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	go func() {
		defer close(done)
		produce(ctx, t, opts, topic, parts, stop, func(i int) { mu.Lock(); acked = append(acked, i); mu.Unlock() })
	}()

	r := rand.New(rand.NewPCG(1, 2))
	for k := range kills {
		// The kill lands at a random moment of a stream of commits.
		for at := progress() + 5; progress() < at; {
			if ctx.Err() != nil {
				t.Fatalf("kill %d: the producer made no progress: %d commits", k, progress())
			}
			time.Sleep(10 * time.Millisecond) // polling the producer's count; the schedule is the fault
		}
		time.Sleep(time.Duration(r.IntN(40)) * time.Millisecond)
		b.kill9(t)
		b.start(t)
	}
	for at := progress() + 5; progress() < at && ctx.Err() == nil; {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	<-done

	seen := make(map[int][]int32) // transaction -> partitions holding it
	err = kafkaread.ToEnd(ctx, []kgo.Opt{kgo.SeedBrokers(b.kafka)}, map[string][]int32{topic: nil}, func(rec *kgo.Record) error {
		i, err := strconv.Atoi(string(rec.Value))
		if err != nil {
			return err
		}
		seen[i] = append(seen[i], rec.Partition)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var torn []string
	for i, ps := range seen {
		if len(ps) != parts {
			torn = append(torn, fmt.Sprintf("%d in %v", i, ps))
		}
	}
	var lost []int
	for _, i := range acked {
		if len(seen[i]) == 0 {
			lost = append(lost, i)
		}
	}
	t.Logf("%d kills; %d commits acknowledged, %d transactions committed; transactions the broker ended on restart: %s",
		kills, len(acked), len(seen), strings.Join(b.ended(), "; "))
	if len(torn) > 0 || len(lost) > 0 {
		t.Fatalf("torn transactions (not in all %d partitions): %v; acknowledged commits missing: %v", parts, torn, lost)
	}
}

// produce writes transaction i = 0, 1, ... as one record per partition
// until stop is closed, and calls ok(i) for each commit the broker
// acknowledged. A transaction that fails is left to the next client: its
// InitProducerID aborts it.
func produce(ctx context.Context, t *testing.T, opts []kgo.Opt, topic string, parts int32, stop <-chan struct{}, ok func(int)) {
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
				ok(i)
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		t.Logf("transaction %d: %v", i, err)
		// A new client's InitProducerID aborts whatever is left open.
		cl.Close()
		cl = newClient()
	}
}
