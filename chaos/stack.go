package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/bench"
	"github.com/rationhq/ration/broker"
	"github.com/rationhq/ration/chaos/netcut"
	"github.com/rationhq/ration/internal/chserver"
	"github.com/rationhq/ration/internal/freeport"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/kafkaread"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/pipelines/points"
	"github.com/rationhq/ration/pipelines/receipts"
	"github.com/rationhq/ration/schemas"
)

// sessionTimeout is every worker's: a crashed worker's buckets move after
// it, a stopped one is a zombie past it.
const sessionTimeout = 3 * time.Second

// retryDelays are the delay tiers of every worker: short, so that items
// caught in a simulator outage are decided within the drain.
const retryDelays = "1s,2s,4s"

// stack is the whole system as separate processes of the ration binary,
// each on a port chosen once so that a restart keeps its address, and a
// local ClickHouse run by this process. Every role authenticates to Kafka
// as the broker's admin user: the chaos run is about crashes, not ACLs,
// and registering a worker user per role would add nothing to it.
type stack struct {
	bin, dir string
	log      io.Writer

	kafka, registry string
	admin           broker.Credentials
	ch              *chserver.Server

	broker      *proc
	dmSim       *proc
	tax         *proc
	logistics   *proc
	apis        []*proc
	apiURLs     []string        // direct, for the checkers
	proxies     []*netcut.Proxy // in front of each API, for the load
	sink        *proc
	reprocessor *proc
	workers     []*proc

	simURLs  map[string]string // dm, tax, logistics
	adminKey string            // the admin API key the first API created
}

// workerCounts are the worker processes of each pipeline.
var workerCounts = []struct {
	pipeline string
	n        int
}{{dm.Name, 3}, {receipts.Name, 2}, {points.Name, 2}}

// startStack starts every part, waiting for each to be ready before the
// parts that need it: ClickHouse and the broker, the simulators, the
// APIs (the first creates the admin API key), the sink, the reprocessor
// and the workers.
func startStack(ctx context.Context, bin, dir string, syncWrites bool, log io.Writer) (_ *stack, err error) {
	s := &stack{bin: bin, dir: dir, log: log, simURLs: map[string]string{}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	ports, err := freeport.Addrs("127.0.0.1", 7)
	if err != nil {
		return nil, err
	}
	s.kafka, s.registry = ports[0], "http://"+ports[1]

	fmt.Fprintln(log, "starting clickhouse")
	s.ch, err = chserver.Start(ctx, chserver.Config{Dir: filepath.Join(dir, "clickhouse"), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}

	brokerArgs := []string{"broker", "--data-dir", filepath.Join(dir, "broker"), "--kafka-listen", ports[0],
		"--registry-listen", ports[1], "--metrics=", "--group-min-session-timeout", "1s"}
	if syncWrites {
		brokerArgs = append(brokerArgs, "--sync-writes")
	}
	if s.broker, err = s.newProc("broker", "ration broker ready", nil, brokerArgs...); err != nil {
		return nil, err
	}
	fmt.Fprintln(log, "starting the broker")
	if err := s.broker.start(ctx); err != nil {
		return nil, err
	}
	if err := s.readAdmin(); err != nil {
		return nil, err
	}

	sims := []struct {
		name, ready string
		args        []string
		dst         **proc
		url         string
	}{
		{"dm", "ration sim ready", []string{"sim", "--http", ports[2]}, &s.dmSim, "http://" + ports[2]},
		{"tax", "ration sim tax ready", []string{"sim", "tax", "--http", ports[3]}, &s.tax, "http://" + ports[3]},
		{"logistics", "ration sim logistics ready", []string{"sim", "logistics", "--http", ports[4]}, &s.logistics, "http://" + ports[4]},
	}
	for _, sm := range sims {
		p, err := s.newProc("sim-"+sm.name, sm.ready, nil, sm.args...)
		if err != nil {
			return nil, err
		}
		if err := p.start(ctx); err != nil {
			return nil, err
		}
		*sm.dst, s.simURLs[sm.name] = p, sm.url
	}

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	apiEnv := []string{points.SecretEnv + "=" + hex.EncodeToString(secret)} // every API must sign tokens alike
	fmt.Fprintln(log, "starting 2 APIs, the sink, the reprocessor and the workers")
	for i, addr := range ports[5:7] {
		p, err := s.newProc(fmt.Sprintf("api-%d", i), `"api ready"`, apiEnv, s.roleArgs("api", "--http", addr,
			"--clickhouse", s.ch.Addr(), "--bootstrap-admin-key-file", s.adminKeyFile(),
			"--reprocess.schedule", "20s", "--reprocess.elapse", "10m")...)
		if err != nil {
			return nil, err
		}
		if err := p.start(ctx); err != nil {
			return nil, err
		}
		px, err := netcut.New(addr)
		if err != nil {
			return nil, err
		}
		s.apis, s.apiURLs, s.proxies = append(s.apis, p), append(s.apiURLs, "http://"+addr), append(s.proxies, px)
	}
	key, err := os.ReadFile(s.adminKeyFile())
	if err != nil {
		return nil, err
	}
	s.adminKey = strings.TrimSpace(string(key))
	if s.sink, err = s.newProc("sink", "ration sink ready", nil, s.roleArgs("sink", "--clickhouse", s.ch.Addr(),
		"--flush-interval", "200ms", "--metrics=")...); err != nil {
		return nil, err
	}
	// The reprocessor re-sends parked items every 20 s at any time of day;
	// items stuck for 10 minutes count too, longer than any run's drain.
	if s.reprocessor, err = s.newProc("reprocess", "ration reprocess ready", nil, s.roleArgs("reprocess",
		"--clickhouse", s.ch.Addr(), "--reprocess.schedule", "20s", "--reprocess.elapse", "10m", "--metrics=")...); err != nil {
		return nil, err
	}
	for _, p := range []*proc{s.sink, s.reprocessor} {
		if err := p.start(ctx); err != nil {
			return nil, err
		}
	}
	for _, wc := range workerCounts {
		for i := range wc.n {
			id := fmt.Sprintf("chaos-%s-%d", wc.pipeline, i)
			args := []string{"--instance-id", id, "--session-timeout", sessionTimeout.String(),
				"--retry-delays", retryDelays, "--metrics="}
			switch wc.pipeline {
			case dm.Name:
				args = append(args, "--checker-url", s.simURLs["dm"]+"/check/{user_id}", "--item-log-level", "debug")
			case receipts.Name:
				args = append(args, "--tax-url", s.simURLs["tax"], "--logistics-url", s.simURLs["logistics"],
					"--register-timeout", "2s")
			}
			p, err := s.newProc(id, "", nil, s.roleArgs("worker "+wc.pipeline, args...)...)
			if err != nil {
				return nil, err
			}
			if err := p.start(ctx); err != nil {
				return nil, err
			}
			s.workers = append(s.workers, p)
		}
	}
	return s, nil
}

// roleArgs are a role's arguments with the Kafka connection as admin.
func (s *stack) roleArgs(role string, args ...string) []string {
	base := strings.Fields(role)
	return append(append(base, "--kafka", s.kafka, "--registry", s.registry, "--kafka-user", s.admin.User,
		"--log-format", "json"), args...)
}

// newProc makes a process of the ration binary logging to logs/NAME.log
// and authenticating with the admin's password.
func (s *stack) newProc(name, ready string, env []string, args ...string) (*proc, error) {
	path := filepath.Join(s.dir, "logs", name+".log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if s.admin.Password != "" {
		env = append(env, "RATION_KAFKA_PASSWORD="+s.admin.Password)
	}
	return &proc{name: name, bin: s.bin, args: args, env: env, ready: ready, log: f, logFile: path}, nil
}

func (s *stack) readAdmin() error {
	b, err := os.ReadFile(filepath.Join(s.dir, "broker", broker.AdminFileName))
	if err != nil {
		return fmt.Errorf("broker admin credentials: %w", err)
	}
	return json.Unmarshal(b, &s.admin)
}

func (s *stack) adminKeyFile() string { return filepath.Join(s.dir, "admin.key") }

// adminClient is a client with the admin API key of API i, not through
// its proxy.
func (s *stack) adminClient(i int) *apiclient.Client {
	return apiclient.New(s.apiURLs[i%len(s.apiURLs)], nil).WithKey(s.adminKey)
}

// loadClient is a client with the admin API key through API i's proxy.
func (s *stack) loadClient(i int) *apiclient.Client {
	return apiclient.New(s.LoadURLs()[i%len(s.proxies)], nil).WithKey(s.adminKey)
}

// kafkaConn is the admin's connection to the broker.
func (s *stack) kafkaConn() kafkaconn.Config {
	return kafkaconn.Config{Brokers: []string{s.kafka}, Registry: s.registry, User: s.admin.User, Password: s.admin.Password}
}

// readCommitted hands fn every committed record of topic, one of d's, to
// its end, with a codec of d's records to decode it.
func (s *stack) readCommitted(ctx context.Context, d pipeline.Descriptor, topic string, fn func(*schemas.Codec, *kgo.Record) error) error {
	conn := s.kafkaConn()
	topics, records := pipeline.Schemas([]pipeline.Descriptor{d})
	codec, err := conn.Codec(ctx, topics, records...)
	if err != nil {
		return err
	}
	return kafkaread.ToEnd(ctx, append(conn.Opts(nil), kgo.FetchIsolationLevel(kgo.ReadCommitted())),
		map[string][]int32{topic: nil}, func(r *kgo.Record) error { return fn(codec, r) })
}

// LoadURLs are the APIs through their proxies (bench.PointsTarget).
func (s *stack) LoadURLs() []string {
	out := make([]string, len(s.proxies))
	for i, p := range s.proxies {
		out[i] = "http://" + p.Addr()
	}
	return out
}

// Admin is an admin client of the first API (bench.PointsTarget).
func (s *stack) Admin() *apiclient.Client { return s.adminClient(0) }

// processes are every role's processes, for stopping them.
func (s *stack) processes() []*proc {
	ps := append([]*proc{}, s.workers...)
	ps = append(ps, s.reprocessor, s.sink)
	ps = append(ps, s.apis...)
	return append(ps, s.logistics, s.tax, s.dmSim, s.broker)
}

// close stops every process, the workers first and the broker last, and
// ClickHouse.
func (s *stack) close() {
	for _, p := range s.proxies {
		p.Close()
	}
	for _, p := range s.processes() {
		if p != nil {
			p.stop(20 * time.Second)
		}
	}
	if s.ch != nil {
		if err := s.ch.Stop(); err != nil {
			fmt.Fprintln(s.log, "stopping clickhouse:", err)
		}
	}
}

// KafkaGroups reads every points group's latest record (bench.PointsTarget).
func (s *stack) KafkaGroups(ctx context.Context) (map[string]points.Group, error) {
	return bench.KafkaGroups(ctx, s.kafkaConn())
}
