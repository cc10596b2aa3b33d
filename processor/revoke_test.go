package processor

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/await"
)

// boardLog is a slog handler that only wakes the board's waiters: a
// stage's buckets change only with a log line.
type boardLog struct{ board *await.Board }

func (boardLog) Enabled(context.Context, slog.Level) bool { return true }
func (h boardLog) Handle(context.Context, slog.Record) error {
	h.board.Update(func() {})
	return nil
}
func (h boardLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h boardLog) WithGroup(string) slog.Handler      { return h }

// TestRevocationsWhileABatchIsOpenAreAllReleased: worker a holds its first
// batch open while b joins and then c, so the group takes buckets from a
// twice within one transaction. franz-go tells the stage only of the
// first; the stage learns of the second when a rejoins, and in the end
// the three own the six buckets two each, as their gauges say (a kept
// four, by its gauge, when only the first was released).
func TestRevocationsWhileABatchIsOpenAreAllReleased(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	produceN(t, addrs, "in", 30, 1) // work in every bucket
	board := await.NewBoard()
	hold, held := make(chan struct{}), make(chan struct{})
	var first sync.Once
	slowFirst := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		first.Do(func() {
			close(held)
			<-hold
		})
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	})
	start := func(instance string, h Handler) *Metrics {
		cfg := testConfig(instance, "in")
		cfg.SessionTimeout = 10 * time.Second // the held batch stays inside its transaction timeout
		m := NewMetrics(prometheus.NewRegistry())
		startStageWith(t, cfg, h, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Metrics: m, Log: slog.New(boardLog{board})})
		return m
	}
	owned := func(m *Metrics) int { return int(testutil.ToFloat64(m.assigned.WithLabelValues("t", "copy", "in"))) }
	mustAwait := func(what string, cond func() bool) {
		t.Helper()
		if !board.Await(30*time.Second, cond) {
			t.Fatalf("%s: not within 30s", what)
		}
	}

	a := start("a", slowFirst)
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("a's first batch never began")
	}
	b := start("b", copyHandler("out"))
	mustAwait("b owning buckets", func() bool { return owned(b) > 0 })
	c := start("c", copyHandler("out"))
	mustAwait("c owning buckets", func() bool { return owned(c) > 0 })
	close(hold)

	if !board.Await(30*time.Second, func() bool { return owned(a) == 2 && owned(b) == 2 && owned(c) == 2 }) {
		t.Fatalf("by their gauges a owns %d buckets, b %d, c %d; want 2 each", owned(a), owned(b), owned(c))
	}
}
