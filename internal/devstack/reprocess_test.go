package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/broker"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/kafkaread"
	"github.com/rationhq/ration/notify"
	"github.com/rationhq/ration/notify/notifytest"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/reprocess"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// adminKafka is the dev broker's admin connection, from the data dir.
func adminKafka(t *testing.T, dir string, addrs Addrs) kafkaconn.Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "broker", broker.AdminFileName))
	if err != nil {
		t.Fatal(err)
	}
	var c broker.Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return kafkaconn.Config{Brokers: []string{addrs.Kafka}, Registry: addrs.Registry, Partitions: 12, User: c.User, Password: c.Password}
}

// dmOptions are the options of cfg's DM pipeline.
func dmOptions(cfg *Config) *dm.Options {
	for _, d := range cfg.Pipelines {
		if d.Name == dm.Name {
			return d.Options.(*dm.Options)
		}
	}
	panic("no dm pipeline")
}

// dmPipelines is the DM pipeline as a reprocessor knows it.
var dmPipelines = map[string]reprocess.Pipeline{dm.Name: {EventsTopic: dm.New().EventsTopic()}}

// devCodec is a codec of the dev stack's schemas.
func devCodec(t *testing.T, kafka kafkaconn.Config) *schemas.Codec {
	t.Helper()
	topics, records := pipeline.Schemas(pipelines.All())
	codec, err := kafka.Codec(context.Background(), topics, records...)
	if err != nil {
		t.Fatal(err)
	}
	return codec
}

// openReader opens the shared tables' reader of the dev stack's database.
func openReader(ctx context.Context, addr string) (*sink.Reader, error) {
	return sink.OpenReader(ctx, sink.Target{ClickHouse: addr, Database: "ration"}, pipeline.SinkLayout(pipelines.All()).Migrations...)
}

// downChecker serves the simulator over HTTP, down until up is called.
func downChecker(t *testing.T) (url string, up func()) {
	t.Helper()
	faults := new(dm.Faults)
	if err := faults.Set(0, time.Hour); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(dm.SimHandler(dm.Simulator{Faults: faults}, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv.URL + "/check/{user_id}", func() {
		if err := faults.Set(0, 0); err != nil {
			t.Error(err)
		}
	}
}

// closedWindow is an off-peak window that does not contain now.
func closedWindow() string {
	now := time.Now().UTC()
	return fmt.Sprintf("%s-%s", now.Add(2*time.Hour).Format("15:04"), now.Add(3*time.Hour).Format("15:04"))
}

func awaitStats(t *testing.T, s *stack, what string, cond func(ration.DMStats) bool) ration.DMStats {
	t.Helper()
	var st ration.DMStats
	await(t, 2*time.Minute, what, func() (bool, string) {
		var err error
		if st, err = s.api.Stats(context.Background()); err != nil {
			return false, err.Error()
		}
		return cond(st), fmt.Sprintf("%+v", st)
	})
	return st
}

// TestCheckerDownThenReprocessed: with the checker down for longer than
// every delay tier, marked users park (state parked, status REPROCESS);
// a scheduled run outside the off-peak window does nothing; once the
// checker is back, a run asked for now (the API behind `ration reprocess
// run --now`) brings every one to checked, and each user's history shows
// every step.
func TestCheckerDownThenReprocessed(t *testing.T) {
	checkerURL, up := downChecker(t)
	dir := t.TempDir()
	s := startStackWith(t, dir, func(cfg *Config) {
		dmOptions(cfg).CheckerURL = checkerURL
		cfg.Tuning.RetryDelays = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond}
		cfg.Reprocess.Window = closedWindow()
	})
	ctx := context.Background()
	users := ids("down", 0, 40)
	if _, err := s.api.Mark(ctx, users, "normal"); err != nil {
		t.Fatal(err)
	}
	awaitStats(t, s, "every user parked", func(st ration.DMStats) bool { return st.Parked == 40 })

	// A scheduled run outside the window leaves them parked.
	kafka := adminKafka(t, dir, s.addrs)
	reader, err := openReader(ctx, s.addrs.ClickHouse)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	codec := devCodec(t, kafka)
	cfg := reprocess.DefaultConfig()
	cfg.Window = closedWindow()
	scheduled, err := reprocess.New(cfg, reprocess.Deps{Kafka: kafka.Opts(nil), Codec: codec, Items: reader, Pipelines: dmPipelines, Notifier: mustNotifier(t)})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := scheduled.Run(ctx, reprocess.Request{Scheduled: true})
	if err != nil || rep.Skipped == "" || rep.Selected != 0 {
		t.Fatalf("scheduled run outside the window: %+v, %v", rep, err)
	}

	up()
	// The stats come from the state view, the selection from the events
	// table: the two may reach ClickHouse a flush apart.
	var dry reprocess.Report
	await(t, 30*time.Second, "a dry run selects every parked user", func() (bool, string) {
		var err error
		dry, err = s.api.Reprocess(ctx, apiclient.ReprocessRequest{DryRun: true})
		return err == nil && dry.Selected == 40, fmt.Sprintf("%+v, %v", dry, err)
	})
	if !dry.DryRun || dry.Resent != 40 {
		t.Fatalf("dry run: %+v", dry)
	}
	if st, err := s.api.Stats(ctx); err != nil || st.Parked != 40 {
		t.Fatalf("a dry run changed something: %+v, %v", st, err)
	}
	rep, err = s.api.Reprocess(ctx, apiclient.ReprocessRequest{Pipeline: "dm"})
	if err != nil || rep.Resent != 40 || rep.Failed != 0 {
		t.Fatalf("run now: %+v, %v", rep, err)
	}
	awaitStats(t, s, "every parked user checked", func(st ration.DMStats) bool { return st.Checked == 40 && st.Parked == 0 })

	var steps []string
	await(t, 30*time.Second, "the full history", func() (bool, string) {
		history, err := s.api.History(ctx, users[7], "")
		if err != nil {
			return false, err.Error()
		}
		steps = steps[:0]
		for _, e := range history {
			steps = append(steps, fmt.Sprintf("%s:%s/%d/%d", e.Stage, e.Status, e.Attempt, e.RetryCount))
		}
		return len(steps) == 6, strings.Join(steps, " ")
	})
	want := "check:ERROR/1/0 check:ERROR/2/0 check:ERROR/3/0 check:REPROCESS/4/0 reprocess:SUCCESS/4/1 check:PROCESSED/1/1"
	if got := strings.Join(steps, " "); got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}

	// ClickHouse has caught up with every re-send: the next run forgets
	// them, so the state topic holds nothing but the lease.
	if n := len(liveStates(t, kafka)); n != 40 {
		t.Fatalf("%d items in the reprocess state, want the 40 re-sent", n)
	}
	if rep, err = s.api.Reprocess(ctx, apiclient.ReprocessRequest{}); err != nil || rep.Selected != 0 {
		t.Fatalf("run after all were checked: %+v, %v", rep, err)
	}
	if live := liveStates(t, kafka); len(live) != 0 {
		t.Fatalf("the reprocess state still holds %v", live)
	}
}

// liveStates replays ration.reprocess.state and returns the keys of the
// items it still holds (not the lease).
func liveStates(t *testing.T, kafka kafkaconn.Config) []string {
	t.Helper()
	live := map[string]bool{}
	for _, r := range readToEnd(t, kafka, schemas.TopicReprocessState) {
		live[string(r.Key)] = r.Value != nil && !strings.HasPrefix(string(r.Key), "_lease/")
	}
	var keys []string
	for k, ok := range live {
		if ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// TestTwoReprocessorsResendNothingTwice: two reprocessors run at once over
// the same parked items; every item is re-sent exactly once.
func TestTwoReprocessorsResendNothingTwice(t *testing.T) {
	checkerURL, _ := downChecker(t)
	dir := t.TempDir()
	s := startStackWith(t, dir, func(cfg *Config) {
		dmOptions(cfg).CheckerURL = checkerURL
		cfg.Tuning.RetryDelays = []time.Duration{20 * time.Millisecond}
		cfg.Reprocess.Window = closedWindow()
	})
	ctx := context.Background()
	users := ids("twice", 0, 60)
	if _, err := s.api.Mark(ctx, users, "normal"); err != nil {
		t.Fatal(err)
	}
	awaitStats(t, s, "every user parked", func(st ration.DMStats) bool { return st.Parked == 60 })

	kafka := adminKafka(t, dir, s.addrs)
	codec := devCodec(t, kafka)
	reader, err := openReader(ctx, s.addrs.ClickHouse)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	// The first reprocessor goes slowly, in many transactions; the second
	// starts once the first has committed some of them, and takes over.
	slow := reprocess.DefaultConfig()
	slow.FetchSize, slow.Rate = 10, 50
	resent := make(chan struct{}, 100)
	first, err := reprocess.New(slow, reprocess.Deps{Kafka: kafka.Opts(nil), Codec: codec, Items: reader, Pipelines: dmPipelines,
		Notifier: mustNotifier(t), Worker: "first", Log: slog.New(signalOn("item re-sent", resent))})
	if err != nil {
		t.Fatal(err)
	}
	second, err := reprocess.New(reprocess.DefaultConfig(), reprocess.Deps{Kafka: kafka.Opts(nil), Codec: codec, Items: reader, Pipelines: dmPipelines,
		Notifier: mustNotifier(t), Worker: "second"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	reports := make([]reprocess.Report, 2)
	errs := make([]error, 2)
	wg.Go(func() { reports[0], errs[0] = first.Run(ctx, reprocess.Request{}) })
	for range 25 { // two committed batches and a half
		<-resent
	}
	wg.Go(func() { reports[1], errs[1] = second.Run(ctx, reprocess.Request{}) })
	wg.Wait()
	if errs[0] == nil || errs[1] != nil {
		t.Fatalf("the first run should have been fenced and the second done: %v; %v", errs[0], errs[1])
	}
	t.Logf("re-sent: %d before the take-over, then %d (%d left alone)", reports[0].Resent, reports[1].Resent, reports[1].Waiting)

	// Whatever each run did before it was fenced, every item went back to
	// its input exactly once: count the reprocessor's copies (records
	// carrying retry count 1) on the input topic.
	copies := map[string]int{}
	total := 0
	for _, r := range readToEnd(t, kafka, dm.TopicChecks) {
		// A copy comes back from the delay tiers too (with tier headers);
		// the reprocessor's own copy has none.
		if header(r, processor.HeaderRetryCount) == "1" && header(r, processor.HeaderRetryTier) == "" {
			copies[string(r.Key)]++
			total++
		}
	}
	if len(copies) != 60 || total != 60 {
		t.Fatalf("%d items re-sent with %d copies, want 60 each once (%v)", len(copies), total, copies)
	}
}

func mustNotifier(t *testing.T) notify.Notifier {
	t.Helper()
	n, err := notify.New(notify.DefaultConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// readToEnd reads every committed record of topic up to its current end.
func readToEnd(t *testing.T, kafka kafkaconn.Config, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []*kgo.Record
	if err := kafkaread.ToEnd(ctx, kafka.Opts(nil), map[string][]int32{topic: nil}, func(r *kgo.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// signalOn is a slog handler that sends on ch for every record with msg.
func signalOn(msg string, ch chan<- struct{}) slog.Handler { return signalHandler{msg, ch} }

type signalHandler struct {
	msg string
	ch  chan<- struct{}
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		select {
		case h.ch <- struct{}{}:
		default:
		}
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

// TestThirtyPercentTransientErrors: with 30 % of checks failing
// transiently, every marked user ends checked (through the delay tiers,
// and the reprocessor for any that parked anyway), each mark answered at
// most once, a user's later mark never answered before its earlier one,
// and the retries are on record.
func TestThirtyPercentTransientErrors(t *testing.T) {
	dir := t.TempDir()
	s := startStackWith(t, dir, func(cfg *Config) {
		dmOptions(cfg).SimErrorRate = 0.3
		cfg.Tuning.RetryDelays = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}
		cfg.Reprocess.Window = closedWindow()
	})
	ctx := context.Background()
	reader, err := openReader(ctx, s.addrs.ClickHouse)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	marksStored := func(want uint64) {
		t.Helper()
		await(t, time.Minute, fmt.Sprintf("%d marks stored", want), func() (bool, string) {
			var n uint64
			err := reader.Conn().QueryRow(ctx, "SELECT uniqExact(user_id, marked_at_ms) FROM ration.dm_user_log WHERE kind = 'mark'").Scan(&n)
			if err != nil {
				return false, err.Error()
			}
			return n == want, fmt.Sprint(n)
		})
	}
	users := ids("flaky", 0, 100)
	if _, err := s.api.Mark(ctx, users, "normal"); err != nil {
		t.Fatal(err)
	}
	// The second marks come after the first are stored, so their times
	// differ; and the stats count them only once they are stored too.
	marksStored(100)
	if _, err := s.api.Mark(ctx, users, "normal"); err != nil {
		t.Fatal(err)
	}
	marksStored(200)
	st := awaitStats(t, s, "every user checked or parked", func(st ration.DMStats) bool {
		return st.Pending == 0 && st.Checked+st.Parked == 100
	})
	if st.Parked > 0 { // 0.3^5 per mark: rare, and what the reprocessor is for
		if _, err := s.api.Reprocess(ctx, apiclient.ReprocessRequest{}); err != nil {
			t.Fatal(err)
		}
		awaitStats(t, s, "every user checked", func(st ration.DMStats) bool { return st.Checked == 100 })
	}

	kafka := adminKafka(t, dir, s.addrs)
	codec := devCodec(t, kafka)
	// Each user's marks and results, in partition (commit) order: the
	// second marks were made after the first were stored.
	marked, answered, parked := map[string][]time.Time{}, map[string][]time.Time{}, map[time.Time]bool{}
	for _, r := range readToEnd(t, kafka, dm.TopicChecks) {
		var m dm.Mark
		if err := codec.Decode(r.Value, &m); err != nil {
			t.Fatal(err)
		}
		// Retries come back to this topic too: copies of a mark.
		if !slices.ContainsFunc(marked[m.UserID], m.MarkedAt.Equal) {
			marked[m.UserID] = append(marked[m.UserID], m.MarkedAt)
		}
	}
	for _, r := range readToEnd(t, kafka, dm.TopicResults) {
		var res dm.Result
		if err := codec.Decode(r.Value, &res); err != nil {
			t.Fatal(err)
		}
		if res.Status != dm.ResultChecked {
			t.Fatalf("%s: result %s (%s)", res.UserID, res.Status, res.Error)
		}
		answered[res.UserID] = append(answered[res.UserID], res.MarkedAt)
	}
	for _, r := range readToEnd(t, kafka, dm.New().ParkedTopic(dm.StageCheck)) {
		var m dm.Mark
		if err := codec.Decode(r.Value, &m); err != nil {
			t.Fatal(err)
		}
		parked[m.MarkedAt] = true
	}
	// A mark is answered once, in order. Only a mark that parked and was
	// then superseded by a later mark of its user (the reprocessor sends
	// an item's latest record) may go unanswered; the latest is answered.
	superseded := 0
	for _, u := range users {
		marks, results := marked[u], answered[u]
		if len(marks) != 2 {
			t.Fatalf("%s: marks %v, want two", u, marks)
		}
		switch {
		case len(results) == 2 && results[0].Equal(marks[0]) && results[1].Equal(marks[1]):
		case len(results) == 1 && results[0].Equal(marks[1]) && parked[marks[0]]:
			superseded++
		default:
			t.Fatalf("%s: results for marks %v of marks %v (parked: %v, %v)", u, results, marks, parked[marks[0]], parked[marks[1]])
		}
	}
	var retried uint64
	await(t, 30*time.Second, "retried checks on record", func() (bool, string) {
		err := reader.Conn().QueryRow(ctx, "SELECT countIf(attempt > 1) FROM ration.events WHERE pipeline = 'dm' AND status = 'PROCESSED'").Scan(&retried)
		if err != nil {
			return false, err.Error()
		}
		return retried > 0, fmt.Sprint(retried)
	})
	t.Logf("%d checks succeeded on a retry; %d users parked at the end, %d first marks parked and superseded", retried, st.Parked, superseded)
}

// TestGivenUpUserStartsOver: a give-up ends one round of an item, not the
// item. A user given up on and marked again parks again, is re-sent from
// its new retry count and, given up on again, is notified about again.
func TestGivenUpUserStartsOver(t *testing.T) {
	checkerURL, up := downChecker(t)
	hook := notifytest.NewWebhook(t)
	s := startStackWith(t, t.TempDir(), func(cfg *Config) {
		dmOptions(cfg).CheckerURL = checkerURL
		cfg.Tuning.RetryDelays = []time.Duration{20 * time.Millisecond}
		cfg.Reprocess.Window = closedWindow()
		cfg.Reprocess.AttemptCount = 1
		cfg.Reprocess.Notify.WebhookURL = hook.URL()
	})
	ctx := context.Background()
	const user = "phoenix"
	mark := func() {
		t.Helper()
		if _, err := s.api.Mark(ctx, []string{user}, "normal"); err != nil {
			t.Fatal(err)
		}
	}
	// events waits until ClickHouse holds n events of the user.
	events := func(n int) {
		t.Helper()
		await(t, time.Minute, fmt.Sprintf("%d events", n), func() (bool, string) {
			history, err := s.api.History(ctx, user, "")
			if err != nil {
				return false, err.Error()
			}
			var steps []string
			for _, e := range history {
				steps = append(steps, fmt.Sprintf("%s:%s/%d", e.Stage, e.Status, e.RetryCount))
			}
			return len(history) == n, strings.Join(steps, " ")
		})
	}
	run := func(want string) {
		t.Helper()
		rep, err := s.api.Reprocess(ctx, apiclient.ReprocessRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("resent=%d failed=%d", rep.Resent, rep.Failed); got != want {
			t.Fatalf("run: %s, want %s (%+v)", got, want, rep)
		}
	}
	notified := func(n int) notifytest.Request {
		t.Helper()
		wait, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		reqs, err := hook.WaitRequests(wait, n)
		if err != nil {
			t.Fatalf("waiting for notification %d: %v", n, err)
		}
		return reqs[n-1]
	}

	mark()
	events(2) // check:ERROR/0 check:REPROCESS/0
	run("resent=1 failed=0")
	events(5) // + reprocess:SUCCESS/1 check:ERROR/1 check:REPROCESS/1
	run("resent=0 failed=1")
	first := notified(1)
	if items := first.Batch.Items; len(items) != 1 || items[0].ItemID != user || items[0].Stage != "check" || items[0].Error == "" {
		t.Fatalf("notified %+v, want the user with the stage it was given up at and its last error", items)
	}
	events(6) // + reprocess:FAILED/1

	mark() // a new round
	events(8)
	run("resent=1 failed=0")
	events(11)
	run("resent=0 failed=1")
	second := notified(2)
	if first.Batch.BatchID == second.Batch.BatchID {
		t.Fatalf("both give-ups notified as batch %s: a receiver would drop the second as a repeat", first.Batch.BatchID)
	}

	up()
	mark()
	await(t, time.Minute, "checked", func() (bool, string) {
		u, err := s.api.User(ctx, user)
		if err != nil {
			return false, err.Error()
		}
		return u.State == ration.DMChecked, string(u.State)
	})
}
