package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/reprocess"
	"github.com/rationhq/ration/schemas"
)

// stubReprocessor records the requests it gets and answers with a canned
// report or error: the HTTP mapping is what these tests are about (the
// reprocessor itself runs against Kafka and ClickHouse in devstack's and
// e2e's tests).
type stubReprocessor struct {
	mu   sync.Mutex
	reqs []reprocess.Request
	err  error
	// block, if not nil, holds every run until it is closed.
	block chan struct{}
}

func (s *stubReprocessor) Run(_ context.Context, req reprocess.Request) (reprocess.Report, error) {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, req)
	return reprocess.Report{DryRun: req.DryRun, Selected: 2, Resent: 1, Failed: 1, Items: []reprocess.ItemAction{
		{Pipeline: "dm", ItemID: "u1", Stage: "check", Status: "REPROCESS", RetryCount: 1, Action: "resend"},
	}}, s.err
}

func TestReprocessRoute(t *testing.T) {
	r := newRig(t, nil)
	post := func(rr *rig, body string) (int, []byte) {
		status, _, b := rr.Do(t, http.MethodPost, "/v1/reprocess/runs", "application/json", strings.NewReader(body))
		return status, b
	}
	status, body := post(r, `{"dry_run":true,"pipeline":"dm","status":"REPROCESS","since":"2026-01-02T03:04:05.678Z"}`)
	var rep reprocess.Report
	if err := json.Unmarshal(body, &rep); status != http.StatusOK || err != nil || !rep.DryRun || rep.Resent != 1 || len(rep.Items) != 1 {
		t.Fatalf("run: %d %s", status, body)
	}
	got := r.reprocessor.reqs[0]
	if !got.DryRun || got.Scheduled || got.Pipeline != "dm" || got.Status != "REPROCESS" ||
		!got.Since.Equal(time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)) {
		t.Fatalf("request reached the reprocessor as %+v", got)
	}

	for _, bad := range []string{`{"status":"PROCESSED"}`, `{"since":"yesterday"}`, `{"dryrun":true}`, `not json`,
		`{"pipeline":"` + strings.Repeat("p", 65) + `"}`} {
		if status, body := post(r, bad); status != http.StatusBadRequest || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s: %d %s, want 400 with a JSON error", bad, status, body)
		}
	}
	if status, _ := post(r.as(r.addKey(t, "writer", schemas.ScopeWrite)), `{}`); status != http.StatusForbidden {
		t.Errorf("a write key ran the reprocessor: %d", status)
	}
	r.reprocessor.err = reprocess.ErrBusy
	if status, body := post(r, `{}`); status != http.StatusConflict {
		t.Errorf("busy: %d %s, want 409", status, body)
	}
	if n := len(r.reprocessor.reqs); n != 2 {
		t.Errorf("%d runs reached the reprocessor, want 2 (bad requests must not)", n)
	}
}

// TestReprocessRunOutlastsItsRequest: a run longer than the backend
// timeout is answered 202 with where to ask; asking answers 202 until the
// run ends, then its report; apiclient.Reprocess waits through it all.
func TestReprocessRunOutlastsItsRequest(t *testing.T) {
	// Short, but long enough for each request's audit record to be
	// written: the answer waits for that too, within the same timeout.
	r := newRig(t, func(c *Config) { c.BackendTimeout = 250 * time.Millisecond })
	r.reprocessor.block = make(chan struct{})
	req, err := http.NewRequest(http.MethodPost, r.URL+"/v1/reprocess/runs", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.Key)
	resp, err := r.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var running struct {
		RunID string `json:"run_id"`
		State string `json:"state"`
	}
	err = json.NewDecoder(resp.Body).Decode(&running)
	resp.Body.Close()
	location := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || err != nil || running.State != "running" || location != "/v1/reprocess/runs/"+running.RunID {
		t.Fatalf("long run: %d %+v (%v), Location %q; want 202 with the run's id and where to ask", resp.StatusCode, running, err, location)
	}
	if status, _, body := r.Do(t, http.MethodGet, location, "", nil); status != http.StatusAccepted {
		t.Fatalf("asking while it runs: %d %s, want 202", status, body)
	}
	if status, _, body := r.Do(t, http.MethodGet, "/v1/reprocess/runs/nosuchrun", "", nil); status != http.StatusNotFound || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("unknown run: %d %s, want 404", status, body)
	}
	close(r.reprocessor.block)
	status, _, body := r.Do(t, http.MethodGet, location, "", nil)
	var rep reprocess.Report
	if err := json.Unmarshal(body, &rep); status != http.StatusOK || err != nil || rep.Resent != 1 {
		t.Fatalf("asking once it ended: %d %s, want 200 with the report", status, body)
	}

	// The client: the run is let go once the client has been told to wait.
	r.reprocessor.block = make(chan struct{})
	asked := make(chan struct{}, 1)
	hc := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err == nil && resp.StatusCode == http.StatusAccepted {
			select {
			case asked <- struct{}{}:
			default:
			}
		}
		return resp, err
	})}
	done := make(chan error, 1)
	go func() {
		rep, err := apiclient.New(r.URL, hc).WithKey(r.Key).Reprocess(context.Background(), apiclient.ReprocessRequest{})
		if err == nil && rep.Resent != 1 {
			err = fmt.Errorf("report %+v", rep)
		}
		done <- err
	}()
	<-asked
	close(r.reprocessor.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
