package notifytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one mail the SMTPServer accepted.
type Message struct {
	// From and To are the envelope (MAIL FROM, RCPT TO), not headers.
	From string
	To   []string
	// AuthUser is the user of a successful AUTH PLAIN, if any.
	AuthUser string
	// Data is the message as sent, CRLF line ends, dot-stuffing undone.
	Data []byte
	// Header, Subject, MessageID and Body are Data parsed by net/mail;
	// Header is nil if Data does not parse.
	Header    mail.Header
	Subject   string
	MessageID string
	Body      string
}

// SMTPServer is a minimal SMTP server: EHLO/HELO, AUTH PLAIN, MAIL, RCPT,
// DATA, RSET, NOOP, QUIT. It offers neither STARTTLS nor any check of
// addresses; it keeps every message.
type SMTPServer struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	msgs []Message
	// changed is closed and replaced whenever msgs grows.
	changed    chan struct{}
	conns      map[net.Conn]struct{}
	user, pass string
	closed     bool
}

// NewSMTPServer starts a server on 127.0.0.1 that stops when t ends.
func NewSMTPServer(t testing.TB) *SMTPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp server: %v", err)
	}
	s := &SMTPServer{ln: ln, changed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

// Addr is the server's host:port.
func (s *SMTPServer) Addr() string { return s.ln.Addr().String() }

// RequireAuth makes the server refuse mail until a client authenticates
// with AUTH PLAIN as user with password.
func (s *SMTPServer) RequireAuth(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.pass = user, password
}

// Messages returns the messages received so far.
func (s *SMTPServer) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitMessages waits until at least n messages have arrived and returns
// them all, or returns ctx's error with those that arrived.
func (s *SMTPServer) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs, changed := append([]Message(nil), s.msgs...), s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return msgs, fmt.Errorf("%d of %d messages: %w", len(msgs), n, ctx.Err())
		}
	}
}

func (s *SMTPServer) close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

func (s *SMTPServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// session is the state of one connection between RSETs.
type session struct {
	authUser string
	from     string
	to       []string
	mail     bool
}

func (s *SMTPServer) serve(c net.Conn) {
	// A stuck client must not hang the test's cleanup for long.
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	tp := textproto.NewConn(c)
	reply := func(code int, msg string) bool { return tp.PrintfLine("%d %s", code, msg) == nil }
	if !reply(220, "notifytest ESMTP") {
		return
	}
	var ss session
	for {
		l, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(l, " ")
		ok := true
		switch strings.ToUpper(verb) {
		case "EHLO":
			ok = tp.PrintfLine("250-notifytest") == nil &&
				tp.PrintfLine("250-8BITMIME") == nil &&
				reply(250, "AUTH PLAIN")
		case "HELO":
			ok = reply(250, "notifytest")
		case "AUTH":
			ok = s.auth(tp, arg, &ss)
		case "MAIL":
			s.mu.Lock()
			needAuth := s.user != "" && ss.authUser == ""
			s.mu.Unlock()
			from, found := addrArg(arg, "FROM:")
			switch {
			case needAuth:
				ok = reply(530, "authentication required")
			case !found:
				ok = reply(501, "syntax: MAIL FROM:<address>")
			default:
				ss.from, ss.to, ss.mail = from, nil, true
				ok = reply(250, "ok")
			}
		case "RCPT":
			to, found := addrArg(arg, "TO:")
			switch {
			case !ss.mail:
				ok = reply(503, "MAIL first")
			case !found:
				ok = reply(501, "syntax: RCPT TO:<address>")
			default:
				ss.to = append(ss.to, to)
				ok = reply(250, "ok")
			}
		case "DATA":
			if !ss.mail || len(ss.to) == 0 {
				ok = reply(503, "MAIL and RCPT first")
				break
			}
			if !reply(354, "end with <CRLF>.<CRLF>") {
				return
			}
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			s.add(newMessage(ss, data))
			ss = session{authUser: ss.authUser}
			ok = reply(250, "queued")
		case "RSET":
			ss = session{authUser: ss.authUser}
			ok = reply(250, "ok")
		case "NOOP":
			ok = reply(250, "ok")
		case "QUIT":
			reply(221, "bye")
			return
		default:
			ok = reply(502, "not implemented")
		}
		if !ok {
			return
		}
	}
}

func (s *SMTPServer) auth(tp *textproto.Conn, arg string, ss *session) bool {
	mech, resp, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") {
		return tp.PrintfLine("504 only PLAIN") == nil
	}
	if resp == "" {
		if tp.PrintfLine("334 ") != nil {
			return false
		}
		l, err := tp.ReadLine()
		if err != nil {
			return false
		}
		resp = l
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return tp.PrintfLine("501 bad base64") == nil
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return tp.PrintfLine("501 bad PLAIN response") == nil
	}
	s.mu.Lock()
	want := s.user == "" || (parts[1] == s.user && parts[2] == s.pass)
	s.mu.Unlock()
	if !want {
		return tp.PrintfLine("535 authentication failed") == nil
	}
	ss.authUser = parts[1]
	return tp.PrintfLine("235 authenticated") == nil
}

// addrArg parses "FROM:<a> PARAMS" (prefix "FROM:") into a.
func addrArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	addr, _, found := strings.Cut(rest[1:], ">")
	return addr, found
}

func newMessage(ss session, data []byte) Message {
	// DotReader turns CRLF into LF; keep the wire's line ends.
	data = bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
	m := Message{From: ss.from, To: ss.to, AuthUser: ss.authUser, Data: data}
	if pm, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(data))); err == nil {
		body, _ := io.ReadAll(pm.Body)
		m.Header = pm.Header
		m.Subject = pm.Header.Get("Subject")
		m.MessageID = pm.Header.Get("Message-ID")
		m.Body = string(body)
	}
	return m
}

func (s *SMTPServer) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}
