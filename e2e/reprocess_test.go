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
	"github.com/rationhq/ration/processor/dmcheck"
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

	faults := new(dmcheck.Faults)
	if err := faults.Set(0, time.Hour); err != nil {
		t.Fatal(err)
	}
	checker := httptest.NewServer(dmcheck.SimHandler(dmcheck.Simulator{Faults: faults}, slog.New(slog.DiscardHandler)))
	t.Cleanup(checker.Close)
	smtp := notifytest.NewSMTPServer(t)
	hook := notifytest.NewWebhook(t)

	// The sink runs in this process: it is not what the test crashes.
	kafka := kafkaconn.Defaults()
	kafka.Brokers, kafka.Registry = []string{c.addr}, c.registry
	scfg := sink.DefaultConfig()
	scfg.ClickHouse, scfg.Database, scfg.FlushInterval = ch.Addr(), "e2e", 100*time.Millisecond
	snk, err := sink.New(scfg, kafka, c.codec, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
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
	_, at := second.await(t, 3*time.Minute, 0, "the notification", msg("notified about given-up items"))
	// One more run after it must find nothing left to tell.
	second.await(t, time.Minute, at, "a run after the notification", msg("reprocessing run finished"))

	waitCtx, waitCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer waitCancel()
	mails, err := smtp.WaitMessages(waitCtx, 1)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := hook.WaitRequests(waitCtx, 1)
	if err != nil {
		t.Fatal(err)
	}
	inMails := map[string]int{}
	for _, m := range smtp.Messages() {
		for i := range users {
			id := fmt.Sprintf("gone%06d", i)
			if containsWord(m.Body, id) {
				inMails[id]++
			}
		}
	}
	inHooks := map[string]int{}
	for _, r := range hook.Requests() {
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
