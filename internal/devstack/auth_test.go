package devstack

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/broker"
	"github.com/rationhq/ration/internal/kafkaconn"
)

// TestKafkaNeedsTheAdminCredentials: the dev stack's broker refuses
// clients without credentials, and every role inside it runs with the
// admin's, kept in DATA_DIR/broker/admin.kafka.json and reused on restart.
func TestKafkaNeedsTheAdminCredentials(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, dir)
	path := filepath.Join(dir, "broker", broker.AdminFileName)
	readAdmin := func() broker.Credentials {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var c broker.Credentials
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	admin := readAdmin()
	list := func(user, pass string) error {
		conn := kafkaconn.Config{Brokers: []string{s.addrs.Kafka}, User: user, Password: pass}
		cl, err := kgo.NewClient(append(conn.Opts(nil), kgo.RetryTimeout(2*time.Second))...)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err = kadm.NewClient(cl).ListTopics(ctx)
		return err
	}
	if err := list("", ""); err == nil {
		t.Error("a client without credentials listed topics")
	}
	if err := list(admin.User, admin.Password); err != nil {
		t.Errorf("admin: %v", err)
	}
	s.stop()
	startStack(t, dir)
	if again := readAdmin(); again != admin {
		t.Error("a restart changed the admin's credentials")
	}
}
