package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/schemas"
)

func TestRejectedInputIsLoggedWithoutTheBody(t *testing.T) {
	var logs apitest.Logs
	srv, err := New(Defaults(), Deps{Routes: newToyRoutes().routes(), Log: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("secret", 100)
	body := `{"ids": ["ok", "` + secret + `"]}`
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/toy/items", strings.NewReader(body)))
	apitest.WantError(t, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes(), http.StatusBadRequest, "ids[1]")
	line := logs.String()
	for _, want := range []string{"level=WARN", `route="POST /v1/toy/items"`, "reason=", "ids[1]"} {
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
	// Without their dependencies the routes answer 503, not panic.
	for _, path := range []string{"/v1/pipelines", "/v1/dead", "/v1/audit", "/v1/clients"} {
		resp, err = http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("GET %s without its dependency: %d", path, resp.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := http.Get("http://" + addr.String() + "/healthz"); err == nil {
		t.Fatal("still serving after Run returned")
	}
}

// TestReasonsAreAnswered: an error with reasons answers {"error", "reasons"},
// every reason with its path.
func TestReasonsAreAnswered(t *testing.T) {
	route := Route{Method: http.MethodPost, Path: "/v1/check", Scope: schemas.ScopeWrite, Handle: func(http.ResponseWriter, *http.Request) error {
		return Errorf(http.StatusUnprocessableEntity, "2 things are wrong").WithReasons([]Reason{{Path: "/a", Message: "missing"}, {Path: "", Message: "too big"}})
	}}
	srv, err := New(Defaults(), Deps{Routes: []Route{route}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/check", nil))
	want := `{"error":"2 things are wrong","reasons":[{"path":"/a","message":"missing"},{"path":"","message":"too big"}]}` + "\n"
	if rec.Code != http.StatusUnprocessableEntity || rec.Body.String() != want {
		t.Fatalf("%d %s, want 422 %s", rec.Code, rec.Body, want)
	}
}
