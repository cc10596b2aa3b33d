package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rationhq/ration/internal/await"
)

// Messages the stage runtime logs when its buckets change.
const (
	msgAssigned = "buckets assigned"
	msgRevoked  = "buckets revoked"
	msgLost     = "buckets lost"
	msgAborted  = "transaction aborted after a rebalance; its records will be processed again"
)

// logLine is one line a worker wrote to stderr.
type logLine struct {
	Time  time.Time // the worker's own timestamp; zero on a non-JSON line
	Msg   string
	Attrs map[string]any
	Raw   string
}

func parseLine(raw string) logLine {
	l := logLine{Raw: raw}
	if err := json.Unmarshal([]byte(raw), &l.Attrs); err != nil {
		return l
	}
	l.Msg, _ = l.Attrs["msg"].(string)
	if s, ok := l.Attrs["time"].(string); ok {
		l.Time, _ = time.Parse(time.RFC3339Nano, s)
	}
	return l
}

// bucket is one partition of one topic.
type bucket struct {
	Topic     string
	Partition int32
}

func (b bucket) String() string { return b.Topic + "/" + strconv.Itoa(int(b.Partition)) }

// buckets returns the line's "partitions" attribute (topic -> partitions).
func (l logLine) buckets() []bucket {
	byTopic, _ := l.Attrs["partitions"].(map[string]any)
	var out []bucket
	for topic, ps := range byTopic {
		list, _ := ps.([]any)
		for _, p := range list {
			if f, ok := p.(float64); ok {
				out = append(out, bucket{topic, int32(f)})
			}
		}
	}
	return out
}

// worker is one `ration worker dm` process.
type worker struct {
	id    string
	board *await.Board
	cmd   *exec.Cmd
	lines []logLine // stderr, parsed; guarded by board
	part  []byte    // an unfinished stderr line
	out   bytes.Buffer
	done  chan struct{} // closed once the process is reaped
	state *os.ProcessState
}

// dmWorkerArgs are the flags every test worker gets; later flags given to
// startWorker override them.
func (c *cluster) dmWorkerArgs(id string) []string {
	return []string{"worker", "dm", "--stage", "check",
		"--kafka", c.addr, "--registry", c.registry, "--instance-id", id,
		"--session-timeout", "3s", "--metrics=", "--log-format", "json", "--log-level", "info",
		// A line per check would be most of the log at 200 000 checks.
		"--item-log-level", "debug"}
}

// startWorker starts a DM worker process and reaps it when the test ends,
// killing it if it still runs. Its logs go to the test's output if the
// test failed.
func (c *cluster) startWorker(t *testing.T, id string, flags ...string) *worker {
	t.Helper()
	return c.startProcess(t, id, append(c.dmWorkerArgs(id), flags...)...)
}

// startProcess starts a ration command as a watched process and reaps it
// when the test ends, killing it if it still runs. Its logs go to the
// test's output if the test failed.
func (c *cluster) startProcess(t *testing.T, id string, args ...string) *worker {
	t.Helper()
	w := &worker{id: id, board: c.board, done: make(chan struct{})}
	w.cmd = exec.Command(rationBin, args...)
	w.cmd.Env = childEnv()
	w.cmd.Stdout = (*stdoutSink)(w)
	w.cmd.Stderr = (*stderrSink)(w)
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
	go func() {
		_ = w.cmd.Wait()
		w.board.Update(func() { w.state = w.cmd.ProcessState })
		close(w.done)
	}()
	t.Cleanup(func() {
		if !w.exited() {
			_ = w.cmd.Process.Signal(syscall.SIGKILL)
			<-w.done
		}
		if t.Failed() {
			w.dump(t)
		}
	})
	return w
}

// childEnv is this process's environment without RATION_* variables,
// which would set the workers' flags behind the test's back.
func childEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "RATION_") })
}

// stderrSink splits a worker's stderr into lines as they arrive.
type stderrSink worker

func (s *stderrSink) Write(p []byte) (int, error) {
	w := (*worker)(s)
	w.board.Update(func() {
		w.part = append(w.part, p...)
		for {
			i := bytes.IndexByte(w.part, '\n')
			if i < 0 {
				break
			}
			w.lines = append(w.lines, parseLine(string(w.part[:i])))
			w.part = w.part[i+1:]
		}
	})
	return len(p), nil
}

// stdoutSink keeps a worker's stdout (workers print nothing there; it is
// kept for failure messages).
type stdoutSink worker

func (s *stdoutSink) Write(p []byte) (int, error) {
	w := (*worker)(s)
	w.board.Update(func() { w.out.Write(p) })
	return len(p), nil
}

func (w *worker) exited() (done bool) {
	w.board.Read(func() { done = w.state != nil })
	return done
}

// mark returns the number of lines so far: a position to await from.
func (w *worker) mark() (n int) {
	w.board.Read(func() { n = len(w.lines) })
	return n
}

// find returns the first line at or after from that matches, and its
// index, or -1.
func (w *worker) find(from int, match func(logLine) bool) (line logLine, at int) {
	at = -1
	w.board.Read(func() {
		for i := from; i < len(w.lines); i++ {
			if match(w.lines[i]) {
				line, at = w.lines[i], i
				return
			}
		}
	})
	return line, at
}

// await waits for a line at or after from that matches; it fails the test
// on timeout or if the worker exits first.
func (w *worker) await(t *testing.T, timeout time.Duration, from int, what string, match func(logLine) bool) (logLine, int) {
	t.Helper()
	var (
		line logLine
		at   = -1
	)
	w.board.Await(timeout, func() bool {
		line, at = w.find(from, match)
		return at >= 0 || w.exited()
	})
	if at < 0 {
		if w.exited() {
			t.Fatalf("worker %s exited (%v) before logging %s", w.id, w.state, what)
		}
		t.Fatalf("worker %s did not log %s within %v", w.id, what, timeout)
	}
	return line, at
}

// msg matches lines with one of the messages.
func msg(msgs ...string) func(logLine) bool {
	return func(l logLine) bool { return slices.Contains(msgs, l.Msg) }
}

// owned replays the worker's assigned/revoked/lost lines before line upto
// (-1: all) into the buckets it owned then. Assignments are incremental
// under the cooperative-sticky balancer, so the last "buckets assigned"
// alone is not what a worker owns.
func (w *worker) owned(upto int) map[bucket]bool {
	own := make(map[bucket]bool)
	w.board.Read(func() {
		if upto < 0 || upto > len(w.lines) {
			upto = len(w.lines)
		}
		for _, l := range w.lines[:upto] {
			switch l.Msg {
			case msgAssigned:
				for _, b := range l.buckets() {
					own[b] = true
				}
			case msgRevoked, msgLost:
				for _, b := range l.buckets() {
					delete(own, b)
				}
			}
		}
	})
	return own
}

// signal sends sig to the worker.
func (w *worker) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := w.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to worker %s: %v", sig, w.id, err)
	}
}

// kill crashes the worker (SIGKILL) and reaps it.
func (w *worker) kill(t *testing.T) {
	t.Helper()
	w.signal(t, syscall.SIGKILL)
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("worker %s not reaped 10s after SIGKILL", w.id)
	}
}

// terminate stops the worker gracefully (SIGTERM) and fails the test
// unless it exits cleanly within timeout.
func (w *worker) terminate(t *testing.T, timeout time.Duration) {
	t.Helper()
	if w.exited() {
		t.Fatalf("worker %s had already exited: %v", w.id, w.state)
	}
	w.signal(t, syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(timeout):
		t.Fatalf("worker %s still running %v after SIGTERM", w.id, timeout)
	}
	if !w.state.Success() {
		t.Fatalf("worker %s exited with %v after SIGTERM", w.id, w.state)
	}
}

// stop stalls the worker (SIGSTOP) and returns once the kernel reports it
// stopped.
func (w *worker) stop(t *testing.T) time.Time {
	t.Helper()
	w.signal(t, syscall.SIGSTOP)
	deadline := time.Now().Add(5 * time.Second)
	for procState(w.cmd.Process.Pid) != 'T' {
		if time.Now().After(deadline) {
			t.Fatalf("worker %s not stopped 5s after SIGSTOP", w.id)
		}
		time.Sleep(time.Millisecond) // polling /proc; the kernel sends no event
	}
	return time.Now()
}

// procState is the state letter of /proc/PID/stat ('T' when stopped).
func procState(pid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name in parentheses may hold spaces; the state follows it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// dump writes the worker's output to the test log, the last lines first
// cut to keep failures readable.
func (w *worker) dump(t *testing.T) {
	const keep = 80
	var (
		lines []string
		out   string
		state *os.ProcessState
	)
	w.board.Read(func() {
		state = w.state
		for _, l := range w.lines[max(0, len(w.lines)-keep):] {
			lines = append(lines, l.Raw)
		}
		if len(w.part) > 0 {
			lines = append(lines, string(w.part))
		}
		out = w.out.String()
	})
	t.Logf("worker %s (%s) stderr, last %d lines:\n%s\nstdout:\n%s", w.id, fmtState(state), keep, strings.Join(lines, "\n"), out)
}

func fmtState(s *os.ProcessState) string {
	if s == nil {
		return "running"
	}
	return fmt.Sprint(s)
}
