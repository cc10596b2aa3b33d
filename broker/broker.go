package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/rationhq/ration/internal/freeport"
	"github.com/rationhq/ration/internal/kafkaconn"
)

// Broker is a running Kafka broker and schema registry.
type Broker struct {
	cfg         Config
	admin       Credentials // zero with NoAuth
	cluster     *kfake.Cluster
	kafkaAddrs  []string // the first broker's first
	kafkaAddr   string
	registryURL string

	journal  *kgo.Client
	srv      *http.Server
	serveErr chan error // the registry server's result, read by Close

	closeOnce sync.Once
	closeErr  error
}

// Start starts the broker and the registry and returns once both accept
// connections and the registry holds every journaled schema. ctx bounds
// the start-up only; the broker runs until Close.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("broker config: %w", err)
	}
	kafkaHost, kafkaPort, _ := splitListenAddr(cfg.KafkaAddr, true)
	regHost, regPort, _ := splitListenAddr(cfg.RegistryAddr, false)

	var kafkaDir string
	if cfg.DataDir != "" {
		kafkaDir = filepath.Join(cfg.DataDir, "kafka")
		// kfake keeps SCRAM salted passwords in kafka/sasl.json (0644),
		// and a salted password is enough to log in: only the broker's
		// own user may enter the directory.
		if err := os.MkdirAll(kafkaDir, 0o700); err != nil {
			return nil, fmt.Errorf("broker data dir: %w", err)
		}
		if err := os.Chmod(kafkaDir, 0o700); err != nil {
			return nil, fmt.Errorf("broker data dir: %w", err)
		}
	}
	kept, err := loadAddresses(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	var admin Credentials
	if !cfg.NoAuth {
		if admin, err = loadOrCreateAdmin(cfg.AdminFile); err != nil {
			return nil, err
		}
		if kafkaDir != "" {
			if err := syncPersistedAdmin(kafkaDir, admin); err != nil {
				return nil, err
			}
		}
	}

	// The registry binds first: a taken port fails before Kafka's data
	// is loaded.
	regLn, err := listen(regHost, pickPort(regPort, kept.RegistryPort))
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	ports := []int{pickPort(kafkaPort, kept.KafkaPort)}
	for i := 1; i < cfg.Brokers; i++ {
		p := 0
		if i-1 < len(kept.OtherKafkaPorts) {
			p = kept.OtherKafkaPorts[i-1]
		}
		if p == 0 {
			if p, err = freeport.Port(kafkaHost); err != nil {
				regLn.Close()
				return nil, fmt.Errorf("kafka: %w", err)
			}
		}
		ports = append(ports, p)
	}
	cluster, err := kfake.NewCluster(kfakeOpts(cfg, admin, kafkaHost, ports, kafkaDir)...)
	if err != nil {
		regLn.Close()
		return nil, fmt.Errorf("kafka: %w", err)
	}
	b := &Broker{
		cfg:         cfg,
		admin:       admin,
		cluster:     cluster,
		kafkaAddrs:  cluster.ListenAddrs(),
		kafkaAddr:   cluster.ListenAddrs()[0],
		registryURL: "http://" + regLn.Addr().String(),
		serveErr:    make(chan error, 1),
	}
	if !cfg.NoAuth {
		if err := advertiseSASLHandshakeV0(ctx, cluster, b.clientOpts(cfg.Log)); err != nil {
			regLn.Close()
			cluster.Close()
			return nil, fmt.Errorf("kafka: %w", err)
		}
	}
	if err := b.startRegistry(ctx, regLn); err != nil {
		regLn.Close()
		cluster.Close()
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	kept = addresses{KafkaPort: portOf(b.kafkaAddr), RegistryPort: portOf(regLn.Addr().String())}
	for _, a := range b.kafkaAddrs[1:] {
		kept.OtherKafkaPorts = append(kept.OtherKafkaPorts, portOf(a))
	}
	if err := saveAddresses(cfg.DataDir, kept); err != nil {
		_ = b.Close()
		return nil, err
	}
	if cfg.NoAuth {
		cfg.Log.Warn("kafka authentication and ACLs are off", "kafka", b.kafkaAddr)
	}
	cfg.Log.Info("broker started", "kafka", b.kafkaAddr, "registry", b.registryURL, "data_dir", cfg.DataDir,
		"admin_user", admin.User, "admin_credentials", cfg.AdminFile)
	return b, nil
}

// kfakeOpts maps cfg onto kfake: a broker on each of ports, on a fixed
// host.
func kfakeOpts(cfg Config, admin Credentials, host string, ports []int, dir string) []kfake.Opt {
	opts := []kfake.Opt{
		kfake.Ports(ports...), // also sets the number of brokers
		kfake.ListenFn(func(_, addr string) (net.Listener, error) {
			// kfake always asks for 127.0.0.1:port; bind the host
			// the config names instead.
			return listen(host, portOf(addr))
		}),
		kfake.ClusterID("ration"),
		kfake.DefaultNumPartitions(int(cfg.Partitions)),
		kfake.GroupMinSessionTimeout(cfg.MinSessionTimeout),
		kfake.WithLogger(kfakeLogger{cfg.Log.With("component", "kfake")}),
	}
	if dir != "" {
		opts = append(opts, kfake.DataDir(dir))
	}
	if cfg.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	if !cfg.NoAuth {
		opts = append(opts, kfake.EnableSASL(), kfake.EnableACLs(), kfake.Superuser(Mechanism, admin.User, admin.Password))
	}
	return opts
}

// clientOpts reach this broker as the admin, for the broker's own clients.
func (b *Broker) clientOpts(log *slog.Logger) []kgo.Opt {
	return append(b.KafkaConn().Opts(nil), kgoLogger(log))
}

// startRegistry replays the schema journal into a fresh srfake and serves
// it on ln.
func (b *Broker) startRegistry(ctx context.Context, ln net.Listener) error {
	log := b.cfg.Log.With("component", "schema-registry")
	base := b.clientOpts(log)
	journal, err := kgo.NewClient(append(base,
		kgo.ClientID("ration-schema-journal"),
		kgo.DefaultProduceTopic(SchemasTopic),
		kgo.ProducerLinger(0), // every write is waited for: nothing to batch
	)...)
	if err != nil {
		return err
	}
	if err := ensureSchemasTopic(ctx, journal); err != nil {
		journal.Close()
		return err
	}
	recs, err := readJournal(ctx, append(base, kgo.ClientID("ration-schema-replay")))
	if err != nil {
		journal.Close()
		return err
	}
	fake := srfake.NewRegistry()
	restored, err := replay(fake, recs, log)
	if err != nil {
		journal.Close()
		return err
	}
	log.Debug("schema journal replayed", "records", len(recs), "schemas", len(restored))

	b.journal = journal
	b.srv = &http.Server{
		Handler:           newRegistry(fake, journal, restored, log),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { b.serveErr <- b.srv.Serve(ln) }()
	return nil
}

// KafkaAddr is the Kafka listener's host:port, for kgo.SeedBrokers.
func (b *Broker) KafkaAddr() string { return b.kafkaAddr }

// RegistryURL is the schema registry's base URL, "http://host:port".
func (b *Broker) RegistryURL() string { return b.registryURL }

// Cluster is the kfake cluster, for tests that inject faults or control
// requests.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// KafkaConn returns the connection settings of this broker for roles, with
// the broker's default partition count and the admin's credentials.
func (b *Broker) KafkaConn() kafkaconn.Config {
	return kafkaconn.Config{
		Brokers:    b.kafkaAddrs,
		Registry:   b.registryURL,
		Partitions: b.cfg.Partitions,
		User:       b.admin.User,
		Password:   b.admin.Password,
	}
}

// Admin returns the admin's credentials; zero with NoAuth.
func (b *Broker) Admin() Credentials { return b.admin }

// AdminFile is where the admin's credentials are kept; "" when they live
// in memory only (no DataDir or AdminFile) or authentication is off.
func (b *Broker) AdminFile() string {
	if b.cfg.NoAuth {
		return ""
	}
	return b.cfg.AdminFile
}

// Close stops the registry, then the broker; with a DataDir, kfake writes
// its state out before returning. Close is safe to call more than once.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		var errs []error
		// A connection accepted but not yet used keeps Shutdown waiting
		// for up to 5s (net/http counts it as busy); past a short grace,
		// closing it is as good as draining it.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := b.srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			_ = b.srv.Close()
		} else if err != nil {
			errs = append(errs, fmt.Errorf("schema registry shutdown: %w", err))
		}
		if err := <-b.serveErr; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("schema registry: %w", err))
		}
		b.journal.Close()
		b.cluster.Close()
		b.closeErr = errors.Join(errs...)
		b.cfg.Log.Info("broker stopped", "kafka", b.kafkaAddr)
	})
	return b.closeErr
}
