package chaos

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one role of the stack run as a process of the ration binary,
// started again with the same arguments (so the same ports and instance
// id) after each fault.
type proc struct {
	name  string
	bin   string
	args  []string
	env   []string
	ready string // part of the output line that says it is up; "" for none

	logMu   sync.Mutex
	log     io.Writer // stdout and stderr of every incarnation, appended
	logFile string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startTimeout bounds the wait for a role's ready line.
const startTimeout = time.Minute

// start starts the process and, if it has a ready line, waits for it.
func (p *proc) start(ctx context.Context) error {
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	var once sync.Once
	ready := make(chan struct{})
	done := make(chan struct{})
	var scanners sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		scanners.Go(func() {
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				p.logLine(line)
				if p.ready != "" && strings.Contains(line, p.ready) {
					once.Do(func() { close(ready) })
				}
			}
		})
	}
	go func() {
		scanners.Wait() // the pipes must be read to their end before Wait
		_ = cmd.Wait()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	if p.ready == "" {
		return nil
	}
	select {
	case <-ready:
		return nil
	case <-done:
		return fmt.Errorf("%s exited before it was ready (see %s)", p.name, p.logFile)
	case <-time.After(startTimeout):
		p.kill()
		return fmt.Errorf("%s not ready within %v (see %s)", p.name, startTimeout, p.logFile)
	case <-ctx.Done():
		p.kill()
		return ctx.Err()
	}
}

// logLine appends one line of the process's output to its log.
func (p *proc) logLine(line string) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	_, _ = io.WriteString(p.log, line+"\n")
}

// signal sends sig to the running process.
func (p *proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return errors.New(p.name + " is not running")
	}
	return p.cmd.Process.Signal(sig)
}

// take returns the running process, resumed (a stopped process acts on a
// signal only once resumed), and forgets it; nil when none runs.
func (p *proc) take() (*exec.Cmd, <-chan struct{}) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	return cmd, done
}

// kill crashes the process (SIGKILL) and waits for it to exit.
func (p *proc) kill() {
	cmd, done := p.take()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// crash kills the process with SIGKILL and starts it again.
func (p *proc) crash(ctx context.Context) error {
	p.kill()
	return p.start(ctx)
}

// stop asks the process to stop (SIGTERM) and kills it if it has not
// within grace.
func (p *proc) stop(grace time.Duration) {
	cmd, done := p.take()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}
