package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/deadletter"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/pipeline/pipelinetest"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/reprocess"
	"github.com/twmb/franz-go/pkg/kgo"
)

// dmRig is the HTTP API in front of an in-process Kafka, counting the
// write requests it gets.
type dmRig struct {
	kafka  *kafkatest.Kafka
	reader *apitest.Reader
	url    string
	writes atomic.Int64
	// runs are the reprocessing runs asked for.
	runs chan reprocess.Request
}

func newDMRig(t *testing.T) *dmRig {
	t.Helper()
	r := &dmRig{kafka: pipelinetest.Kafka(t, 2, dm.New()), reader: apitest.NewReader(), runs: make(chan reprocess.Request, 10)}
	dead, err := deadletter.New([]kgo.Opt{kgo.SeedBrokers(r.kafka.Addrs()...)}, dm.New().DeadTopic(dm.StageCheck))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	routes := dm.RoutesWith(api.Backends{Kafka: r.kafka.Client, Codec: r.kafka.Codec, Config: api.Defaults()}, r.reader)
	srv, err := api.New(api.Defaults(), api.Deps{Routes: routes,
		DeadLetters: []api.DeadLetterSet{{Key: ration.DeadLetterKey{Pipeline: dm.Name, Stage: dm.StageCheck}, Letters: dead}},
		Reprocessor: reprocessorFunc(func(req reprocess.Request) reprocess.Report {
			r.runs <- req
			return reprocess.Report{DryRun: req.DryRun, Selected: 3, Resent: 2, Failed: 1, Items: []reprocess.ItemAction{
				{Pipeline: "dm", ItemID: "u1", Stage: "check", Status: "REPROCESS", RetryCount: 1, Action: "resend"},
				{Pipeline: "dm", ItemID: "u2", Stage: "check", Status: "REPROCESS", RetryCount: 3, Action: "fail"},
			}}
		})})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost {
			r.writes.Add(1)
		}
		srv.Handler().ServeHTTP(w, req)
	}))
	t.Cleanup(hs.Close)
	r.url = hs.URL
	return r
}

// reprocessorFunc answers reprocessing runs in the rig: what the CLI sends
// and prints is under test here, not the reprocessor.
type reprocessorFunc func(reprocess.Request) reprocess.Report

func (f reprocessorFunc) Run(_ context.Context, req reprocess.Request) (reprocess.Report, error) {
	return f(req), nil
}

// run runs `ration dm` with args against the rig's API.
func (r *dmRig) run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	return r.runCommand(t, stdin, "dm", args...)
}

// runCommand runs `ration command` with args against the rig's API.
func (r *dmRig) runCommand(t *testing.T, stdin, command string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(append([]string{command, "--api", r.url}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func writeLines(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ids.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDMImportSendsBatches(t *testing.T) {
	r := newDMRig(t)
	lines := make([]string, 25_000)
	for i := range lines {
		lines[i] = fmt.Sprintf("user-%05d", i)
	}
	out, _, err := r.run(t, "", "import", "--progress", writeLines(t, lines...))
	if err != nil {
		t.Fatal(err)
	}
	if want := "imported 25000 users (25000 ids read, 3 requests)"; !strings.Contains(out, want) {
		t.Fatalf("output %q, want %q", out, want)
	}
	if n := r.writes.Load(); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
	if n := r.kafka.EndOffsets(t)[dm.TopicUsers]; n != 25_000 {
		t.Fatalf("%d users registered, want 25 000", n)
	}
}

func TestDMImportChecksTheFileFirst(t *testing.T) {
	r := newDMRig(t)
	_, _, err := r.run(t, "", "import", writeLines(t, "alice", "bob", "no spaces please", "carol"))
	if err == nil || !strings.Contains(err.Error(), `ids.txt:3: "no spaces please"`) {
		t.Fatalf("err = %v, want the bad line", err)
	}
	if n := r.writes.Load(); n != 0 {
		t.Fatalf("%d requests sent for a bad file", n)
	}
}

func TestDMImportFromStdin(t *testing.T) {
	r := newDMRig(t)
	out, _, err := r.run(t, "# comment\na\nb # inline comment\n\n  c  \n", "--batch", "2", "import", "-")
	if err != nil || !strings.Contains(out, "imported 3 users (3 ids read, 2 requests)") {
		t.Fatalf("%q, %v", out, err)
	}
}

func TestDMMark(t *testing.T) {
	r := newDMRig(t)
	out, _, err := r.run(t, "", "mark", "alice", "bob", "alice")
	if err != nil || strings.TrimSpace(out) != "marked 2 users (priority normal)" {
		t.Fatalf("%q, %v", out, err)
	}
	out, _, err = r.run(t, "", "mark", "--priority", "high", "-f", writeLines(t, "carol", "dave", "erin"))
	if err != nil || strings.TrimSpace(out) != "marked 3 users (priority high)" {
		t.Fatalf("%q, %v", out, err)
	}
	offs := r.kafka.EndOffsets(t)
	if offs[dm.TopicChecks] != 2 || offs[dm.TopicChecksHigh] != 3 || offs[dm.TopicUsers] != 0 {
		t.Fatalf("records %v", offs)
	}
	if _, _, err := r.run(t, "", "mark", "--priority", "urgent", "alice"); err == nil || !strings.Contains(err.Error(), `priority "urgent"`) {
		t.Fatalf("bad priority: %v, want the server's message", err)
	}
	if _, _, err := r.run(t, "", "mark"); err == nil {
		t.Fatal("mark without ids succeeded")
	}
}

func TestDMStatusListStats(t *testing.T) {
	r := newDMRig(t)
	high, yes := "high", true
	at := time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	r.reader.Put(
		ration.DMUser{UserID: "alice", State: ration.DMChecked, Priority: &high, MarkedAt: ration.NewTimestamp(at),
			CheckedAt: ration.NewTimestamp(at.Add(time.Second)), OpenDM: &yes, Attempts: 1},
		ration.DMUser{UserID: "bob", State: ration.DMChecked},
		ration.DMUser{UserID: "carol", State: ration.DMChecked},
	)
	r.reader.SetStats(ration.DMStats{Unmarked: 7, Checked: 3, OldestPendingAgeSeconds: 2.5})

	out, _, err := r.run(t, "", "status", "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"state     checked", "priority  high", "marked    2025-03-04T05:06:07.890Z", "open DM   yes", "attempts  1"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	out, _, err = r.run(t, "", "status", "--json", "bob")
	var u map[string]any
	if err != nil || json.Unmarshal([]byte(out), &u) != nil || u["state"] != "checked" || u["open_dm"] != nil {
		t.Fatalf("status --json: %q, %v", out, err)
	}
	if _, _, err := r.run(t, "", "status", "nobody"); err == nil || !strings.Contains(err.Error(), `user "nobody" not found`) {
		t.Fatalf("unknown user: %v", err)
	}

	out, errOut, err := r.run(t, "", "list", "--state", "checked", "--limit", "2")
	if err != nil || strings.Count(out, "\n") != 3 || !strings.Contains(errOut, "--cursor after:bob") {
		t.Fatalf("one page: %q %q %v", out, errOut, err)
	}
	out, _, err = r.run(t, "", "list", "--state", "checked", "--limit", "2", "--all")
	if err != nil || !strings.HasPrefix(out, "USER") || !strings.Contains(out, "carol") || strings.Count(out, "\n") != 4 {
		t.Fatalf("--all: %q %v", out, err)
	}
	if _, _, err := r.run(t, "", "list", "--state", "done"); err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("bad state: %v", err)
	}

	out, _, err = r.run(t, "", "stats")
	if err != nil || !strings.Contains(out, "unmarked             7") || !strings.Contains(out, "oldest pending: 2.5s") {
		t.Fatalf("stats: %q %v", out, err)
	}
}

func TestDMAPIFromEnvironment(t *testing.T) {
	r := newDMRig(t)
	t.Setenv("RATION_API", r.url)
	root := newRootCmd()
	var out bytes.Buffer
	root.SetArgs([]string{"dm", "mark", "zed"})
	root.SetOut(&out)
	if err := root.ExecuteContext(context.Background()); err != nil || !strings.Contains(out.String(), "marked 1 users") {
		t.Fatalf("%q, %v", out.String(), err)
	}
}
