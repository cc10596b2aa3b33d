package chserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Server is a running (or stopped) clickhouse-server child process. Its
// methods are safe for concurrent use.
type Server struct {
	cfg    Config
	layout layout

	mu    sync.Mutex
	ports ports
	proc  *process // nil while stopped
}

// process is one run of the server binary.
type process struct {
	pid  int
	done chan struct{} // closed once the process has exited
	err  error         // the exit status; read only after done is closed
}

// Start writes the config under cfg.Dir, starts the server and waits until
// it answers SELECT 1 over the native protocol. On failure the error carries
// the tail of the server's logs.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("chserver: data dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chserver: data dir: %w", err)
	}
	cfg.Dir = dir
	s := &Server{cfg: cfg, layout: layout{dir: dir}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr returns the native protocol address, host:port.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return net.JoinHostPort(loopback, strconv.Itoa(s.ports.TCP))
}

// HTTPAddr returns the HTTP interface's address, host:port.
func (s *Server) HTTPAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return net.JoinHostPort(loopback, strconv.Itoa(s.ports.HTTP))
}

// Dir returns the absolute data directory.
func (s *Server) Dir() string { return s.cfg.Dir }

// Stop sends SIGTERM and waits for the server to exit, sending SIGKILL
// after Config.StopTimeout (and then returning an error). Stopping a
// stopped server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stop()
}

// Kill sends SIGKILL and waits for the server to exit, as a crash would.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	p.signal(syscall.SIGKILL)
	<-p.done
	s.cfg.Log.Info("clickhouse killed", "addr", s.addrLocked(), "pid", p.pid)
	return nil
}

// Restart stops the server if it runs and starts it again on the same dir
// and the same ports (new ones only if another process took them meanwhile).
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stop(); err != nil {
		return err
	}
	return s.start(ctx)
}

func (s *Server) addrLocked() string {
	return net.JoinHostPort(loopback, strconv.Itoa(s.ports.TCP))
}

func (s *Server) stop() error {
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	p.signal(syscall.SIGTERM)
	timer := time.NewTimer(s.cfg.StopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		// Children the server may have spawned share its group.
		p.signal(syscall.SIGKILL)
		s.cfg.Log.Info("clickhouse stopped", "addr", s.addrLocked(), "pid", p.pid)
		return nil
	case <-timer.C:
	}
	p.signal(syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("chserver: pid %d still running %v after SIGTERM; killed", p.pid, s.cfg.StopTimeout)
}

// errPortTaken is a cluster member's start that failed on a port in use.
var errPortTaken = errors.New("chserver: a port was taken")

// start runs the server on the recorded ports, or on new ones when a port
// turns out to be taken: a free port found by listening can be grabbed by
// someone else before the server binds it.
func (s *Server) start(ctx context.Context) error {
	if m := s.cfg.Member; m != nil {
		p := m.ports()
		if err := s.layout.writeConfig(p, m); err != nil {
			return fmt.Errorf("chserver: %w", err)
		}
		s.ports = p
		clash, err := s.run(ctx)
		if clash {
			// A member's ports are in every member's configuration:
			// StartCluster chooses them all again.
			return fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return err
	}
	const attempts = 3
	var err error
	for i := range attempts {
		var p ports
		if p, err = s.layout.choosePorts(i > 0); err != nil {
			return fmt.Errorf("chserver: %w", err)
		}
		if err = s.layout.writeConfig(p, nil); err != nil {
			return fmt.Errorf("chserver: %w", err)
		}
		s.ports = p
		var clash bool
		if clash, err = s.run(ctx); err == nil || !clash || ctx.Err() != nil {
			return err
		}
		s.cfg.Log.Warn("clickhouse port taken, trying new ports", "tcp", p.TCP, "http", p.HTTP)
	}
	return err
}

// run starts one process and waits until it is ready. clash reports a
// failure caused by a port in use.
func (s *Server) run(ctx context.Context) (clash bool, err error) {
	marks := s.layout.logSizes()
	p, err := s.spawn()
	if err != nil {
		return false, err
	}
	if err := s.waitReady(ctx, p); err != nil {
		p.signal(syscall.SIGKILL)
		<-p.done
		return strings.Contains(s.layout.since(marks), "Address already in use"), err
	}
	s.proc = p
	s.cfg.Log.Info("clickhouse started", "addr", s.addrLocked(), "pid", p.pid, "dir", s.cfg.Dir)
	return false, nil
}

func (s *Server) spawn() (*process, error) {
	out, err := os.OpenFile(s.layout.stdout(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("chserver: open log: %w", err)
	}
	cmd := exec.Command(s.cfg.Binary, serverArgs(s.cfg.Binary, s.layout.config())...)
	cmd.Dir = s.cfg.Dir
	cmd.Stdout, cmd.Stderr = out, out
	// Newer releases fork a watchdog parent by default; one process is
	// easier to signal and to wait for.
	cmd.Env = append(os.Environ(), "CLICKHOUSE_WATCHDOG_ENABLE=0")
	cmd.SysProcAttr = procAttr()

	p := &process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		defer close(p.done)
		defer out.Close()
		// The parent-death signal fires when the thread that forked the
		// child exits, not the process: this goroutine keeps its thread
		// until the child is gone, so an aborted test binary takes its
		// server with it instead of leaking it.
		lockThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.err = cmd.Wait()
	}()
	if err := <-started; err != nil {
		<-p.done
		return nil, fmt.Errorf("chserver: start %s: %w", s.cfg.Binary, err)
	}
	return p, nil
}

// waitReady polls SELECT 1 until it works, the process exits, or the start
// timeout or ctx ends.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StartTimeout)
	defer cancel()
	addr := s.addrLocked()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ping(ctx, addr)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("chserver: server exited during start-up (%v)%s", p.err, s.layout.tail())
		case <-ctx.Done():
			return fmt.Errorf("chserver: no answer on %s: %w (last: %v)%s", addr, ctx.Err(), err, s.layout.tail())
		case <-tick.C:
		}
	}
}

func ping(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{addr},
		Protocol:    clickhouse.Native,
		DialTimeout: time.Second,
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	var one uint8
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return err
	}
	if one != 1 {
		return errors.New("SELECT 1 answered something else")
	}
	return nil
}

// signal signals the process group; a group already gone is not an error.
func (p *process) signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.pid, sig)
}
