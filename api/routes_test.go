package api

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rationhq/ration/api/apitest"
)

func TestRoutesAreTheServersThenThePipelines(t *testing.T) {
	toy := newToyRoutes().routes()
	srv, err := New(Defaults(), Deps{Routes: toy})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rt := range srv.Routes() {
		got = append(got, rt.Pattern())
	}
	if n := len(got); n <= len(toy) {
		t.Fatalf("routes %q", got)
	}
	var want []string
	for _, rt := range toy {
		want = append(want, rt.Pattern())
	}
	if tail := got[len(got)-len(toy):]; !slices.Equal(tail, want) {
		t.Fatalf("routes end with %q, want the pipelines' %q", tail, want)
	}
	for _, own := range []string{"GET /healthz", "GET /metrics", "GET /v1/dead", "POST /v1/dead/replay", "GET /v1/pipelines"} {
		if i := slices.Index(got, own); i < 0 || i >= len(got)-len(toy) {
			t.Errorf("%s is not among the server's own routes %q", own, got)
		}
	}
}

func TestMethodNotAllowedListsMethods(t *testing.T) {
	r := newRig(t, nil)
	req, _ := http.NewRequest(http.MethodPatch, r.URL+"/v1/toy/items", nil)
	resp, err := r.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST, GET" {
		t.Fatalf("%d Allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	status, ct, body := r.Do(t, http.MethodDelete, "/v1/toy/items", "", nil)
	apitest.WantError(t, status, ct, body, http.StatusMethodNotAllowed, "allowed: POST, GET")
	status, ct, body = r.Do(t, http.MethodPut, "/v1/dead/replay", "application/json", strings.NewReader(`{}`))
	apitest.WantError(t, status, ct, body, http.StatusMethodNotAllowed, "not allowed")
	status, ct, body = r.Do(t, http.MethodGet, "/v1/nope", "", nil)
	apitest.WantError(t, status, ct, body, http.StatusNotFound, "no route")
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
	r.Do(t, http.MethodGet, "/v1/toy/items/u1", "", nil)
	r.Do(t, http.MethodGet, "/v1/toy/items/u2", "", nil)
	r.Do(t, http.MethodGet, "/nowhere/at/all", "", nil)
	status, _, body := r.Do(t, http.MethodGet, "/metrics", "", nil)
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	text := string(body)
	for _, want := range []string{
		`ration_api_request_duration_seconds_count{code="404",route="GET /v1/toy/items/{id}"} 2`,
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
