package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rationhq/ration/notify"
	"github.com/rationhq/ration/notify/notifytest"
)

func items() []notify.Item {
	cet := time.FixedZone("CET", 3600)
	return []notify.Item{
		{Pipeline: "dmcheck", ItemID: "u-1", Stage: "check", Error: "checker: timeout", RetryCount: 3,
			FailedAt: time.Date(2026, 3, 4, 5, 6, 7, 89_000_000, time.UTC)},
		{Pipeline: "dmcheck", ItemID: "u-2", Stage: "check", Error: "checker: 503", RetryCount: 3,
			FailedAt: time.Date(2026, 3, 4, 6, 6, 8, 0, cet)},
		{Pipeline: "audit", ItemID: "a-7", Stage: "store", Error: "déjà vu", RetryCount: 5,
			FailedAt: time.Date(2026, 3, 4, 5, 6, 9, 123_456_789, time.UTC)},
	}
}

// await bounds a wait for a delivery that should come at once.
func await(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newNotifier(t *testing.T, cfg notify.Config, log *slog.Logger) notify.Notifier {
	t.Helper()
	n, err := notify.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mailConfig(s *notifytest.SMTPServer) notify.Config {
	return notify.Config{
		SMTPAddr: s.Addr(),
		SMTPFrom: "Ration <ration@example.com>",
		SMTPTo:   []string{"ops@example.com", "Oncall <oncall@example.com>"},
	}
}

func TestBatchReachesMailAndWebhook(t *testing.T) {
	s := notifytest.NewSMTPServer(t)
	w := notifytest.NewWebhook(t)
	cfg := mailConfig(s)
	cfg.WebhookURL = w.URL()
	b := notify.Batch{ID: "reprocess-20260304T050607Z", Items: items()}
	if err := newNotifier(t, cfg, nil).Notify(t.Context(), b); err != nil {
		t.Fatal(err)
	}

	t.Run("mail", func(t *testing.T) {
		msgs, err := s.WaitMessages(await(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 {
			t.Fatalf("%d messages, want 1", len(msgs))
		}
		m := msgs[0]
		if m.From != "ration@example.com" || !slices.Equal(m.To, []string{"ops@example.com", "oncall@example.com"}) {
			t.Errorf("envelope %q -> %q", m.From, m.To)
		}
		if m.Header == nil {
			t.Fatalf("message does not parse:\n%s", m.Data)
		}
		if m.MessageID != "<"+b.ID+"@ration>" {
			t.Errorf("Message-ID %q, want <%s@ration>", m.MessageID, b.ID)
		}
		if m.Subject != "ration: 3 items failed after reprocessing" {
			t.Errorf("Subject %q", m.Subject)
		}
		if _, err := m.Header.Date(); err != nil {
			t.Errorf("Date: %v", err)
		}
		if from, err := m.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "ration@example.com" {
			t.Errorf("From %v, %v", from, err)
		}
		if to, err := m.Header.AddressList("To"); err != nil || len(to) != 2 || to[1].Address != "oncall@example.com" {
			t.Errorf("To %v, %v", to, err)
		}
		if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("Content-Type %q", ct)
		}
		if bytes.Contains(bytes.ReplaceAll(m.Data, []byte("\r\n"), nil), []byte("\n")) {
			t.Error("message has bare LF line ends")
		}
		for _, want := range []string{
			"pipeline=dmcheck item=u-1 stage=check retries=3 failed_at=2026-03-04T05:06:07Z error=checker: timeout\r\n",
			"pipeline=dmcheck item=u-2 stage=check retries=3 failed_at=2026-03-04T05:06:08Z error=checker: 503\r\n",
			"pipeline=audit item=a-7 stage=store retries=5 failed_at=2026-03-04T05:06:09Z error=déjà vu\r\n",
		} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("body lacks %q:\n%s", want, m.Body)
			}
		}
	})

	t.Run("webhook", func(t *testing.T) {
		reqs, err := w.WaitRequests(await(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want 1", len(reqs))
		}
		r := reqs[0]
		if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		if got := r.Header.Get("Idempotency-Key"); got != b.ID {
			t.Errorf("Idempotency-Key %q, want %q", got, b.ID)
		}
		if r.DecodeErr != nil {
			t.Fatalf("body %s: %v", r.Body, r.DecodeErr)
		}
		want := notifytest.WebhookBatch{BatchID: b.ID, Items: []notifytest.WebhookItem{
			{Pipeline: "dmcheck", ItemID: "u-1", Stage: "check", RetryCount: 3, FailedAt: "2026-03-04T05:06:07.089Z", Error: "checker: timeout"},
			{Pipeline: "dmcheck", ItemID: "u-2", Stage: "check", RetryCount: 3, FailedAt: "2026-03-04T05:06:08.000Z", Error: "checker: 503"},
			{Pipeline: "audit", ItemID: "a-7", Stage: "store", RetryCount: 5, FailedAt: "2026-03-04T05:06:09.123Z", Error: "déjà vu"},
		}}
		if r.Batch.BatchID != want.BatchID || !slices.Equal(r.Batch.Items, want.Items) {
			t.Errorf("posted %+v\nwant %+v", r.Batch, want)
		}
	})
}

func TestRepeatKeepsIdempotencyID(t *testing.T) {
	s := notifytest.NewSMTPServer(t)
	w := notifytest.NewWebhook(t)
	cfg := mailConfig(s)
	cfg.WebhookURL = w.URL()
	n := newNotifier(t, cfg, nil)
	b := notify.Batch{ID: "run-42", Items: items()}
	for range 2 {
		if err := n.Notify(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := s.WaitMessages(await(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := w.WaitRequests(await(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].MessageID != msgs[1].MessageID || reqs[0].Header.Get("Idempotency-Key") != reqs[1].Header.Get("Idempotency-Key") {
		t.Errorf("repeat changed the ids: %q %q, %q %q", msgs[0].MessageID, msgs[1].MessageID,
			reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"))
	}
}

func TestWebhookFailure(t *testing.T) {
	s := notifytest.NewSMTPServer(t)
	w := notifytest.NewWebhook(t)
	w.SetStatus(500)
	cfg := mailConfig(s)
	cfg.WebhookURL = w.URL()
	err := newNotifier(t, cfg, nil).Notify(t.Context(), notify.Batch{ID: "b", Items: items()})
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "webhook") {
		t.Fatalf("error %v, want one naming the webhook and status 500", err)
	}
	if msgs, err := s.WaitMessages(await(t), 1); err != nil || len(msgs) != 1 {
		t.Errorf("the failing webhook kept the mail from going out: %d messages, %v", len(msgs), err)
	}
}

func TestWebhookErrorHidesTheSecret(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the post is refused
	cfg := notify.Config{WebhookURL: "http://" + addr + "/services/T0/B0/hook-secret?token=query-secret"}
	err = newNotifier(t, cfg, nil).Notify(t.Context(), notify.Batch{ID: "b", Items: items()})
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error %v, want one naming %s and no secret", err, addr)
	}
}

func TestWebhookRedirectIsNoDelivery(t *testing.T) {
	w := notifytest.NewWebhook(t)
	w.SetStatus(302)
	err := newNotifier(t, notify.Config{WebhookURL: w.URL()}, nil).Notify(t.Context(), notify.Batch{ID: "b", Items: items()})
	if err == nil || !strings.Contains(err.Error(), "302") {
		t.Errorf("error %v, want status 302", err)
	}
}

func TestMailFailure(t *testing.T) {
	w := notifytest.NewWebhook(t)
	cfg := notify.Config{SMTPAddr: closedAddr(t), SMTPFrom: "r@example.com", SMTPTo: []string{"a@example.com"}, WebhookURL: w.URL()}
	err := newNotifier(t, cfg, nil).Notify(t.Context(), notify.Batch{ID: "b", Items: items()})
	if err == nil || !strings.Contains(err.Error(), "email") {
		t.Fatalf("error %v, want one naming email", err)
	}
	if reqs, err := w.WaitRequests(await(t), 1); err != nil || len(reqs) != 1 {
		t.Errorf("the failing mail kept the webhook from hearing: %d requests, %v", len(reqs), err)
	}
}

func TestHeaderInjection(t *testing.T) {
	s := notifytest.NewSMTPServer(t)
	w := notifytest.NewWebhook(t)
	cfg := mailConfig(s)
	cfg.WebhookURL = w.URL()
	b := notify.Batch{ID: "b-1\r\nBcc: evil@example.com", Items: []notify.Item{{
		Pipeline: "p\r\nX-Injected: 1",
		ItemID:   "u-1\r\nBcc: evil@example.com",
		Stage:    "s\n\r\n.\r\nRCPT TO:<evil@example.com>",
		Error:    "boom\r\n\r\nSubject: owned",
	}}}
	if err := newNotifier(t, cfg, nil).Notify(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.WaitMessages(await(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Header == nil {
		t.Fatalf("message does not parse:\n%s", m.Data)
	}
	var keys []string
	for k, v := range m.Header {
		keys = append(keys, k)
		if len(v) != 1 {
			t.Errorf("header %s given %d times", k, len(v))
		}
	}
	slices.Sort(keys)
	want := []string{"Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
	if !slices.Equal(keys, want) {
		t.Errorf("headers %q, want %q", keys, want)
	}
	if !slices.Equal(m.To, []string{"ops@example.com", "oncall@example.com"}) {
		t.Errorf("recipients %q", m.To)
	}
	if m.Subject != "ration: 1 item failed after reprocessing" {
		t.Errorf("Subject %q", m.Subject)
	}
	var itemLines int
	for l := range strings.SplitSeq(m.Body, "\r\n") {
		if strings.HasPrefix(l, "pipeline=") {
			itemLines++
		}
	}
	if itemLines != 1 || !strings.Contains(m.Body, "item=u-1  Bcc: evil@example.com stage=") {
		t.Errorf("item not on one line:\n%s", m.Body)
	}
	reqs, err := w.WaitRequests(await(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	key := reqs[0].Header.Get("Idempotency-Key")
	if strings.ContainsAny(key, "\r\n <>") || m.MessageID != "<"+key+"@ration>" {
		t.Errorf("Idempotency-Key %q, Message-ID %q: want one key, safe in headers", key, m.MessageID)
	}
	if reqs[0].Batch.BatchID != b.ID || reqs[0].Batch.Items[0].ItemID != b.Items[0].ItemID {
		t.Errorf("webhook did not get the fields whole: %+v", reqs[0].Batch)
	}
}

// TestNoChannelIsAnError: with no channel a batch is told to nobody, and
// Notify says so, so that the caller keeps it for when a channel exists.
func TestNoChannelIsAnError(t *testing.T) {
	n := newNotifier(t, notify.Config{}, nil)
	if err := n.Notify(t.Context(), notify.Batch{ID: "run-7", Items: items()}); !errors.Is(err, notify.ErrNoChannel) {
		t.Fatalf("error %v, want ErrNoChannel", err)
	}
	if err := n.Notify(t.Context(), notify.Batch{ID: "run-8"}); err != nil {
		t.Errorf("empty batch: %v, want nothing to tell and no error", err)
	}
	if err := n.Notify(t.Context(), notify.Batch{Items: items()}); !errors.Is(err, notify.ErrNoBatchID) {
		t.Errorf("batch without id: %v, want ErrNoBatchID", err)
	}
}

func TestBatchChecks(t *testing.T) {
	s := notifytest.NewSMTPServer(t)
	n := newNotifier(t, mailConfig(s), nil)
	for _, id := range []string{"", " \r\n<>"} {
		if err := n.Notify(t.Context(), notify.Batch{ID: id, Items: items()}); !errors.Is(err, notify.ErrNoBatchID) {
			t.Errorf("id %q: error %v, want ErrNoBatchID", id, err)
		}
	}
	if err := n.Notify(t.Context(), notify.Batch{ID: "empty"}); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	if msgs := s.Messages(); len(msgs) != 0 {
		t.Errorf("%d messages sent for no items", len(msgs))
	}
}

func TestPasswordNeverLogged(t *testing.T) {
	const user, password = "ration", "correct-horse-battery"
	s := notifytest.NewSMTPServer(t)
	s.RequireAuth(user, password)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := mailConfig(s)
	cfg.SMTPUser, cfg.SMTPPassword = user, password
	b := notify.Batch{ID: "b", Items: items()}

	if err := newNotifier(t, cfg, log).Notify(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if msgs, err := s.WaitMessages(await(t), 1); err != nil || msgs[0].AuthUser != user {
		t.Fatalf("no authenticated message: %v", err)
	}
	var errs []string
	wrong := cfg
	wrong.SMTPPassword = password + "-old"
	if err := newNotifier(t, wrong, log).Notify(t.Context(), b); err == nil {
		t.Error("wrong password accepted")
	} else {
		errs = append(errs, err.Error())
	}

	out := buf.String()
	if !strings.Contains(out, "smtp_user=ration") {
		t.Errorf("config not logged at debug: %q", out)
	}
	for _, secret := range []string{
		password,
		base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password)),
	} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows %q: %s", secret, out)
		}
		for _, e := range errs {
			if strings.Contains(e, secret) {
				t.Errorf("error shows %q: %s", secret, e)
			}
		}
	}
}

func TestTimeout(t *testing.T) {
	silent := silentServer(t)
	cfg := notify.Config{
		SMTPAddr: silent, SMTPFrom: "r@example.com", SMTPTo: []string{"a@example.com"},
		WebhookURL: "http://" + silent + "/hook",
		Timeout:    100 * time.Millisecond,
	}
	n := newNotifier(t, cfg, nil)
	start := time.Now()
	err := n.Notify(t.Context(), notify.Batch{ID: "b", Items: items()})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "email") || !strings.Contains(err.Error(), "webhook") {
		t.Errorf("error %v, want deadline exceeded for email and webhook", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v against a 100ms timeout per channel", took)
	}
}

func TestCancel(t *testing.T) {
	silent := silentServer(t)
	cfg := notify.Config{SMTPAddr: silent, SMTPFrom: "r@example.com", SMTPTo: []string{"a@example.com"}, WebhookURL: "http://" + silent + "/hook", Timeout: time.Hour}
	n := newNotifier(t, cfg, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := n.Notify(ctx, notify.Batch{ID: "b", Items: items()})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the caller's deadline", err)
	}
}

// silentServer accepts connections on loopback and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
