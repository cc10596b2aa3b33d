package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/rationhq/ration/internal/syncbuf"
)

// Caller sends requests to an API server under test as one client.
type Caller struct {
	// URL is the server's base URL (httptest.Server.URL).
	URL  string
	HTTP *http.Client
	// Key is sent as the bearer key; "" sends none.
	Key string
}

// As returns a copy of c whose requests carry key.
func (c Caller) As(key string) Caller {
	c.Key = key
	return c
}

// Do sends a request and returns the status, the Content-Type and the
// body.
func (c Caller) Do(t testing.TB, method, path, contentType string, body io.Reader) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
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

// PostJSON posts v as JSON and returns the status and the body.
func (c Caller) PostJSON(t testing.TB, path string, v any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := c.Do(t, http.MethodPost, path, "application/json", bytes.NewReader(b))
	return status, body
}

// WantError checks an error answer: the status, a JSON content type and
// a body that is exactly {"error": "..."} mentioning wantIn.
func WantError(t testing.TB, status int, contentType string, body []byte, wantStatus int, wantIn string) {
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
	_, reasons := e["reasons"]
	if !ok || msg == "" || len(e) > 2 || (len(e) == 2 && !reasons) {
		t.Fatalf("error body %s, want {\"error\": \"...\"} (and \"reasons\")", body)
	}
	if !strings.Contains(msg, wantIn) {
		t.Fatalf("error %q, want it to mention %q", msg, wantIn)
	}
}

// Logs is a log sink that a server's goroutines may share, for tests that
// check what was logged (and what was not).
type Logs struct{ syncbuf.Buffer }

// Logger returns a logger that writes text lines, DEBUG and up, to l.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
