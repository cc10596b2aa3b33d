package reprocess

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/internal/syncbuf"
	"github.com/rationhq/ration/notify"
	"github.com/rationhq/ration/notify/notifytest"
	"github.com/rationhq/ration/schemas"
)

// fakeItems is ClickHouse as far as the reprocessor asks: candidates are
// selected once, and LastChanged answers what changed says.
type fakeItems struct {
	mu         sync.Mutex
	candidates []ration.ItemStatus
	changed    map[ration.ItemKey]time.Time
}

func (f *fakeItems) ReprocessCandidates(_ context.Context, _ ration.ReprocessSelection, afterPipeline, afterItem string, _ int) ([]ration.ItemStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if afterPipeline != "" || afterItem != "" {
		return nil, nil
	}
	c := f.candidates
	f.candidates = nil
	return c, nil
}

func (f *fakeItems) LastChanged(_ context.Context, keys []ration.ItemKey) (map[ration.ItemKey]time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[ration.ItemKey]time.Time{}
	for _, k := range keys {
		if at, ok := f.changed[k]; ok {
			out[k] = at
		}
	}
	return out, nil
}

// caughtUp makes ClickHouse show an event of every item newer than now.
func (f *fakeItems) caughtUp(keys ...ration.ItemKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		f.changed[k] = time.Now().Add(time.Millisecond)
	}
}

// testPipelines is the dm pipeline as the reprocessor knows it.
var testPipelines = map[string]Pipeline{"dm": {EventsTopic: "ration.dm.events"}}

// newKafka starts a Kafka with the dm pipeline's events topic and input.
func newKafka(t *testing.T) *kafkatest.Kafka {
	t.Helper()
	return kafkatest.New(t, 1, kafkatest.Setup{
		Topics:  []kafkaconn.TopicSpec{{Name: "ration.dm.events"}, {Name: "ration.dm.checks"}},
		Schemas: []schemas.TopicSchema{{Topic: "ration.dm.events", Value: new(schemas.Event)}},
	})
}

// reprocessorWith returns a reprocessor on k and items that notifies
// through cfg and logs to log.
func reprocessorWith(t *testing.T, k *kafkatest.Kafka, items ration.ItemStatusReader, cfg notify.Config, log *syncbuf.Buffer) *Reprocessor {
	t.Helper()
	n, err := notify.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rcfg := DefaultConfig()
	rcfg.AttemptCount = 1
	r, err := New(rcfg, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(k.Addrs()...)}, Codec: k.Codec, Items: items, Notifier: n,
		Log: slog.New(slog.NewTextHandler(log, nil)), Pipelines: testPipelines})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run runs r once and fails t on an error.
func run(t *testing.T, r *Reprocessor) Report {
	t.Helper()
	rep, err := r.Run(context.Background(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// stateOf returns what ration.reprocess.state holds for key, or nil.
func stateOf(t *testing.T, k *kafkatest.Kafka, key ration.ItemKey) *schemas.ReprocessState {
	t.Helper()
	states, err := loadState(context.Background(), []kgo.Opt{kgo.SeedBrokers(k.Addrs()...)}, k.Codec)
	if err != nil {
		t.Fatal(err)
	}
	return states[stateKey(key.Pipeline, key.ItemID)]
}

// TestGiveUpWithoutChannelWaitsForOne: with no notification channel a
// given-up item is logged at ERROR, once a run, and stays unreported: not
// recorded as notified, and not forgotten once ClickHouse has caught up.
// The first run with a channel reports it, once, with the stage it was
// given up at and its last error.
func TestGiveUpWithoutChannelWaitsForOne(t *testing.T) {
	k := newKafka(t)
	key := ration.ItemKey{Pipeline: "dm", ItemID: "u-lost"}
	items := &fakeItems{changed: map[ration.ItemKey]time.Time{}, candidates: []ration.ItemStatus{{
		Pipeline: key.Pipeline, ItemID: key.ItemID, Stage: "check", Status: "REPROCESS", Attempt: 4, RetryCount: 1,
		Error: "checker: connection refused", SourceTopic: "ration.dm.checks", Changed: time.Now().Add(-time.Minute),
	}}}

	var log syncbuf.Buffer
	silent := reprocessorWith(t, k, items, notify.Config{}, &log)
	if rep := run(t, silent); rep.Failed != 1 || rep.Notified != 0 {
		t.Fatalf("first run: %+v, want one give-up and nothing notified", rep)
	}
	st := stateOf(t, k, key)
	if st == nil || st.FailedAt.IsZero() || !st.NotifiedAt.IsZero() {
		t.Fatalf("state after a give-up nobody heard of: %+v, want failed and not notified", st)
	}
	if got := strings.Count(log.String(), "level=ERROR msg=\"given-up items reported to nobody"); got != 1 {
		t.Fatalf("%d ERROR lines about the unreported item, want 1:\n%s", got, log.String())
	}
	if line := lineWith(log.String(), "reported to nobody"); !strings.Contains(line, "items=1") || !strings.Contains(line, "dm/u-lost") {
		t.Fatalf("the ERROR line lacks the count or the id: %s", line)
	}

	// ClickHouse has caught up with the give-up; still nobody to tell.
	items.caughtUp(key)
	if rep := run(t, silent); rep.Notified != 0 {
		t.Fatalf("second run: %+v", rep)
	}
	if st := stateOf(t, k, key); st == nil || !st.NotifiedAt.IsZero() {
		t.Fatalf("state after a second run without a channel: %+v, want it kept and not notified", st)
	}
	if got := strings.Count(log.String(), "reported to nobody"); got != 2 {
		t.Fatalf("%d ERROR lines after two runs, want one per run", got)
	}

	// Channels are configured: the next run tells them, with the stage
	// and last error of the give-up, which only the state still knows.
	hook := notifytest.NewWebhook(t)
	mail := notifytest.NewSMTPServer(t)
	told := reprocessorWith(t, k, items, notify.Config{WebhookURL: hook.URL(),
		SMTPAddr: mail.Addr(), SMTPFrom: "ration@example.com", SMTPTo: []string{"ops@example.com"}}, &log)
	if rep := run(t, told); rep.Notified != 1 {
		t.Fatalf("run with a webhook: %+v, want one item notified", rep)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reqs, err := hook.WaitRequests(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := reqs[0].Batch.Items; len(got) != 1 || got[0].ItemID != key.ItemID || got[0].RetryCount != 1 ||
		got[0].Stage != "check" || got[0].Error != "checker: connection refused" {
		t.Fatalf("webhook got %+v, want the given-up item with its stage and last error", got)
	}
	msgs, err := mail.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if line := lineWith(msgs[0].Body, "item=u-lost"); !strings.Contains(line, "stage=check") || !strings.Contains(line, "error=checker: connection refused") {
		t.Fatalf("mail line %q lacks the stage or the last error:\n%s", line, msgs[0].Body)
	}
	// Notified, and ClickHouse has caught up: the same run forgets it, and
	// the next one tells nobody again.
	if st := stateOf(t, k, key); st != nil {
		t.Fatalf("state after the notification: %+v, want it forgotten", st)
	}
	if rep := run(t, told); rep.Notified != 0 {
		t.Fatalf("run after the notification: %+v", rep)
	}
	if n := len(hook.Requests()); n != 1 {
		t.Fatalf("%d webhook calls, want 1", n)
	}
}

// lineWith returns the first line of s that contains sub.
func lineWith(s, sub string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
