package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/broker"
	"github.com/rationhq/ration/chaos/netcut"
	"github.com/rationhq/ration/internal/freeport"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/kafkaread"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/points"
)

// pointsStack is the stack `ration bench points` runs and breaks: `ration
// dev` without workers of its own, and ledger workers as processes of
// their own, so that a crash is a real SIGKILL; the load reaches the API
// through a proxy that can cut every connection.
type pointsStack struct {
	bin, dir string
	secret   string
	ports    [3]string // api, kafka, registry: kept across restarts
	log      io.Writer

	mu      sync.Mutex
	dev     *exec.Cmd
	devDone chan error
	addrs   map[string]string // from the ready line
	workers []*exec.Cmd
	creds   []apiclient.NewWorker
	proxy   *netcut.Proxy
}

func startPointsStack(ctx context.Context, bin, dir string, workers int, log io.Writer) (*pointsStack, error) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	s := &pointsStack{bin: bin, dir: dir, secret: hex.EncodeToString(secret), log: log}
	ports, err := freeport.Addrs("127.0.0.1", len(s.ports))
	if err != nil {
		return nil, err
	}
	copy(s.ports[:], ports)
	if err := s.startDev(ctx); err != nil {
		return nil, err
	}
	admin := s.Admin()
	for i := range workers {
		w, err := admin.AddWorker(ctx, fmt.Sprintf("bench-ledger-%d", i), points.Name)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("worker credentials: %w", err)
		}
		s.creds = append(s.creds, w)
		s.workers = append(s.workers, nil)
		if err := s.startWorker(i); err != nil {
			s.Close()
			return nil, err
		}
	}
	p, err := netcut.New(strings.TrimPrefix(s.addrs["api"], "http://"))
	if err != nil {
		s.Close()
		return nil, err
	}
	s.proxy = p
	return s, nil
}

// startDev starts `ration dev` and waits for its ready line.
func (s *pointsStack) startDev(ctx context.Context) error {
	cmd := exec.Command(s.bin, "dev", "--data-dir", s.dir, "--workers", "0",
		"--http", s.ports[0], "--kafka", s.ports[1], "--registry", s.ports[2],
		"--session-timeout", "3s", "--flush-interval", "200ms", "--log-level", "warn")
	cmd.Env = append(os.Environ(), points.SecretEnv+"="+s.secret)
	cmd.Stderr = s.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ration dev: %w", err)
	}
	ready := make(chan map[string]string, 1)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "ration ready "); ok {
				addrs := map[string]string{}
				for _, f := range strings.Fields(line) {
					if k, v, ok := strings.Cut(f, "="); ok {
						addrs[k] = v
					}
				}
				ready <- addrs
			}
		}
		done <- cmd.Wait()
	}()
	select {
	case addrs := <-ready:
		s.mu.Lock()
		s.dev, s.devDone, s.addrs = cmd, done, addrs
		s.mu.Unlock()
		return nil
	case err := <-done:
		return fmt.Errorf("ration dev exited before it was ready: %v", err)
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		return errors.New("ration dev not ready after 2 minutes")
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return ctx.Err()
	}
}

// stopDev interrupts `ration dev` and waits for it to exit.
func (s *pointsStack) stopDev() error {
	s.mu.Lock()
	cmd, done := s.dev, s.devDone
	s.dev = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
		return nil
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("ration dev did not stop within a minute of SIGINT; killed")
	}
}

// startWorker starts ledger worker i.
func (s *pointsStack) startWorker(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.bin, "worker", points.Name, "--kafka", s.addrs["kafka"], "--registry", s.addrs["registry"],
		"--kafka-user", s.creds[i].Username, "--instance-id", s.creds[i].Name, "--session-timeout", "3s", "--metrics=",
		"--log-level", "warn")
	cmd.Env = append(os.Environ(), "RATION_KAFKA_PASSWORD="+s.creds[i].Password)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ledger worker: %w", err)
	}
	s.workers[i] = cmd
	return nil
}

// killWorker crashes ledger worker i (SIGKILL) and starts it again.
func (s *pointsStack) killWorker(i int) error {
	s.mu.Lock()
	cmd := s.workers[i]
	s.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	return s.startWorker(i)
}

// restartBroker stops `ration dev` — the broker, and with it the API,
// the sink and ClickHouse — and starts it again on its data dir.
func (s *pointsStack) restartBroker(ctx context.Context) error {
	if err := s.stopDev(); err != nil {
		return err
	}
	return s.startDev(ctx)
}

// LoadURLs is where the load reaches the API: through the proxy.
func (s *pointsStack) LoadURLs() []string { return []string{"http://" + s.proxy.Addr()} }

// Admin is a client of the API with the admin key, not through the proxy.
func (s *pointsStack) Admin() *apiclient.Client {
	key, _ := os.ReadFile(filepath.Join(s.dir, "admin.key"))
	return apiclient.New(s.addrs["api"], nil).WithKey(strings.TrimSpace(string(key)))
}

// KafkaGroups reads every group's latest record from Kafka.
func (s *pointsStack) KafkaGroups(ctx context.Context) (map[string]points.Group, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "broker", broker.AdminFileName))
	if err != nil {
		return nil, err
	}
	var creds broker.Credentials
	if err := json.Unmarshal(b, &creds); err != nil {
		return nil, err
	}
	return KafkaGroups(ctx, kafkaconn.Config{Brokers: []string{s.addrs["kafka"]}, Registry: s.addrs["registry"],
		User: creds.User, Password: creds.Password})
}

// KafkaGroups reads every points group's latest record, as committed, from
// the Kafka conn reaches.
func KafkaGroups(ctx context.Context, conn kafkaconn.Config) (map[string]points.Group, error) {
	topics, records := pipeline.Schemas([]pipeline.Descriptor{points.New()})
	codec, err := conn.Codec(ctx, topics, records...)
	if err != nil {
		return nil, err
	}
	out := map[string]points.Group{}
	err = kafkaread.ToEnd(ctx, append(conn.Opts(nil), kgo.FetchIsolationLevel(kgo.ReadCommitted())),
		map[string][]int32{points.TopicGroups: nil}, func(r *kgo.Record) error {
			var g points.Group
			if err := codec.Decode(r.Value, &g); err != nil {
				return err
			}
			if g.Seq > out[g.GroupID].Seq {
				out[g.GroupID] = g
			}
			return nil
		})
	return out, err
}

// Close stops everything.
func (s *pointsStack) Close() {
	if s.proxy != nil {
		s.proxy.Close()
	}
	s.mu.Lock()
	ws := s.workers
	s.mu.Unlock()
	for _, w := range ws {
		if w != nil && w.Process != nil {
			_ = w.Process.Signal(syscall.SIGTERM)
			_ = w.Wait()
		}
	}
	_ = s.stopDev()
}
