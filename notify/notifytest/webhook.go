package notifytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// WebhookBatch is the JSON document of notify's webhook, decoded
// independently of package notify, so a change of the wire format shows.
type WebhookBatch struct {
	BatchID string        `json:"batch_id"`
	Items   []WebhookItem `json:"items"`
}

// WebhookItem is one item of a WebhookBatch. FailedAt stays the string on
// the wire.
type WebhookItem struct {
	Pipeline   string `json:"pipeline"`
	ItemID     string `json:"item_id"`
	Stage      string `json:"stage"`
	RetryCount int    `json:"retry_count"`
	FailedAt   string `json:"failed_at"`
	Error      string `json:"error"`
}

// Request is one POST the Webhook received, answered or failed.
type Request struct {
	Method string
	Header http.Header
	Body   []byte
	// Batch is Body decoded; DecodeErr says why it is empty.
	Batch     WebhookBatch
	DecodeErr error
	// Status is what the Webhook answered.
	Status int
}

// Webhook receives notify's webhook POSTs on 127.0.0.1 and keeps them.
type Webhook struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []Request
	changed chan struct{}
	status  int
}

// NewWebhook starts a receiver that answers 200 and stops when t ends.
func NewWebhook(t testing.TB) *Webhook {
	t.Helper()
	w := &Webhook{changed: make(chan struct{}), status: http.StatusOK}
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.srv.Close)
	return w
}

// URL is the address to post to.
func (w *Webhook) URL() string { return w.srv.URL }

// SetStatus makes later requests get code, e.g. 500 for failure tests;
// they are still recorded. 0 restores 200.
func (w *Webhook) SetStatus(code int) {
	if code == 0 {
		code = http.StatusOK
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status = code
}

// Requests returns the requests received so far.
func (w *Webhook) Requests() []Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Request(nil), w.reqs...)
}

// WaitRequests waits until at least n requests have arrived and returns
// them all, or returns ctx's error with those that arrived.
func (w *Webhook) WaitRequests(ctx context.Context, n int) ([]Request, error) {
	for {
		w.mu.Lock()
		reqs, changed := append([]Request(nil), w.reqs...), w.changed
		w.mu.Unlock()
		if len(reqs) >= n {
			return reqs, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return reqs, fmt.Errorf("%d of %d requests: %w", len(reqs), n, ctx.Err())
		}
	}
}

func (w *Webhook) serve(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	req := Request{Method: r.Method, Header: r.Header.Clone(), Body: body}
	req.DecodeErr = json.Unmarshal(body, &req.Batch)
	w.mu.Lock()
	req.Status = w.status
	w.reqs = append(w.reqs, req)
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	if req.Status != http.StatusOK {
		http.Error(rw, http.StatusText(req.Status), req.Status)
		return
	}
	rw.WriteHeader(req.Status)
}
