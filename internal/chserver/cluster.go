package chserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rationhq/ration/internal/freeport"
)

// Member is a server's place in a cluster of servers on this machine.
type Member struct {
	// Cluster is the cluster's name in remote_servers.
	Cluster string
	// Shards are every shard's replicas' native ports on 127.0.0.1.
	Shards [][]int
	// Shard and Replica say which of them this server is.
	Shard, Replica int
	// HTTP and Interserver are this server's other ports.
	HTTP, Interserver int
	// ZooKeeper is the coordination service's host:port.
	ZooKeeper string
}

func (m *Member) ports() ports { return ports{TCP: m.Shards[m.Shard][m.Replica], HTTP: m.HTTP} }

// configXML is the member's part of config.xml: the cluster's servers
// (internal_replication: a Distributed table writes one replica of a shard
// and replication copies it), ZooKeeper, the macros its replicated tables'
// paths use, and where ON CLUSTER DDL queues.
func (m *Member) configXML() string {
	if m == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("  <remote_servers><" + m.Cluster + ">\n")
	for _, replicas := range m.Shards {
		b.WriteString("    <shard><internal_replication>true</internal_replication>\n")
		for _, port := range replicas {
			b.WriteString("      <replica><host>127.0.0.1</host><port>" + strconv.Itoa(port) + "</port></replica>\n")
		}
		b.WriteString("    </shard>\n")
	}
	b.WriteString("  </" + m.Cluster + "></remote_servers>\n")
	host, port, _ := net.SplitHostPort(m.ZooKeeper)
	b.WriteString("  <zookeeper><node><host>" + host + "</host><port>" + port + "</port></node>" +
		"<session_timeout_ms>10000</session_timeout_ms></zookeeper>\n")
	b.WriteString("  <macros><shard>" + strconv.Itoa(m.Shard+1) + "</shard><replica>r" + strconv.Itoa(m.Shard+1) + "-" +
		strconv.Itoa(m.Replica+1) + "</replica></macros>\n")
	b.WriteString("  <interserver_http_host>127.0.0.1</interserver_http_host>\n")
	b.WriteString("  <interserver_http_port>" + strconv.Itoa(m.Interserver) + "</interserver_http_port>\n")
	b.WriteString("  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>")
	return b.String()
}

// profileXML is what the member's default profile adds: writes and reads
// go to the first live replica of a shard, in the cluster's order, so a
// read finds what was written before it without waiting for replication;
// a replica more than a second behind (one that was down and is catching
// up) is passed over (clickhouse-go cannot send the first setting to
// 18.16 itself).
func (m *Member) profileXML() string {
	if m == nil {
		return ""
	}
	return "<load_balancing>in_order</load_balancing><max_replica_delay_for_distributed_queries>1</max_replica_delay_for_distributed_queries>"
}

// ClusterConfig says what StartCluster starts.
type ClusterConfig struct {
	// Dir holds ZooKeeper's and every server's directory. Required.
	Dir string
	// Name is the cluster's name. Default "ration".
	Name string
	// Shards and Replicas per shard. Defaults 2 and 2.
	Shards, Replicas int
	Log              *slog.Logger
}

// Cluster is ZooKeeper and the servers of a cluster, each a child process.
type Cluster struct {
	Name      string
	zookeeper *exec.Cmd
	zkDone    chan struct{}
	// Servers are the servers by shard, then replica.
	Servers [][]*Server
}

// ErrNoZooKeeper is returned when Debian's zookeeper package is missing.
var ErrNoZooKeeper = errors.New("chserver: no ZooKeeper (apt-get install zookeeper)")

// zooKeeperJar is where Debian's zookeeper package puts the server.
const zooKeeperJar = "/usr/share/java/zookeeper.jar"

// FindZooKeeper reports whether ZooKeeper and a Java runtime are here.
func FindZooKeeper() error {
	if _, err := os.Stat(zooKeeperJar); err != nil {
		return ErrNoZooKeeper
	}
	if _, err := exec.LookPath("java"); err != nil {
		return fmt.Errorf("%w: no java", ErrNoZooKeeper)
	}
	return nil
}

// StartCluster starts ZooKeeper and cfg.Shards x cfg.Replicas servers
// that form cluster cfg.Name, all on loopback, and waits until each
// answers.
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if cfg.Name == "" {
		cfg.Name = "ration"
	}
	if cfg.Shards == 0 {
		cfg.Shards = 2
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 2
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := FindZooKeeper(); err != nil {
		return nil, err
	}
	c := &Cluster{Name: cfg.Name}
	zk, err := freeport.Port(loopback)
	if err != nil {
		return nil, err
	}
	if err := c.startZooKeeper(ctx, filepath.Join(cfg.Dir, "zookeeper"), zk); err != nil {
		return nil, err
	}
	// A free port found by listening can be taken by someone else before
	// a server binds it; a member's ports are in every member's
	// configuration, so the cluster starts again on new ones.
	const attempts = 3
	for i := range attempts {
		if err = c.startServers(ctx, cfg, zk); err == nil || !errors.Is(err, errPortTaken) || ctx.Err() != nil {
			break
		}
		cfg.Log.Warn("a clickhouse port was taken, starting the cluster on new ports", "attempt", i+1)
	}
	if err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// startServers starts every member of the cluster on ports chosen now,
// with ZooKeeper on zk; on an error it stops those it started.
func (c *Cluster) startServers(ctx context.Context, cfg ClusterConfig, zk int) error {
	shards := make([][]int, cfg.Shards)
	others := make(map[[2]int][2]int)
	for s := range shards {
		for r := range cfg.Replicas {
			var p [3]int
			for i := range p {
				var err error
				if p[i], err = freeport.Port(loopback); err != nil {
					return err
				}
			}
			shards[s] = append(shards[s], p[0])
			others[[2]int{s, r}] = [2]int{p[1], p[2]}
		}
	}
	c.Servers = make([][]*Server, cfg.Shards)
	for s := range shards {
		for r := range shards[s] {
			o := others[[2]int{s, r}]
			m := &Member{Cluster: cfg.Name, Shards: shards, Shard: s, Replica: r, HTTP: o[0], Interserver: o[1],
				ZooKeeper: "127.0.0.1:" + strconv.Itoa(zk)}
			srv, err := Start(ctx, Config{Dir: filepath.Join(cfg.Dir, fmt.Sprintf("s%d-r%d", s+1, r+1)), Log: cfg.Log, Member: m})
			if err != nil {
				c.stopServers()
				return err
			}
			c.Servers[s] = append(c.Servers[s], srv)
		}
	}
	return nil
}

// stopServers stops the servers started.
func (c *Cluster) stopServers() {
	for _, shard := range c.Servers {
		for _, s := range shard {
			_ = s.Stop()
		}
	}
	c.Servers = nil
}

// startZooKeeper runs a standalone ZooKeeper on port and waits until it
// serves requests: "ruok" answers "imok" before that, and a server of
// 18.16 that connects too early crashes.
func (c *Cluster) startZooKeeper(ctx context.Context, dir string, port int) error {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return err
	}
	cfgFile := filepath.Join(dir, "zoo.cfg")
	conf := strings.Join([]string{
		"tickTime=500",
		"dataDir=" + filepath.Join(dir, "data"),
		"clientPort=" + strconv.Itoa(port),
		"clientPortAddress=127.0.0.1",
		"admin.enableServer=false",
		"4lw.commands.whitelist=srvr",
		"",
	}, "\n")
	if err := os.WriteFile(cfgFile, []byte(conf), 0o644); err != nil {
		return err
	}
	out, err := os.Create(filepath.Join(dir, "zookeeper.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command("java", "-Xmx256m", "-cp", zooKeeperJar, "org.apache.zookeeper.server.ZooKeeperServerMain", cfgFile)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procAttr()
	started := make(chan error, 1)
	c.zkDone = make(chan struct{})
	go func() {
		defer close(c.zkDone)
		defer out.Close()
		lockThread() // the parent-death signal follows this thread (see spawn)
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("chserver: start zookeeper: %w", err)
	}
	c.zookeeper = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		if zkOK(port) {
			return nil
		}
		select {
		case <-c.zkDone:
			return errors.New("chserver: zookeeper exited during start-up; see " + out.Name())
		case <-ctx.Done():
			c.Stop()
			return ctx.Err()
		case <-time.After(100 * time.Millisecond): // polling: ZooKeeper announces nothing
		}
		if time.Now().After(deadline) {
			c.Stop()
			return errors.New("chserver: zookeeper not up after 30 s; see " + out.Name())
		}
	}
}

// zkOK asks ZooKeeper for its status ("srvr"), which names its mode once
// it serves.
func zkOK(port int) bool {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("srvr")); err != nil {
		return false
	}
	b, _ := io.ReadAll(conn)
	return strings.Contains(string(b), "Mode: standalone")
}

// Addrs returns every server's native address, comma-separated: a
// sink.Target's ClickHouse.
func (c *Cluster) Addrs() string {
	var out []string
	for _, shard := range c.Servers {
		for _, s := range shard {
			out = append(out, s.Addr())
		}
	}
	return strings.Join(out, ",")
}

// Stop stops the servers, then ZooKeeper.
func (c *Cluster) Stop() {
	c.stopServers()
	if c.zookeeper != nil && c.zookeeper.Process != nil {
		_ = syscall.Kill(-c.zookeeper.Process.Pid, syscall.SIGKILL)
		<-c.zkDone
	}
}
