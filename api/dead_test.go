package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// deadLetter writes a record to topic as stage's runtime would: key,
// value and where it came from.
func deadLetter(t *testing.T, r *rig, topic, key, value string) {
	t.Helper()
	rec := &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value), Headers: []kgo.RecordHeader{
		{Key: processor.HeaderDeadStage, Value: []byte("check")},
		{Key: processor.HeaderDeadError, Value: []byte("cannot decode")},
		{Key: processor.HeaderDeadTopic, Value: []byte(checksTopic)},
	}}
	if err := r.Client.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// letters lists GET /v1/dead?query, failing t unless it answers 200.
func letters(t *testing.T, r *rig, query string) []ration.DeadLetter {
	t.Helper()
	status, _, body := r.Do(t, http.MethodGet, "/v1/dead?"+query, "", nil)
	var list struct{ Letters []ration.DeadLetter }
	if err := json.Unmarshal(body, &list); status != http.StatusOK || err != nil || list.Letters == nil {
		t.Fatalf("GET /v1/dead?%s: %d %s, want 200 with a list of letters", query, status, body)
	}
	return list.Letters
}

// postDead posts body to path, failing t unless it answers 200.
func postDead(t *testing.T, r *rig, path, body string) ration.DeadLetterOutcome {
	t.Helper()
	status, _, b := r.Do(t, http.MethodPost, path, "application/json", strings.NewReader(body))
	var out ration.DeadLetterOutcome
	if err := json.Unmarshal(b, &out); status != http.StatusOK || err != nil {
		t.Fatalf("POST %s %s: %d %s", path, body, status, b)
	}
	return out
}

func TestDeadLetterRoutes(t *testing.T) {
	r := newRig(t, nil)
	deadLetter(t, r, "ration.dm.check.dead", "u1", "not avro")

	for _, query := range []string{"pipeline=dm&stage=check", "pipeline=dm", ""} {
		got := letters(t, r, query)
		if len(got) != 1 || string(got[0].Value) != "not avro" || got[0].Key != "u1" || got[0].OriginalTopic != checksTopic {
			t.Fatalf("GET /v1/dead?%s: %+v, want stage check's letter (the default)", query, got)
		}
	}
	if got := letters(t, r, "pipeline=dm&stage=state"); len(got) != 0 {
		t.Fatalf("stage state's letters: %+v, want none", got)
	}
	if got := letters(t, r, "pipeline=toy"); len(got) != 0 {
		t.Fatalf("pipeline toy's letters: %+v, want none", got)
	}

	reader := r.as(r.addKey(t, "looker", schemas.ScopeRead))
	if status, _, _ := reader.Do(t, http.MethodGet, "/v1/dead", "", nil); status != http.StatusForbidden {
		t.Fatalf("a read key listed dead letters: %d", status)
	}

	if out := postDead(t, r, "/v1/dead/replay", `{"pipeline":"dm","dry_run":true}`); out.Letters != 1 || out.Replayed != 0 || !out.DryRun {
		t.Fatalf("dry replay %+v", out)
	}
	if out := postDead(t, r, "/v1/dead/purge", `{"pipeline":"dm","stage":"state"}`); out.Letters != 0 || out.Purged != 0 {
		t.Fatalf("purge of another stage %+v", out)
	}
	if out := postDead(t, r, "/v1/dead/purge", `{"pipeline":"dm","stage":"check"}`); out.Purged != 1 {
		t.Fatalf("purge %+v", out)
	}
	if got := letters(t, r, ""); len(got) != 0 {
		t.Fatalf("after purge: %+v", got)
	}
	if n := r.EndOffsets(t)[checksTopic]; n != 0 {
		t.Fatalf("a dry replay and a purge wrote %d records to %s", n, checksTopic)
	}
	got := auditRecords(t, r)
	if want := "rig-admin POST /v1/dead/purge dm/check 200"; !strings.Contains(strings.Join(got, "\n"), want) {
		t.Fatalf("audit %q, want %q: the stage acted on is the target", got, want)
	}
}

func TestParkedItemsThroughTheDeadLetterRoutes(t *testing.T) {
	r := newRig(t, nil)
	deadLetter(t, r, "ration.dm.check.parked", "u9", "mark bytes")
	if got := letters(t, r, "parked=true"); len(got) != 1 || got[0].Key != "u9" {
		t.Fatalf("parked items: %+v", got)
	}
	if got := letters(t, r, ""); len(got) != 0 {
		t.Fatalf("the dead letters hold the parked item: %+v", got)
	}
	if out := postDead(t, r, "/v1/dead/replay", `{"parked":true}`); out.Replayed != 1 {
		t.Fatalf("replay parked: %+v", out)
	}
	recs := r.Records(t, checksTopic)
	if len(recs) != 1 || string(recs[0].Key) != "u9" || string(recs[0].Value) != "mark bytes" {
		t.Fatalf("%s after the replay: %d records, want the parked item", checksTopic, len(recs))
	}
	if got := letters(t, r, "parked=true"); len(got) != 0 {
		t.Fatalf("parked items after the replay: %+v", got)
	}
}

func TestDeadLetterRequestsRejected(t *testing.T) {
	r := newRig(t, nil)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		wantIn                   string
	}{
		{"unknown pipeline", "POST", "/v1/dead/purge", `{"pipeline":"nope"}`, 400, `pipeline "nope"`},
		{"unknown stage", "POST", "/v1/dead/replay", `{"pipeline":"dm","stage":"nope"}`, 400, "stages with them: [check state]"},
		{"no parked items in a view", "GET", "/v1/dead?stage=state&parked=true", "", 400, "no parked items here (stages with them: [check])"},
		{"unknown pipeline listed", "GET", "/v1/dead?pipeline=nope", "", 400, "no dead letters"},
		{"parked not a bool", "GET", "/v1/dead?parked=maybe", "", 400, "parked"},
		{"limit zero", "GET", "/v1/dead?limit=0", "", 400, "limit"},
		{"limit over max", "GET", "/v1/dead?limit=1001", "", 400, "limit"},
		{"unknown field", "POST", "/v1/dead/replay", `{"pipeline":"dm","dryrun":true}`, 400, `unknown field "dryrun"`},
		{"not JSON", "POST", "/v1/dead/purge", `purge`, 400, "malformed JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ct, body := r.Do(t, tc.method, tc.path, "application/json", strings.NewReader(tc.body))
			apitest.WantError(t, status, ct, body, tc.status, tc.wantIn)
		})
	}
	t.Run("not managed here", func(t *testing.T) {
		srv, err := New(Defaults(), Deps{})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/dead", nil))
		apitest.WantError(t, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes(), http.StatusServiceUnavailable, "not managed")
	})
}
