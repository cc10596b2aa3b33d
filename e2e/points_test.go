package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/points"
	"github.com/rationhq/ration/schemas"
)

// ledgerModel is what the ledger must decide, worked out here from the
// commands in the order each group was sent them: a group's commands
// share a key, so the ledger sees them in that order too.
type ledgerModel struct {
	balance map[string]int64
	seq     map[string]int64
	members map[string]int
	want    map[string]points.Outcome // by command id
}

func (m *ledgerModel) decide(c *points.Command) {
	o := points.Outcome{ID: c.ID, GroupID: c.GroupID, Outcome: points.Applied}
	switch c.Kind {
	case points.KindCreate, points.KindJoin:
		m.members[c.GroupID]++
	case points.KindBill:
		for _, ln := range c.Lines {
			o.Points += ln.Points * ln.Quantity
			if d := ln.Discount; d.Percent > 0 && m.members[c.GroupID] >= int(d.MinMembers) && m.balance[c.GroupID] >= d.MinBalance {
				o.Discount += ln.Price * ln.Quantity * int64(d.Percent) / 100
			}
		}
	case points.KindRedeem:
		if c.Points > m.balance[c.GroupID] {
			o.Outcome, o.Reason = points.Rejected, points.ReasonInsufficient
		} else {
			o.Points = -c.Points
		}
	}
	if o.Outcome == points.Applied {
		m.balance[c.GroupID] += o.Points
		m.seq[c.GroupID]++
		o.Seq = m.seq[c.GroupID]
	}
	o.Balance = m.balance[c.GroupID]
	m.want[c.ID] = o
}

// TestLedgerWorkersKilledAndStalledDecideEachCommandOnce (PT-4, PT-9,
// PT-10): two ledger worker processes decide 8 groups' commands (bills,
// some with a discount the groups are entitled to, and redemptions that
// the balance often cannot cover), each command sent twice as a client
// retrying would. A quarter of the way in one worker is killed with
// SIGKILL and started again; half way the other is stopped with SIGSTOP
// past its session timeout, its buckets taken over, and resumed (a
// zombie). Every command has exactly one decision, the one the rules give
// in the order it was sent (so none applied twice, none lost, no balance
// negative, every entitled discount granted), its repeat answers the
// same, and each group's record in Kafka holds the balance its ledger sums
// to.
func TestLedgerWorkersKilledAndStalledDecideEachCommandOnce(t *testing.T) {
	const (
		groups         = 8
		perGroup       = 400
		sessionTimeout = 3 * time.Second
	)
	c := newCluster(t)
	rcl, err := sr.NewClient(sr.URLs(c.registry))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := points.New()
	topics, records := pipeline.Schemas([]pipeline.Descriptor{d})
	codec, err := schemas.Register(ctx, rcl, topics, records...)
	if err != nil {
		t.Fatal(err)
	}
	start := func(id string) *worker {
		return c.startProcess(t, id, "worker", "points", "--kafka", c.addr, "--registry", c.registry, "--instance-id", id,
			"--session-timeout", sessionTimeout.String(), "--metrics=", "--log-format", "json", "--log-level", "info")
	}
	w1, w2 := start("l1"), start("l2")
	for _, w := range []*worker{w1, w2} {
		w.await(t, 30*time.Second, 0, "its first buckets", msg(msgAssigned))
	}

	// The commands, as the API hands them to Kafka, each group's in order.
	rng := rand.New(rand.NewPCG(7, 9))
	tv := points.Line{ItemID: "tv", Name: "tv", Quantity: 1, Price: 50_000, Points: 40,
		Discount: points.Discount{Percent: 10, MinMembers: 4, MinBalance: 100}}
	model := &ledgerModel{balance: map[string]int64{}, seq: map[string]int64{}, members: map[string]int{}, want: map[string]points.Outcome{}}
	var cmds []*points.Command
	for g := range groups {
		group := fmt.Sprintf("g-%d", g)
		add := func(kind, user string, lines []points.Line, pts int64) {
			id := fmt.Sprintf("%s-%d", group, len(cmds))
			cmds = append(cmds, &points.Command{ID: points.CommandKey(user, id), CommandID: id, Issuer: user, Kind: kind,
				GroupID: group, UserID: user, Name: group, Location: "here", Lines: lines, Points: pts, Digest: id,
				SentAt: time.Now()})
		}
		for u := range 4 {
			kind := points.KindJoin
			if u == 0 {
				kind = points.KindCreate
			}
			add(kind, fmt.Sprintf("001-u%d%d", g, u), nil, 0)
		}
		for range perGroup - 4 {
			user := fmt.Sprintf("001-u%d%d", g, rng.IntN(4))
			switch rng.IntN(3) {
			case 0:
				add(points.KindBill, user, []points.Line{tv}, 0)
			default:
				add(points.KindRedeem, user, nil, int64(10+rng.IntN(40)))
			}
		}
	}
	// Interleave the groups, keeping each group's order.
	order := make([]*points.Command, 0, len(cmds))
	for i := range perGroup {
		for g := range groups {
			order = append(order, cmds[g*perGroup+i])
		}
	}
	for _, cmd := range order {
		model.decide(cmd)
	}

	// Outcomes as the ledger commits them.
	outcomes := c.client(t, kgo.ConsumeTopics(points.TopicOutcomes), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	first := map[string]points.Outcome{}
	decisions := map[string]int{} // outcomes that are not repeats, by command
	var repeats []points.Outcome
	readUntil := func(want int, within time.Duration) {
		t.Helper()
		rctx, rcancel := context.WithTimeout(ctx, within)
		defer rcancel()
		for len(first) < want {
			fs := outcomes.PollFetches(rctx)
			if rctx.Err() != nil {
				t.Fatalf("%d of %d commands decided after %v", len(first), want, within)
			}
			fs.EachRecord(func(r *kgo.Record) {
				var o points.Outcome
				if err := codec.Decode(r.Value, &o); err != nil {
					t.Fatal(err)
				}
				if o.Repeat {
					repeats = append(repeats, o)
					return
				}
				decisions[o.ID]++
				if _, ok := first[o.ID]; !ok {
					first[o.ID] = o
				}
			})
		}
	}

	// Send every command twice, paced so that the faults land mid-run.
	sent := make(chan error, 1)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		const chunk = 20
		for i := 0; i < len(order); i += chunk {
			var recs []*kgo.Record
			for _, cmd := range order[i:min(i+chunk, len(order))] {
				v, err := codec.Encode(cmd)
				if err != nil {
					sent <- err
					return
				}
				for range 2 {
					recs = append(recs, &kgo.Record{Topic: points.TopicCommands, Key: []byte(cmd.GroupID), Value: v})
				}
			}
			if err := c.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				sent <- err
				return
			}
			<-tick.C
		}
		sent <- nil
	}()

	readUntil(len(order)/4, time.Minute)
	w2.kill(t)
	t.Logf("killed l2 with %d of %d commands decided", len(first), len(order))
	w2 = start("l2")
	readUntil(len(order)/2, time.Minute)
	w1.stop(t)
	t.Logf("stopped l1 with %d of %d commands decided", len(first), len(order))
	c.board.MustAwait(t, 4*sessionTimeout, "l2 owning every bucket", func() bool {
		return len(w2.owned(-1)) == int(c.partitions)
	})
	w1.signal(t, syscall.SIGCONT) // a zombie, to be fenced
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	readUntil(len(order), time.Minute)

	for id, want := range model.want {
		got := first[id]
		if decisions[id] != 1 {
			t.Errorf("%s decided %d times", id, decisions[id])
		}
		if got.Outcome != want.Outcome || got.Reason != want.Reason || got.Points != want.Points || got.Balance != want.Balance ||
			got.Seq != want.Seq || got.Discount != want.Discount {
			t.Errorf("%s: %s %q points %d balance %d seq %d discount %d; want %s %q points %d balance %d seq %d discount %d",
				id, got.Outcome, got.Reason, got.Points, got.Balance, got.Seq, got.Discount,
				want.Outcome, want.Reason, want.Points, want.Balance, want.Seq, want.Discount)
		}
	}
	for _, r := range repeats {
		if f := first[r.ID]; r.Outcome != f.Outcome || r.Balance != f.Balance || r.Seq != f.Seq {
			t.Errorf("a repeat of %s answered %s balance %d seq %d, its decision %s balance %d seq %d",
				r.ID, r.Outcome, r.Balance, r.Seq, f.Outcome, f.Balance, f.Seq)
		}
	}

	// The groups as Kafka has them: each balance is its ledger's sum.
	groupsTopic := c.client(t, kgo.ConsumeTopics(points.TopicGroups), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	latest := map[string]points.Group{}
	caughtUp := func() bool {
		for g, seq := range model.seq {
			if latest[g].Seq != seq {
				return false
			}
		}
		return true
	}
	gctx, gcancel := context.WithTimeout(ctx, 30*time.Second)
	defer gcancel()
	for !caughtUp() {
		fs := groupsTopic.PollFetches(gctx)
		if gctx.Err() != nil {
			t.Fatalf("groups in Kafka %+v, want the last of each (seqs %v)", latest, model.seq)
		}
		fs.EachRecord(func(r *kgo.Record) {
			var g points.Group
			if err := codec.Decode(r.Value, &g); err != nil {
				t.Fatal(err)
			}
			if g.Seq > latest[g.GroupID].Seq {
				latest[g.GroupID] = g
			}
		})
	}
	for g, want := range model.balance {
		if latest[g].Balance != want {
			t.Errorf("group %s: balance %d in Kafka, its ledger sums to %d", g, latest[g].Balance, want)
		}
	}
	for _, w := range []*worker{w1, w2} {
		w.terminate(t, 30*time.Second)
	}
}

// TestPointsLoadRunWithChaos (PT-8, PT-9): the consistency load run, short,
// with its chaos — ledger workers killed with SIGKILL, the broker
// restarted, client connections cut — finds no violation, with commands
// sent one at a time and in batches (whose retries send the undecided
// part of a batch again).
func TestPointsLoadRunWithChaos(t *testing.T) {
	for _, tc := range []struct {
		name  string
		batch string
	}{{"one at a time", "1"}, {"in batches of 50", "50"}} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(rationBin, "bench", "points", "--duration", "15s", "--chaos", "--batch", tc.batch, "--data-dir", t.TempDir())
			cmd.Env = childEnv()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			last := lines[len(lines)-1]
			if err != nil || !strings.HasPrefix(last, "violations=0 ") {
				t.Fatalf("bench points --chaos --batch %s: %v\n%s\nstderr:\n%s", tc.batch, err, out, stderr.String())
			}
			for _, want := range []string{"killed and started again", "broker (ration dev) restarted", "client connections cut"} {
				if n := strings.Count(string(out), want); n == 0 || (want == "killed and started again" && n < 3) {
					t.Errorf("%q %d times in the report:\n%s", want, n, out)
				}
			}
			t.Log(last)
		})
	}
}
