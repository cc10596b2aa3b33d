package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

func TestDeadLetterRoutes(t *testing.T) {
	r := newRig(t, nil)
	garbage := &kgo.Record{Topic: schemas.TopicDMDead, Key: []byte("u1"), Value: []byte("not avro"), Headers: []kgo.RecordHeader{
		{Key: processor.HeaderDeadStage, Value: []byte("dmcheck")},
		{Key: processor.HeaderDeadError, Value: []byte("cannot decode")},
		{Key: processor.HeaderDeadTopic, Value: []byte(schemas.TopicDMChecks)},
	}}
	if err := r.Client.ProduceSync(context.Background(), garbage).FirstErr(); err != nil {
		t.Fatal(err)
	}

	status, _, body := r.do(t, http.MethodGet, "/v1/dead?pipeline=dm", "", nil)
	var list struct{ Letters []ration.DeadLetter }
	if err := json.Unmarshal(body, &list); status != http.StatusOK || err != nil || len(list.Letters) != 1 ||
		string(list.Letters[0].Value) != "not avro" || list.Letters[0].OriginalTopic != schemas.TopicDMChecks {
		t.Fatalf("GET /v1/dead: %d %s", status, body)
	}

	reader := r.as(r.addKey(t, "looker", schemas.ScopeRead))
	if status, _, _ := reader.do(t, http.MethodGet, "/v1/dead", "", nil); status != http.StatusForbidden {
		t.Fatalf("a read key listed dead letters: %d", status)
	}

	post := func(path, body string) ration.DeadLetterOutcome {
		t.Helper()
		status, _, b := r.do(t, http.MethodPost, path, "application/json", strings.NewReader(body))
		var out ration.DeadLetterOutcome
		if err := json.Unmarshal(b, &out); status != http.StatusOK || err != nil {
			t.Fatalf("POST %s %s: %d %s", path, body, status, b)
		}
		return out
	}
	if out := post("/v1/dead/replay", `{"pipeline":"dm","dry_run":true}`); out.Letters != 1 || out.Replayed != 0 || !out.DryRun {
		t.Fatalf("dry replay %+v", out)
	}
	if out := post("/v1/dead/purge", `{"pipeline":"dm"}`); out.Purged != 1 {
		t.Fatalf("purge %+v", out)
	}
	if status, _, body := r.do(t, http.MethodGet, "/v1/dead", "", nil); status != http.StatusOK || !strings.Contains(string(body), `"letters":[]`) {
		t.Fatalf("after purge: %d %s", status, body)
	}
	if status, _, body := r.do(t, http.MethodPost, "/v1/dead/purge", "application/json", strings.NewReader(`{"pipeline":"nope"}`)); status != http.StatusBadRequest {
		t.Fatalf("unknown pipeline: %d %s", status, body)
	}
}
