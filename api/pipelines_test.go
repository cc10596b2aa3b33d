package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/schemas"
)

// stubBuckets answers GET /v1/pipelines with a canned report, or err.
type stubBuckets struct {
	mu     sync.Mutex
	report ration.BucketsReport
	err    error
}

func (s *stubBuckets) Buckets(context.Context) (ration.BucketsReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.report, s.err
}

func (s *stubBuckets) set(r ration.BucketsReport, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.report, s.err = r, err
}

func TestPipelinesJSONShape(t *testing.T) {
	r := newRig(t, nil)
	drain, zero := 1.5, 0.0
	r.buckets.set(ration.BucketsReport{
		SampledAt:           ration.Timestamp{Time: time.Date(2025, 1, 2, 3, 4, 5, 600_000_000, time.UTC)},
		RateIntervalSeconds: 5,
		Pipelines: []ration.PipelineBuckets{{Name: "dm", Stages: []ration.StageBuckets{{
			Name: "check", Group: "ration.dmcheck", Members: []string{"dev-0", "dev-1"},
			Lag: 120, RecordsPerSecond: 80, OldestWaitingSeconds: 3.2, DrainSeconds: &drain,
			Buckets: []ration.Bucket{
				{Topic: "ration.dm.checks", Partition: 0, Owner: "dev-0", Lag: 120, RecordsPerSecond: 80, OldestWaitingSeconds: 3.2, DrainSeconds: &drain},
				{Topic: "ration.dm.checks", Partition: 1, Owner: "", Lag: 0, DrainSeconds: &zero},
			},
		}, {
			Name: "stalled", Group: "g", Members: []string{}, Lag: 7, Buckets: []ration.Bucket{{Topic: "t", Lag: 7}},
		}}}},
	}, nil)
	want := `{"sampled_at":"2025-01-02T03:04:05.600Z","rate_interval_seconds":5,"pipelines":[{"name":"dm","stages":[` +
		`{"name":"check","group":"ration.dmcheck","members":["dev-0","dev-1"],"lag":120,"records_per_second":80,"oldest_waiting_seconds":3.2,"drain_seconds":1.5,"buckets":[` +
		`{"topic":"ration.dm.checks","partition":0,"owner":"dev-0","lag":120,"records_per_second":80,"oldest_waiting_seconds":3.2,"drain_seconds":1.5},` +
		`{"topic":"ration.dm.checks","partition":1,"owner":"","lag":0,"records_per_second":0,"oldest_waiting_seconds":0,"drain_seconds":0}]},` +
		// Records wait and nothing moves: no drain time, null.
		`{"name":"stalled","group":"g","members":[],"lag":7,"records_per_second":0,"oldest_waiting_seconds":0,"drain_seconds":null,"buckets":[` +
		`{"topic":"t","partition":0,"owner":"","lag":7,"records_per_second":0,"oldest_waiting_seconds":0,"drain_seconds":null}]}]}]}`
	read := r.as(r.addKey(t, "dashboard", schemas.ScopeRead))
	status, ctype, body := read.Do(t, http.MethodGet, "/v1/pipelines", "", nil)
	if status != http.StatusOK || ctype != "application/json" || strings.TrimSpace(string(body)) != want {
		t.Fatalf("GET /v1/pipelines: %d %s %s\nwant 200 %s", status, ctype, body, want)
	}
}

func TestPipelinesNeedAKey(t *testing.T) {
	r := newRig(t, nil)
	status, ctype, body := r.as("").Do(t, http.MethodGet, "/v1/pipelines", "", nil)
	apitest.WantError(t, status, ctype, body, http.StatusUnauthorized, "API key")
}

func TestPipelinesUnavailable(t *testing.T) {
	t.Run("kafka fails", func(t *testing.T) {
		r := newRig(t, nil)
		r.buckets.set(ration.BucketsReport{}, errors.New("dial tcp: connection refused"))
		status, ctype, body := r.Do(t, http.MethodGet, "/v1/pipelines", "", nil)
		apitest.WantError(t, status, ctype, body, http.StatusServiceUnavailable, "Kafka unavailable")
		if strings.Contains(string(body), "refused") {
			t.Fatalf("the cause reached the client: %s", body)
		}
	})
	t.Run("no inspector", func(t *testing.T) {
		srv, err := New(Defaults(), Deps{})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/pipelines", nil))
		apitest.WantError(t, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes(), http.StatusServiceUnavailable, "not enabled")
	})
}
