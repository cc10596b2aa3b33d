package broker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// listTopics lists topics with opts and a short retry budget.
func listTopics(t *testing.T, b *Broker, opts ...kgo.Opt) error {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.KafkaAddr()), kgo.RetryTimeout(2 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = kadm.NewClient(cl).ListTopics(ctx)
	return err
}

func TestSASLIsOnByDefault(t *testing.T) {
	b := start(t, testConfig())
	if err := listTopics(t, b); err == nil {
		t.Error("a client without credentials listed topics")
	}
	if err := listTopics(t, b, b.KafkaConn().Opts(nil)...); err != nil {
		t.Errorf("admin: %v", err)
	}
	if b.Admin().User != AdminUser || len(b.Admin().Password) != 43 {
		t.Errorf("admin %q with a %d-char password, want %s and 43 (32 bytes base64url)", b.Admin().User, len(b.Admin().Password), AdminUser)
	}
}

func TestNoAuthTurnsSASLOff(t *testing.T) {
	cfg := testConfig()
	cfg.NoAuth = true
	b := start(t, cfg)
	if err := listTopics(t, b); err != nil {
		t.Errorf("no credentials with --no-auth: %v", err)
	}
	if b.KafkaConn().User != "" || b.AdminFile() != "" {
		t.Errorf("credentials with --no-auth: %+v, file %q", b.KafkaConn(), b.AdminFile())
	}
}

func TestAdminCredentialsAreKeptInTheDataDir(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	b1 := start(t, cfg)
	path := filepath.Join(cfg.DataDir, AdminFileName)
	if b1.AdminFile() != path {
		t.Errorf("admin file %q, want %q", b1.AdminFile(), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin file mode %v, want 0600", fi.Mode().Perm())
	}
	var kept Credentials
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &kept); err != nil {
		t.Fatal(err)
	}
	if kept != b1.Admin() || kept.Mechanism != "SCRAM-SHA-512" {
		t.Errorf("file holds %+v, broker uses %+v", kept, b1.Admin())
	}
	if fi, err := os.Stat(filepath.Join(cfg.DataDir, "kafka")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("kafka dir (holds salted passwords): %v, %v; want mode 0700", fi.Mode().Perm(), err)
	}
	createTopic(t, newClient(t, b1), "kept", 1)
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := start(t, cfg)
	if b2.Admin() != b1.Admin() {
		t.Error("a restart changed the admin's password")
	}
	if err := listTopics(t, b2, b2.KafkaConn().Opts(nil)...); err != nil {
		t.Errorf("admin after restart: %v", err)
	}
	if err := b2.Close(); err != nil {
		t.Fatal(err)
	}

	// A lost admin file is recreated with a new password, and kfake's
	// persisted users follow it instead of locking the admin out.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	b3 := start(t, cfg)
	if b3.Admin() == b1.Admin() {
		t.Error("recreated admin file kept the old password")
	}
	if err := listTopics(t, b3, b3.KafkaConn().Opts(nil)...); err != nil {
		t.Errorf("admin with a recreated file: %v", err)
	}
	old := b1.KafkaConn()
	old.Brokers = []string{b3.KafkaAddr()}
	if err := listTopics(t, b3, old.Opts(nil)...); err == nil {
		t.Error("the old admin password still works")
	}
}

// A data dir written before authentication was on (kfake persisted no
// users) comes up with the admin able to log in and its data kept.
func TestDataDirFromBeforeSASL(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.NoAuth = true
	b1 := start(t, cfg)
	createTopic(t, newClient(t, b1), "old", 1)
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.NoAuth = false
	b2 := start(t, cfg)
	topics, err := kadm.NewClient(newClient(t, b2)).ListTopics(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !topics.Has("old") {
		t.Errorf("topics after enabling auth: %v", topics.Names())
	}
}
