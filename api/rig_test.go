package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/processor/deadletter"
	"github.com/rationhq/ration/producer"
	"github.com/rationhq/ration/schemas"
)

// rig is an API server in front of a real in-process Kafka and schema
// registry, with an in-memory read side, a client registry that follows
// the Kafka topic, and an admin key that requests carry unless told
// otherwise.
type rig struct {
	*apitest.Kafka
	reader  *apitest.Reader
	reg     *prometheus.Registry
	clients *auth.Store
	srv     *Server
	http    *httptest.Server
	key     string // sent as the bearer key by do; "" sends none
	logs    *syncBuffer
	// reprocessor answers POST /v1/reprocess/runs.
	reprocessor *stubReprocessor
	// buckets answers GET /v1/pipelines.
	buckets *stubBuckets
}

func newRig(t *testing.T, tune func(*Config)) *rig {
	t.Helper()
	return newServerOn(t, apitest.NewKafka(t), tune)
}

// peer starts another API server (another node) on r's Kafka, with its own
// registry and follower.
func (r *rig) peer(t *testing.T) *rig {
	t.Helper()
	p := newServerOn(t, r.Kafka, nil)
	p.key = r.key
	return p
}

func newServerOn(t *testing.T, k *apitest.Kafka, tune func(*Config)) *rig {
	t.Helper()
	return newServerWith(t, k, tune, nil)
}

func newServerWith(t *testing.T, k *apitest.Kafka, tune func(*Config), workers auth.WorkerProvisioner) *rig {
	t.Helper()
	cfg := Defaults()
	cfg.Addr = "127.0.0.1:0"
	if tune != nil {
		tune(&cfg)
	}
	reg := apitest.FollowClients(t, k)
	r := &rig{Kafka: k, reader: apitest.NewReader(), reg: prometheus.NewRegistry(),
		clients: auth.NewStore(reg, k.Client, k.Codec), logs: &syncBuffer{}, reprocessor: &stubReprocessor{},
		buckets: &stubBuckets{}}
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dead, err := deadletter.New([]kgo.Opt{kgo.SeedBrokers(k.Addrs()...)}, schemas.TopicDMDead)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	parked, err := deadletter.New([]kgo.Opt{kgo.SeedBrokers(k.Addrs()...)}, schemas.TopicDMParked)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(parked.Close)
	r.srv, err = New(cfg, Deps{DM: producer.NewDM(k.Client, k.Codec), Reader: r.reader, History: r.reader, Registry: r.reg,
		DeadLetters: map[string]ration.DeadLetters{"dm": dead, "dm" + ParkedSuffix: parked}, Reprocessor: r.reprocessor,
		Clients: reg, ClientStore: r.clients, Audit: producer.NewAudit(k.Client, k.Codec, log), Log: log,
		Workers: workers, Buckets: r.buckets})
	if err != nil {
		t.Fatal(err)
	}
	r.http = httptest.NewServer(r.srv.Handler())
	t.Cleanup(r.http.Close)
	if _, ok := reg.Client("rig-admin"); !ok {
		r.key = r.addKey(t, "rig-admin", schemas.ScopeAdmin)
	}
	return r
}

// addKey registers an API client and returns its key.
func (r *rig) addKey(t *testing.T, name string, scope schemas.Scope) string {
	t.Helper()
	key, err := r.clients.CreateKey(context.Background(), name, scope)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// as returns a copy of r whose requests carry key.
func (r *rig) as(key string) *rig {
	c := *r
	c.key = key
	return &c
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
	if r.key != "" {
		req.Header.Set("Authorization", "Bearer "+r.key)
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
