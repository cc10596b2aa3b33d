package notifytest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration/notify/notifytest"
)

func TestSMTPServerUndoesDotStuffing(t *testing.T) {
	s := notifytest.NewSMTPServer(t)
	msg := "Subject: dots\r\nMessage-ID: <m@x>\r\n\r\n.leading dot\r\n..two\r\nend\r\n"
	if err := smtp.SendMail(s.Addr(), nil, "a@example.com", []string{"b@example.com", "c@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	msgs, err := s.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.From != "a@example.com" || strings.Join(m.To, ",") != "b@example.com,c@example.com" {
		t.Errorf("envelope %q -> %q", m.From, m.To)
	}
	if !bytes.Equal(m.Data, []byte(msg)) {
		t.Errorf("data %q, want %q", m.Data, msg)
	}
	if m.Subject != "dots" || m.MessageID != "<m@x>" || m.Body != ".leading dot\r\n..two\r\nend\r\n" {
		t.Errorf("parsed subject %q, id %q, body %q", m.Subject, m.MessageID, m.Body)
	}
}

func TestSMTPServerRequiresAuth(t *testing.T) {
	s := notifytest.NewSMTPServer(t)
	s.RequireAuth("u", "p")
	to := []string{"b@example.com"}
	if err := smtp.SendMail(s.Addr(), nil, "a@example.com", to, []byte("\r\nx\r\n")); err == nil {
		t.Error("accepted mail without auth")
	}
	if err := smtp.SendMail(s.Addr(), smtp.PlainAuth("", "u", "wrong", "127.0.0.1"), "a@example.com", to, []byte("\r\nx\r\n")); err == nil {
		t.Error("accepted a wrong password")
	}
	if err := smtp.SendMail(s.Addr(), smtp.PlainAuth("", "u", "p", "127.0.0.1"), "a@example.com", to, []byte("\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if msgs := s.Messages(); len(msgs) != 1 || msgs[0].AuthUser != "u" {
		t.Errorf("messages %+v, want one from user u", msgs)
	}
}

func TestSMTPServerWaitMessagesEndsWithContext(t *testing.T) {
	s := notifytest.NewSMTPServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.WaitMessages(ctx, 1); err == nil {
		t.Error("no error for a message that never came")
	}
}

func TestWebhookRecordsAndFails(t *testing.T) {
	w := notifytest.NewWebhook(t)
	post := func() int {
		t.Helper()
		resp, err := http.Post(w.URL(), "application/json", strings.NewReader(`{"batch_id":"b","items":[{"item_id":"i","retry_count":3}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != http.StatusOK {
		t.Errorf("status %d, want 200", code)
	}
	w.SetStatus(http.StatusInternalServerError)
	if code := post(); code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", code)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	reqs, err := w.WaitRequests(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	r := reqs[1]
	if r.DecodeErr != nil || r.Batch.BatchID != "b" || len(r.Batch.Items) != 1 || r.Batch.Items[0].RetryCount != 3 || r.Status != 500 {
		t.Errorf("request %+v", r)
	}
}
