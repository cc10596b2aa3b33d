// Package chserver runs a local clickhouse-server as a child process, for
// `ration dev` and for tests. It writes a config under a data directory,
// listens on loopback only, on free ports that are recorded in the directory
// and reused on a restart, so an address stays stable across restarts and
// several servers run side by side.
package chserver

import (
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"time"
)

// ErrNoBinary is returned when no ClickHouse server binary can be found.
var ErrNoBinary = errors.New("chserver: no clickhouse-server binary (apt-get install clickhouse-server)")

// Config says where a server keeps its data and which binary runs it.
type Config struct {
	// Dir holds the data, the generated config, the recorded ports and the
	// logs. Required.
	Dir string
	// Binary is the server executable. Default: clickhouse-server found on
	// PATH, else /usr/sbin/clickhouse-server, else /usr/bin/clickhouse (the
	// multi-call binary, run as "clickhouse server").
	Binary string
	// Log receives start and stop lines. Default: discard.
	Log *slog.Logger
	// StartTimeout bounds the wait until the server answers SELECT 1.
	// Default 60 s.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	// Default 15 s.
	StopTimeout time.Duration
	// Member, if set, makes the server a replica of a shard of a cluster
	// (StartCluster); its ports are the member's, not free ones chosen.
	Member *Member
}

func (c *Config) setDefaults() error {
	if c.Binary == "" {
		bin, err := FindBinary()
		if err != nil {
			return err
		}
		c.Binary = bin
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 60 * time.Second
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = 15 * time.Second
	}
	return nil
}

// Validate reports a config that cannot work.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("chserver: no data dir")
	}
	if c.StartTimeout < 0 || c.StopTimeout < 0 {
		return fmt.Errorf("chserver: negative timeout (start %v, stop %v)", c.StartTimeout, c.StopTimeout)
	}
	return nil
}

// FindBinary returns the default server binary, or ErrNoBinary.
func FindBinary() (string, error) {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/clickhouse-server", "/usr/bin/clickhouse"} {
		if p, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBinary
}

// serverArgs returns the arguments that run binary as a server with the
// config file: the multi-call binary of newer releases needs "server" first.
func serverArgs(binary, configFile string) []string {
	args := []string{"--config-file=" + configFile}
	if filepath.Base(binary) == "clickhouse" {
		args = append([]string{"server"}, args...)
	}
	return args
}

// AnalystUser is a user of the server that may read every table and
// change nothing: the one to give analysts (docs/analytics.md).
const AnalystUser = "analyst"
