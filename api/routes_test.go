package api

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMethodNotAllowedListsMethods(t *testing.T) {
	r := newRig(t, nil)
	req, _ := http.NewRequest(http.MethodPatch, r.http.URL+"/v1/dm/users", nil)
	resp, err := r.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST, GET" {
		t.Fatalf("%d Allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestHealthz(t *testing.T) {
	var ready atomic.Bool
	srv, err := New(Defaults(), Deps{Ready: ready.Load})
	if err != nil {
		t.Fatal(err)
	}
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	if code, body := get(); code != http.StatusServiceUnavailable || body != `{"error":"not ready"}` {
		t.Fatalf("not ready: %d %s", code, body)
	}
	ready.Store(true)
	if code, body := get(); code != http.StatusOK || body != `{"status":"ok"}` {
		t.Fatalf("ready: %d %s", code, body)
	}
}

func TestMetricsByRoutePattern(t *testing.T) {
	r := newRig(t, nil)
	r.do(t, http.MethodGet, "/v1/dm/users/u1", "", nil)
	r.do(t, http.MethodGet, "/v1/dm/users/u2", "", nil)
	r.do(t, http.MethodGet, "/nowhere/at/all", "", nil)
	status, _, body := r.do(t, http.MethodGet, "/metrics", "", nil)
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	text := string(body)
	for _, want := range []string{
		`ration_api_request_duration_seconds_count{code="404",route="GET /v1/dm/users/{id}"} 2`,
		`ration_api_request_duration_seconds_count{code="404",route="/"} 1`,
		`ration_api_requests_in_flight 1`, // the /metrics request itself
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "u1") {
		t.Error("metrics carry a raw path")
	}
	if n := strings.Count(text, "ration_api_request_duration_seconds_count{"); n != 2 {
		t.Errorf("%d duration series, want 2 (the /metrics request is counted once it ends)", n)
	}
}

func TestNewRejectsBadConfigAndSharedRegistry(t *testing.T) {
	cfg := Defaults()
	cfg.MaxIDs = 0
	if _, err := New(cfg, Deps{}); err == nil {
		t.Fatal("MaxIDs 0 accepted")
	}
	cfg = Defaults()
	cfg.BackendTimeout = cfg.WriteTimeout
	if _, err := New(cfg, Deps{}); err == nil {
		t.Fatal("backend timeout not below write timeout accepted")
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
