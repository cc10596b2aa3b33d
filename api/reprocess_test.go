package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/processor"
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
}

func (s *stubReprocessor) Run(_ context.Context, req reprocess.Request) (reprocess.Report, error) {
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
		status, _, b := rr.do(t, http.MethodPost, "/v1/reprocess/runs", "application/json", strings.NewReader(body))
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

func TestParkedItemsThroughTheDeadLetterRoutes(t *testing.T) {
	r := newRig(t, nil)
	parked := &kgo.Record{Topic: schemas.TopicDMParked, Key: []byte("u9"), Value: []byte("mark bytes"), Headers: []kgo.RecordHeader{
		{Key: processor.HeaderDeadStage, Value: []byte("dmcheck")},
		{Key: processor.HeaderDeadError, Value: []byte("transient: 503")},
		{Key: processor.HeaderDeadTopic, Value: []byte(schemas.TopicDMChecks)},
	}}
	if err := r.Client.ProduceSync(context.Background(), parked).FirstErr(); err != nil {
		t.Fatal(err)
	}
	status, _, body := r.do(t, http.MethodGet, "/v1/dead?parked=true", "", nil)
	var list struct{ Letters []ration.DeadLetter }
	if err := json.Unmarshal(body, &list); status != http.StatusOK || err != nil || len(list.Letters) != 1 || list.Letters[0].Key != "u9" {
		t.Fatalf("parked items: %d %s", status, body)
	}
	if status, _, body := r.do(t, http.MethodGet, "/v1/dead", "", nil); status != http.StatusOK || !strings.Contains(string(body), `"letters":[]`) {
		t.Fatalf("the dead letters hold the parked item: %d %s", status, body)
	}
	if status, _, _ := r.do(t, http.MethodGet, "/v1/dead?parked=maybe", "", nil); status != http.StatusBadRequest {
		t.Fatalf("parked=maybe: %d, want 400", status)
	}
	status, _, body = r.do(t, http.MethodPost, "/v1/dead/replay", "application/json", strings.NewReader(`{"parked":true}`))
	if status != http.StatusOK || !strings.Contains(string(body), `"replayed":1`) {
		t.Fatalf("replay parked: %d %s", status, body)
	}
}
