package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/schemas"
)

// envWorker holds, in a worker process's environment, its workerSpec as
// JSON.
const envWorker = "RATION_CONFORMANCE_WORKER"

// Child runs this process as a conformance worker if it was started as
// one, and then exits; otherwise it returns at once. Call it first thing
// in TestMain, with every subject the package's tests run:
//
//	func TestMain(m *testing.M) {
//		conformance.Child(subject)
//		os.Exit(m.Run())
//	}
//
// A worker runs every stage of its subject's pipeline until SIGTERM
// (then it finishes its batches and leaves the groups) or SIGKILL, and
// logs JSON to stderr.
func Child(subjects ...Subject) {
	raw, ok := os.LookupEnv(envWorker)
	if !ok {
		return
	}
	os.Exit(child(raw, subjects))
}

func child(raw string, subjects []Subject) int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var spec workerSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		log.Error("bad worker spec", "env", envWorker, "err", err)
		return 2
	}
	var s *Subject
	for i := range subjects {
		if subjects[i].Name == spec.Subject {
			s = &subjects[i]
		}
	}
	if s == nil {
		log.Error("no such subject: pass every subject the tests run to conformance.Child", "subject", spec.Subject)
		return 2
	}
	s.setDefaults()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	codec, err := register(ctx, spec.Registry, s.Pipeline())
	if err != nil {
		log.Error("registering schemas failed", "err", err)
		return 1
	}
	if err := runWorker(ctx, *s, spec, newFaults(spec.Faults), codec, log); err != nil {
		log.Error("worker failed", "err", err)
		return 1
	}
	log.Info("worker stopped")
	return 0
}

// register registers d's schemas with the registry at url and returns
// their codec.
func register(ctx context.Context, url string, d pipeline.Descriptor) (*schemas.Codec, error) {
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		return nil, err
	}
	topics, records := pipeline.Schemas([]pipeline.Descriptor{d})
	return schemas.Register(ctx, cl, topics, records...)
}

// process is a worker process: this test binary started again as a
// conformance worker.
type process struct {
	id    string
	log   *logBook
	cmd   *exec.Cmd
	done  chan struct{} // closed once the process is reaped
	state *os.ProcessState
}

// startProcess starts a worker process with instance id id and reaps it
// when the test ends, killing it if it still runs.
func (c *cluster) startProcess(t *testing.T, id string, f faultSpec) *process {
	t.Helper()
	spec, err := json.Marshal(c.spec(id, f))
	if err != nil {
		t.Fatal(err)
	}
	p := &process{id: id, log: &logBook{board: c.board}, done: make(chan struct{})}
	// -test.run=^$: were Child not called, the binary would run no test
	// and exit, which the check reports.
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	p.cmd.Env = append(os.Environ(), envWorker+"="+string(spec))
	p.cmd.Stderr = p.log
	var stdout bytes.Buffer
	p.cmd.Stdout = &stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start worker %s: %v", id, err)
	}
	go func() {
		_ = p.cmd.Wait()
		c.board.Update(func() { p.state = p.cmd.ProcessState })
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			p.log.dump(t, fmt.Sprintf("%s (pid %d, %v)", id, p.cmd.Process.Pid, p.state))
			if stdout.Len() > 0 {
				t.Logf("worker %s stdout:\n%s", id, stdout.String())
			}
		}
	})
	return p
}

func (p *process) exited() (done bool) {
	p.log.board.Read(func() { done = p.state != nil })
	return done
}

// signal sends sig to the process.
func (p *process) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to worker %s: %v", sig, p.id, err)
	}
}

// kill crashes the worker (SIGKILL) and reaps it.
func (p *process) kill(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("worker %s not reaped 10s after SIGKILL", p.id)
	}
}

// terminate stops the worker gracefully (SIGTERM) and fails t unless it
// exits cleanly within timeout.
func (p *process) terminate(t *testing.T, timeout time.Duration) {
	t.Helper()
	p.signal(t, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("worker %s still running %v after SIGTERM", p.id, timeout)
	}
	if !p.state.Success() {
		t.Fatalf("worker %s exited with %v after SIGTERM", p.id, p.state)
	}
}

// pause stalls the worker (SIGSTOP) and returns once the kernel reports
// it stopped.
func (p *process) pause(t *testing.T) time.Time {
	t.Helper()
	p.signal(t, syscall.SIGSTOP)
	deadline := time.Now().Add(5 * time.Second)
	for procState(p.cmd.Process.Pid) != 'T' {
		if time.Now().After(deadline) {
			t.Fatalf("worker %s not stopped 5s after SIGSTOP", p.id)
		}
		time.Sleep(time.Millisecond) // polling /proc: the kernel sends no event
	}
	return time.Now()
}

// procState is the state letter of /proc/PID/stat ('T' when stopped).
// Without /proc to ask it says 'T': the signal is trusted.
func procState(pid int) byte {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return 'T'
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	// The command name in parentheses may hold spaces; the state follows.
	i := bytes.LastIndexByte(b, ')')
	if err != nil || i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}
