package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/chserver/chtest"
)

var readyLine = regexp.MustCompile(`^ration ready api=(http://127\.0\.0\.1:\d+) kafka=(127\.0\.0\.1:\d+) registry=(http://127\.0\.0\.1:\d+) clickhouse=(127\.0\.0\.1:\d+) tax=(http://127\.0\.0\.1:\d+) logistics=(http://127\.0\.0\.1:\d+)$`)

// devProcess is a running `ration dev`.
type devProcess struct {
	cmd    *exec.Cmd
	ready  []string // api, kafka, registry, clickhouse
	stderr *bytes.Buffer
	done   chan error
	key    string
}

func startDev(t *testing.T, dir string) *devProcess {
	t.Helper()
	cmd := exec.Command(rationBin, "dev", "--data-dir", dir,
		"--http", "127.0.0.1:0", "--kafka", "127.0.0.1:0", "--registry", "127.0.0.1:0",
		"--session-timeout", "3s", "--flush-interval", "200ms")
	cmd.Env = childEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &devProcess{cmd: cmd, stderr: new(bytes.Buffer), done: make(chan error, 1)}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		d.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	timeout := time.After(2 * time.Minute)
	for d.ready == nil {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("ration dev exited before it was ready:\n%s", d.stderr)
			}
			if m := readyLine.FindStringSubmatch(l); m != nil {
				d.ready = m[1:]
			} else if strings.HasPrefix(l, "ration ready") {
				t.Fatalf("malformed ready line %q", l)
			}
		case <-timeout:
			t.Fatalf("ration dev not ready after 2 minutes:\n%s", d.stderr)
		}
	}
	go func() {
		for range lines { // keep draining stdout
		}
	}()
	if b, err := os.ReadFile(filepath.Join(dir, "admin.key")); err == nil {
		d.key = strings.TrimSpace(string(b))
	}
	return d
}

// interrupt sends Ctrl-C and waits for a clean exit.
func (d *devProcess) interrupt(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("ration dev exited with %v after Ctrl-C:\n%s", err, d.stderr)
		}
	case <-time.After(time.Minute):
		t.Fatalf("ration dev still running a minute after Ctrl-C:\n%s", d.stderr)
	}
}

// do calls the API and fails t on any answer but a success.
func (d *devProcess) do(t *testing.T, method, path string, body, out any) {
	t.Helper()
	if status := d.call(t, method, path, body, out); status >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, status, http.StatusText(status))
	}
}

// call calls the API and returns the answer's status, having decoded a
// success into out.
func (d *devProcess) call(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, d.ready[0]+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if d.key != "" {
		req.Header.Set("Authorization", "Bearer "+d.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// TestDevRestartKeepsEverything runs the real `ration dev`: it prints the
// ready line, checks marked users, stops cleanly on Ctrl-C, and a restart
// on the same data dir comes back on the same addresses with the same
// states and counts.
func TestDevRestartKeepsEverything(t *testing.T) {
	chtest.Require(t)
	dir := t.TempDir()
	d := startDev(t, dir)
	users := make([]string, 300)
	for i := range users {
		users[i] = fmt.Sprintf("dev-user-%03d", i)
	}
	d.do(t, "POST", "/v1/dm/users", map[string]any{"user_ids": users}, nil)
	d.do(t, "POST", "/v1/dm/checks", map[string]any{"user_ids": users[:200]}, nil)

	var before ration.DMStats
	deadline := time.Now().Add(time.Minute)
	for before.Checked != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("200 marks not checked after a minute: %+v", before)
		}
		time.Sleep(100 * time.Millisecond)
		d.do(t, "GET", "/v1/dm/stats", nil, &before)
	}
	// A user's state is stored from another topic than the counts, and
	// the sink inserts the users' table after the others, so it may
	// trail them by a sink batch: the user may not be there yet (404).
	var user ration.DMUser
	for user.State != ration.DMChecked {
		if time.Now().After(deadline) {
			t.Fatalf("%s not checked after a minute: %+v", users[0], user)
		}
		if status := d.call(t, "GET", "/v1/dm/users/"+users[0], nil, &user); status >= 300 && status != http.StatusNotFound {
			t.Fatalf("GET /v1/dm/users/%s: %d", users[0], status)
		}
		if user.State != ration.DMChecked {
			time.Sleep(100 * time.Millisecond) // the sink announces nothing: poll
		}
	}
	d.interrupt(t)

	again := startDev(t, dir)
	// Kafka, the registry and ClickHouse keep their ports (the simulated
	// services, which keep nothing, take free ones).
	if strings.Join(again.ready[1:4], " ") != strings.Join(d.ready[1:4], " ") {
		t.Errorf("restart moved kafka/registry/clickhouse from %v to %v", d.ready[1:4], again.ready[1:4])
	}
	var after ration.DMStats
	again.do(t, "GET", "/v1/dm/stats", nil, &after)
	if after != before {
		t.Fatalf("stats after restart %+v, before %+v", after, before)
	}
	var userAfter ration.DMUser
	again.do(t, "GET", "/v1/dm/users/"+users[0], nil, &userAfter)
	if userAfter.State != user.State || !userAfter.CheckedAt.Equal(user.CheckedAt.Time) {
		t.Fatalf("user after restart %+v, before %+v", userAfter, user)
	}
	again.interrupt(t)
}
