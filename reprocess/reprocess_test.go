package reprocess

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/notify"
)

// noItems is an item reader with nothing to reprocess.
type noItems struct{}

func (noItems) ReprocessCandidates(context.Context, ration.ReprocessSelection, string, string, int) ([]ration.ItemStatus, error) {
	return nil, nil
}

func (noItems) LastChanged(context.Context, []ration.ItemKey) (map[ration.ItemKey]time.Time, error) {
	return nil, nil
}

// TestScheduledRunStopsWhenTheWindowEnds: a scheduled run cut short by the
// end of its off-peak window is a stop, not a failure.
func TestScheduledRunStopsWhenTheWindowEnds(t *testing.T) {
	k := kafkatest.New(t, 1, kafkatest.Setup{})
	// The clock says it is an hour ago, inside a window that ended (in
	// real time) long before the run starts.
	then := time.Now().UTC().Add(-time.Hour)
	cfg := DefaultConfig()
	cfg.Window = fmt.Sprintf("%s-%s", then.Add(-time.Minute).Format("15:04"), then.Add(2*time.Minute).Format("15:04"))
	n, err := notify.New(notify.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	r, err := New(cfg, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(k.Addrs()...)}, Codec: k.Codec, Items: noItems{}, Notifier: n,
		Now: func() time.Time { return then }, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(context.Background(), Request{Scheduled: true})
	if err != nil || rep.Skipped != "" {
		t.Fatalf("run: %+v, %v; want a run stopped without error", rep, err)
	}
	if got := testutil.ToFloat64(metrics.runs.WithLabelValues("window_ended")); got != 1 {
		t.Fatalf("window_ended runs = %v, want 1", got)
	}
	if got := testutil.ToFloat64(metrics.runs.WithLabelValues("failed")); got != 0 {
		t.Fatalf("failed runs = %v, want 0", got)
	}
}
