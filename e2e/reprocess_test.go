package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/notify/notifytest"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/sink"
)

// TestGivenUpItemsNotifiedOnceAcrossACrash: the checker stays down; marked
// users park, are re-sent once (reprocess.attempt_count 1), park again and
// are given up on. The reprocessor process is killed (SIGKILL) in the
// middle of re-sending and started again. Every user ends up in exactly
// one mail and one webhook call.
func TestGivenUpItemsNotifiedOnceAcrossACrash(t *testing.T) {
	c := newCluster(t)
	ch := chtest.Start(t)
	const users = 30

	faults := new(dm.Faults)
	if err := faults.Set(0, time.Hour); err != nil {
		t.Fatal(err)
	}
	checker := httptest.NewServer(dm.SimHandler(dm.Simulator{Faults: faults}, slog.New(slog.DiscardHandler)))
	t.Cleanup(checker.Close)
	smtp := notifytest.NewSMTPServer(t)
	hook := notifytest.NewWebhook(t)

	// The sink runs in this process: it is not what the test crashes.
	kafka := kafkaconn.Defaults()
	kafka.Brokers, kafka.Registry = []string{c.addr}, c.registry
	scfg := sink.DefaultConfig()
	scfg.ClickHouse, scfg.Database, scfg.FlushInterval = ch.Addr(), "e2e", 100*time.Millisecond
	snk, err := sink.New(scfg, pipeline.SinkLayout([]pipeline.Descriptor{dm.New()}), kafka, c.codec, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sinkDone := make(chan error, 1)
	go func() { sinkDone <- snk.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-sinkDone; err != nil {
			t.Errorf("sink: %v", err)
		}
	})

	c.startWorker(t, "w1", "--checker-url", checker.URL+"/check/{user_id}", "--retry-delays", "20ms")
	c.mark(t, "gone", users)

	reprocessArgs := []string{"reprocess", "--kafka", c.addr, "--registry", c.registry,
		"--clickhouse", ch.Addr(), "--clickhouse-db", "e2e", "--metrics=", "--log-format", "json",
		"--reprocess.attempt_count", "1", "--reprocess.schedule", "1s", "--reprocess.fetch_size", "10", "--reprocess.rate", "20",
		"--notify.smtp_addr", smtp.Addr(), "--notify.smtp_from", "ration@example.test", "--notify.smtp_to", "ops@example.test",
		"--notify.webhook_url", hook.URL()}
	first := c.startProcess(t, "reprocess-1", reprocessArgs...)
	// Kill it once it has re-sent more than one batch's worth: its
	// current transaction is open.
	first.await(t, 2*time.Minute, 0, "a dozen re-sends", func() func(logLine) bool {
		n := 0
		return func(l logLine) bool {
			if l.Msg == "item re-sent" {
				n++
			}
			return n >= 12
		}
	}())
	first.kill(t)

	second := c.startProcess(t, "reprocess-2", reprocessArgs...)
	// Users are given up on as ClickHouse sees them parked a second time,
	// so over one or more runs: wait until every one was in a webhook
	// call, then for a whole run after the last notification, which must
	// find nothing left to tell.
	waitCtx, waitCancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer waitCancel()
	for told := 0; told < users; {
		calls, err := hook.WaitRequests(waitCtx, len(hook.Requests())+1)
		if err != nil {
			t.Fatalf("%d of %d users notified: %v", told, users, err)
		}
		seen := map[string]bool{}
		for _, r := range calls {
			for _, it := range r.Batch.Items {
				seen[it.ItemID] = true
			}
		}
		told = len(seen)
	}
	byFirst := 0 // notifications the killed process sent, if it got that far
	for at := 0; ; at++ {
		if _, at = first.find(at, msg("notified about given-up items")); at < 0 {
			break
		}
		byFirst++
	}
	_, at := second.await(t, time.Minute, 0, "the last notification", func() func(logLine) bool {
		n := byFirst
		return func(l logLine) bool {
			if l.Msg == "notified about given-up items" {
				n++
			}
			return n >= len(hook.Requests())
		}
	}())
	second.await(t, time.Minute, at, "a run after the last notification", msg("reprocessing run finished"))
	mails, err := smtp.WaitMessages(waitCtx, len(hook.Requests()))
	if err != nil {
		t.Fatal(err)
	}
	calls := hook.Requests()
	inMails := map[string]int{}
	for _, m := range mails {
		for i := range users {
			id := fmt.Sprintf("gone%06d", i)
			if containsWord(m.Body, id) {
				inMails[id]++
			}
		}
	}
	inHooks := map[string]int{}
	for _, r := range calls {
		for _, it := range r.Batch.Items {
			inHooks[it.ItemID]++
		}
	}
	for i := range users {
		id := fmt.Sprintf("gone%06d", i)
		if inMails[id] != 1 || inHooks[id] != 1 {
			t.Errorf("%s: in %d mails and %d webhook calls, want 1 and 1", id, inMails[id], inHooks[id])
		}
	}
	t.Logf("%d mails, %d webhook calls", len(mails), len(calls))
}

func containsWord(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i:i+len(w)] == w && (i+len(w) == len(s) || !isIDByte(s[i+len(w)])) && (i == 0 || !isIDByte(s[i-1])) {
			return true
		}
	}
	return false
}

func isIDByte(b byte) bool {
	return b == '_' || b == '.' || b == ':' || b == '-' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
