package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
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
