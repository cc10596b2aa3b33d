package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/producer"
)

// syncBuffer is a log sink that the server's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRejectedInputIsLoggedWithoutTheBody(t *testing.T) {
	k := apitest.NewKafka(t)
	var logs syncBuffer
	srv, err := New(Defaults(), Deps{DM: producer.NewDM(k.Client, k.Codec), Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("secret", 100)
	body := `{"user_ids": ["ok", "` + secret + `"]}`
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/dm/users", strings.NewReader(body)))
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status %d", rec.Code)
	}
	line := logs.String()
	for _, want := range []string{"level=WARN", `route="POST /v1/dm/users"`, "reason=", "user_ids[1]"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, secret) {
		t.Errorf("log holds the whole invalid id: %q", line)
	}
}

// TestSlowHeadersAreCutOff checks the slow-loris defence: a client that
// never finishes its headers is disconnected after ReadHeaderTimeout.
func TestSlowHeadersAreCutOff(t *testing.T) {
	cfg := Defaults()
	cfg.Addr = "127.0.0.1:0"
	cfg.ReadHeaderTimeout = 200 * time.Millisecond
	srv, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a net.Addr) { addrc <- a }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	conn, err := net.Dial("tcp", (<-addrc).String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// A safety net only: the server should close the connection long before.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(conn)
	if err != nil || time.Since(start) > 5*time.Second {
		t.Fatalf("connection still open after %v (err %v)", time.Since(start), err)
	}
}

func TestNewRejectsBadConfigAndSharedRegistry(t *testing.T) {
	cfg := Defaults()
	cfg.MaxIDs = 0
	if _, err := New(cfg, Deps{}); err == nil {
		t.Fatal("MaxIDs 0 accepted")
	}
	cfg = Defaults()
	cfg.BackendTimeout = cfg.WriteTimeout / 2
	if _, err := New(cfg, Deps{}); err == nil {
		t.Fatal("backend timeout not below half the write timeout accepted (an audited request waits twice)")
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Defaults(), Deps{Registry: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Defaults(), Deps{Registry: reg}); err == nil {
		t.Fatal("a second server on one registry was accepted")
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	cfg := Defaults()
	cfg.Addr = "127.0.0.1:0"
	srv, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	// Without a producer or reader the routes answer 503, not panic.
	resp, err = http.Get("http://" + addr.String() + "/v1/dm/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("stats without a reader: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := http.Get("http://" + addr.String() + "/healthz"); err == nil {
		t.Fatal("still serving after Run returned")
	}
}
