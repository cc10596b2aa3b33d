package registrar_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rationhq/ration/pipelines/receipts/registrar"
	"github.com/rationhq/ration/processor"
)

// rig is a simulator served on loopback, and a client of it.
type rig struct {
	sim    *registrar.Simulator
	url    string
	client *registrar.Client
}

func newRig(t *testing.T, svc registrar.Service, opts ...registrar.Opt) *rig {
	t.Helper()
	sim, err := registrar.NewSimulator(svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	c, err := registrar.New(hs.URL, hs.Client(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{sim: sim, url: hs.URL, client: c}
}

// receipt is a body the contract accepts.
func receipt(id string) map[string]any {
	return map[string]any{"receipt_id": id, "client": "acme", "total": 4.7, "currency": "EUR", "issued_at": "2025-03-01T10:00:00Z"}
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// answer is a service's answer to a registration call.
type answer struct {
	status int
	number string
	err    string
}

// post makes a registration call by hand, so that a test sees what the
// Client hides (201 from 200). keys are sent as Idempotency-Key headers.
func (r *rig) post(t *testing.T, contentType, body string, keys ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url+"/v1/registrations", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, k := range keys {
		req.Header.Add("Idempotency-Key", k)
	}
	var reply struct {
		Number string `json:"registration_number"`
		Error  string `json:"error"`
	}
	status := r.do(t, req, &reply)
	return answer{status: status, number: reply.Number, err: reply.Error}
}

// register posts body under key as JSON.
func (r *rig) register(t *testing.T, key string, body any) answer {
	t.Helper()
	return r.post(t, "application/json", marshal(t, body), key)
}

// setFaults puts faults, a JSON object, and fails the test unless they
// are taken.
func (r *rig) setFaults(t *testing.T, faults string) {
	t.Helper()
	if status, msg := r.putFaults(t, faults); status != http.StatusOK {
		t.Fatalf("PUT /admin/faults %s: %d %s", faults, status, msg)
	}
}

func (r *rig) putFaults(t *testing.T, faults string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, r.url+"/admin/faults", strings.NewReader(faults))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	return r.do(t, req, &doc), doc
}

func (r *rig) faults(t *testing.T) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.url+"/admin/faults", nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if status := r.do(t, req, &doc); status != http.StatusOK {
		t.Fatalf("GET /admin/faults: %d", status)
	}
	return doc
}

// wantStats fails the test unless GET /admin/stats answers want.
func (r *rig) wantStats(t *testing.T, want registrar.Stats) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.url+"/admin/stats", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got registrar.Stats
	if status := r.do(t, req, &got); status != http.StatusOK {
		t.Fatalf("GET /admin/stats: %d", status)
	}
	if got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

// do sends req and decodes the JSON answer into v; every answer of the
// simulator is JSON.
func (r *rig) do(t *testing.T, req *http.Request, v any) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: %d with Content-Type %q: %s", req.Method, req.URL.Path, resp.StatusCode, ct, b)
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		t.Fatalf("%s %s: %d %s: %v", req.Method, req.URL.Path, resp.StatusCode, b, err)
	}
	return resp.StatusCode
}

// wantClass fails the test unless err is marked with class
// (processor.ErrTransient or processor.ErrPermanent), and only with it.
func wantClass(t *testing.T, err, class error) {
	t.Helper()
	other := processor.ErrPermanent
	if class == processor.ErrPermanent {
		other = processor.ErrTransient
	}
	if !errors.Is(err, class) || errors.Is(err, other) {
		t.Fatalf("error %v: want it marked %v only", err, class)
	}
}

// wantStatus fails the test unless err holds a *StatusError of status
// whose message contains msg.
func wantStatus(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var se *registrar.StatusError
	if !errors.As(err, &se) || se.Status != status || !strings.Contains(se.Message, msg) {
		t.Fatalf("error %v: want status %d with a message containing %q", err, status, msg)
	}
}
