package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/pipelines/receipts/registrar"
)

// startSim runs `ration args...` until the test ends and returns its
// ready line; the test fails if the command then ends with an error.
func startSim(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	root.SetArgs(args)
	out, w := io.Pipe()
	root.SetOut(w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := root.ExecuteContext(ctx)
		w.CloseWithError(err) // a command that fails before ready ends the read below
		done <- err
	}()
	r := bufio.NewReader(out)
	line, readErr := r.ReadString('\n')
	drained := make(chan struct{})
	go func() { // nothing more is expected, but a write must not block the command
		_, _ = io.Copy(io.Discard, r)
		close(drained)
	}()
	stop := func() error {
		cancel()
		err := <-done
		<-drained
		return err
	}
	if readErr != nil {
		if err := stop(); err != nil {
			return "", err
		}
		t.Fatalf("ration %v printed no ready line: %v", args, readErr)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("ration %v: %v", args, err)
		}
	})
	return line, nil
}

// TestSimRegistrars: `ration sim tax` and `ration sim logistics` print
// their URL when ready, register receipts with their own prefix, and
// start with the faults their flags give.
func TestSimRegistrars(t *testing.T) {
	for _, svc := range []registrar.Service{registrar.TaxOffice, registrar.Logistics} {
		t.Run(svc.Name, func(t *testing.T) {
			line, err := startSim(t, "sim", svc.Name, "--http", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`^ration sim ` + svc.Name + ` ready url=(http://127\.0\.0\.1:\d+)\n$`).FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("ready line %q", line)
			}
			c, err := registrar.New(m[1], nil)
			if err != nil {
				t.Fatal(err)
			}
			n, err := c.Register(t.Context(), "k1", map[string]any{
				"receipt_id": "R-1", "client": "acme", "total": 4.7, "currency": "EUR", "issued_at": "2025-03-01T10:00:00Z"})
			if err != nil || n != svc.Number("k1") || !strings.HasPrefix(n, svc.Prefix) {
				t.Fatalf("Register: %q, %v; want %s", n, err, svc.Number("k1"))
			}
		})
	}
	t.Run("fault flags", func(t *testing.T) {
		line, err := startSim(t, "sim", "tax", "--http", "127.0.0.1:0", "--latency", "2ms", "--error-rate", "0.25",
			"--lost-reply-rate", "0.5", "--refuse-rate", "0.125", "--down-for", "3600")
		if err != nil {
			t.Fatal(err)
		}
		var faults map[string]any
		getSimJSON(t, strings.TrimSpace(strings.TrimPrefix(line, "ration sim tax ready url="))+"/admin/faults", &faults)
		for k, v := range map[string]any{"latency_ms": 2.0, "error_rate": 0.25, "lost_reply_rate": 0.5, "refuse_rate": 0.125} {
			if faults[k] != v {
				t.Errorf("%s = %v, want %v", k, faults[k], v)
			}
		}
		if faults["down_until"] == nil {
			t.Errorf("faults %v: not down after --down-for 3600", faults)
		}
	})
	t.Run("bad fault flag", func(t *testing.T) {
		if _, err := startSim(t, "sim", "logistics", "--http", "127.0.0.1:0", "--refuse-rate", "1.5"); err == nil || !strings.Contains(err.Error(), "refuse rate") {
			t.Fatalf("--refuse-rate 1.5: %v, want an error", err)
		}
	})
}

// TestSimDMChecker: `ration sim` still serves the DM checker simulator.
func TestSimDMChecker(t *testing.T) {
	line, err := startSim(t, "sim", "--http", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^ration sim ready url=(http://127\.0\.0\.1:\d+)/check/\{user_id\}\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("ready line %q", line)
	}
	var got struct {
		OpenDM bool `json:"open_dm"`
	}
	getSimJSON(t, m[1]+"/check/alice", &got)
	if got.OpenDM != dm.Answer("alice") {
		t.Fatalf("open_dm %v for alice, want %v", got.OpenDM, dm.Answer("alice"))
	}
}

func getSimJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
