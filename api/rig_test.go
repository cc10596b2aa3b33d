package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/producer"
)

// rig is an API server in front of a real in-process Kafka and schema
// registry, with an in-memory read side.
type rig struct {
	*apitest.Kafka
	reader *apitest.Reader
	reg    *prometheus.Registry
	srv    *Server
	http   *httptest.Server
}

func newRig(t *testing.T, tune func(*Config)) *rig {
	t.Helper()
	k := apitest.NewKafka(t)
	cfg := Defaults()
	cfg.Addr = "127.0.0.1:0"
	if tune != nil {
		tune(&cfg)
	}
	r := &rig{Kafka: k, reader: apitest.NewReader(), reg: prometheus.NewRegistry()}
	var err error
	r.srv, err = New(cfg, Deps{DM: producer.NewDM(k.Client, k.Codec), Reader: r.reader, Registry: r.reg})
	if err != nil {
		t.Fatal(err)
	}
	r.http = httptest.NewServer(r.srv.Handler())
	t.Cleanup(r.http.Close)
	return r
}

// do sends a request and returns the status, the Content-Type and the body.
func (r *rig) do(t *testing.T, method, path, contentType string, body io.Reader) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, r.http.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func (r *rig) postJSON(t *testing.T, path string, v any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := r.do(t, http.MethodPost, path, "application/json", bytes.NewReader(b))
	return status, body
}

// wantError checks an error answer: the status, a JSON content type and a
// body that is exactly {"error": "..."} mentioning wantIn.
func wantError(t *testing.T, status int, contentType string, body []byte, wantStatus int, wantIn string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", status, wantStatus, body)
	}
	if contentType != "application/json" {
		t.Fatalf("content type %q, want application/json", contentType)
	}
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	msg, ok := e["error"].(string)
	if len(e) != 1 || !ok || msg == "" {
		t.Fatalf("error body %s, want {\"error\": \"...\"}", body)
	}
	if !strings.Contains(msg, wantIn) {
		t.Fatalf("error %q, want it to mention %q", msg, wantIn)
	}
}
