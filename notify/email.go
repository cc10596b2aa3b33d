package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// email sends one plain-text message per batch over SMTP.
type email struct {
	addr, host string
	from       *mail.Address
	to         []*mail.Address
	user, pass string
	hello      string
	now        func() time.Time
}

func newEmail(cfg Config) (*email, error) {
	host, _, err := net.SplitHostPort(cfg.SMTPAddr)
	if err != nil {
		return nil, fmt.Errorf("notify.smtp_addr: %w", err)
	}
	from, err := mail.ParseAddress(cfg.SMTPFrom)
	if err != nil {
		return nil, fmt.Errorf("notify.smtp_from: %w", err)
	}
	e := &email{
		addr: cfg.SMTPAddr, host: host, from: from,
		user: cfg.SMTPUser, pass: cfg.SMTPPassword,
		hello: "localhost", now: time.Now,
	}
	if h, err := os.Hostname(); err == nil && h != "" && idempotencyKey(h) == h {
		e.hello = h
	}
	for _, s := range cfg.SMTPTo {
		to, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("notify.smtp_to: %w", err)
		}
		e.to = append(e.to, to)
	}
	return e, nil
}

func (e *email) name() string { return "email" }

// send speaks SMTP itself rather than through smtp.SendMail, whose dial
// knows no timeout or context.
func (e *email) send(ctx context.Context, b Batch, key string) (err error) {
	msg := composeEmail(e.from, e.to, b, key, e.now())
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			conn.Close()
			return err
		}
	}
	// A cancelled ctx unblocks whatever read or write is pending.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		conn.Close()
		return err
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if err := c.Hello(e.hello); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: e.host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if e.user != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("server offers no AUTH")
		}
		// PlainAuth refuses to send the password in the clear to anyone
		// but a loopback server.
		if err := c.Auth(smtp.PlainAuth("", e.user, e.pass, e.host)); err != nil {
			return fmt.Errorf("auth as %q: %w", e.user, err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return err
	}
	for _, to := range e.to {
		if err := c.Rcpt(to.Address); err != nil {
			return fmt.Errorf("rcpt %s: %w", to.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Cuts of body fields, so that an item line stays below SMTP's 998 octets.
const (
	maxName  = 64  // pipeline, stage
	maxID    = 200 // item id, batch id
	maxError = 500
)

// composeEmail returns the message, CRLF-terminated; the SMTP data writer
// dot-stuffs it. Headers hold only the configured addresses, a count and
// key; item fields stay in the body, on one line each.
func composeEmail(from *mail.Address, to []*mail.Address, b Batch, key string, now time.Time) []byte {
	var m bytes.Buffer
	header := func(k, v string) { m.WriteString(k + ": " + v + "\r\n") }
	header("Date", now.Format(time.RFC1123Z))
	header("From", from.String())
	rcpts := make([]string, len(to))
	for i, a := range to {
		rcpts[i] = a.String()
	}
	// Folded, so many recipients cannot make the line too long.
	header("To", strings.Join(rcpts, ",\r\n "))
	header("Message-ID", "<"+key+"@ration>")
	header("Subject", subject(len(b.Items)))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "8bit")
	m.WriteString("\r\n")
	m.WriteString(subject(len(b.Items))[len("ration: "):] + ": their retries reached the maximum.\r\n")
	m.WriteString("Batch: " + line(b.ID, maxID) + "\r\n\r\n")
	for _, it := range b.Items {
		m.WriteString("pipeline=" + line(it.Pipeline, maxName) +
			" item=" + line(it.ItemID, maxID) +
			" stage=" + line(it.Stage, maxName) +
			" retries=" + strconv.Itoa(it.RetryCount) +
			" failed_at=" + it.FailedAt.UTC().Format(time.RFC3339) +
			" error=" + line(it.Error, maxError) + "\r\n")
	}
	return m.Bytes()
}

func subject(n int) string {
	if n == 1 {
		return "ration: 1 item failed after reprocessing"
	}
	return "ration: " + strconv.Itoa(n) + " items failed after reprocessing"
}

// line makes s safe inside one body line: valid UTF-8, control characters
// as spaces, at most max bytes (cut at a rune, marked with an ellipsis).
func line(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
