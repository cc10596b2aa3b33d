package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/pipeline/pipelinetest"
	"github.com/rationhq/ration/pipelines/receipts"
)

const receiptSamples = "../../docs/receipts"

// receiptsRig is the receipts API (no authentication, no ClickHouse) in
// front of an in-process Kafka.
type receiptsRig struct {
	kafka *kafkatest.Kafka
	url   string
}

func newReceiptsRig(t *testing.T) *receiptsRig {
	t.Helper()
	r := &receiptsRig{kafka: pipelinetest.Kafka(t, 2, receipts.New())}
	tasks := &api.Tasks{}
	routes, err := receipts.Routes(api.Backends{Kafka: r.kafka.Client, KafkaOpts: []kgo.Opt{kgo.SeedBrokers(r.kafka.Addrs()...)},
		Codec: r.kafka.Codec, Config: api.Defaults(), Tasks: tasks})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tasks.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if err := tasks.Ready(rctx); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Defaults(), api.Deps{Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	r.url = hs.URL
	return r
}

func (r *receiptsRig) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(append([]string{"receipts", "--api", r.url}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// TestReceiptsCommands: types are put, listed and shown; receipts in JSON
// and XML submitted, one line each, a repeat said to be one, an invalid
// receipt refused with its reasons (and the command failing at the end),
// and the status of one read back.
func TestReceiptsCommands(t *testing.T) {
	r := newReceiptsRig(t)
	out, _, err := r.run(t, "types", "put", "retail", filepath.Join(receiptSamples, "types", "retail.json"))
	if err != nil || !strings.Contains(out, "type retail in force") {
		t.Fatalf("put: %q, %v", out, err)
	}
	broken := filepath.Join(t.TempDir(), "broken.json")
	if err := os.WriteFile(broken, []byte(`{"schema": {"type": 12}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := r.run(t, "types", "put", "broken", broken); err == nil || !strings.Contains(errOut, "/schema") {
		t.Fatalf("a broken type: %q, %v", errOut, err)
	}
	out, _, err = r.run(t, "types", "list")
	if err != nil || !strings.Contains(out, "retail") || !strings.Contains(out, "A shop's receipt") {
		t.Fatalf("list: %q, %v", out, err)
	}
	if out, _, err = r.run(t, "types", "show", "retail"); err != nil || !strings.Contains(out, `"lines_add_up_to_total"`) {
		t.Fatalf("show: %q, %v", out, err)
	}

	json, xml := filepath.Join(receiptSamples, "samples", "retail.json"), filepath.Join(receiptSamples, "samples", "retail.xml")
	out, _, err = r.run(t, "submit", json, xml)
	if err != nil || strings.Count(out, "RECEIVED") != 2 || !strings.Contains(out, "anonymous:R-2026-000001") {
		t.Fatalf("submit: %q, %v", out, err)
	}
	invalid := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(invalid, []byte(`{"type": "retail", "receipt_id": "X-1", "total": -1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = r.run(t, "submit", json, invalid)
	if err == nil || !strings.Contains(out, "(sent before)") || !strings.Contains(out, "refused") || !strings.Contains(out, "currency") {
		t.Fatalf("a repeat and an invalid receipt: %q, %v", out, err)
	}
	if out, _, err = r.run(t, "status", "anonymous:R-2026-000001"); err != nil || !strings.Contains(out, "RECEIVED") {
		t.Fatalf("status: %q, %v", out, err)
	}
	if _, _, err = r.run(t, "submit", writeLines(t, "not a receipt")); err == nil {
		t.Fatal("a .txt file was sent")
	}
}
