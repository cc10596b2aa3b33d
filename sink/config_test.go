package sink

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestConfig(t *testing.T) {
	t.Run("the defaults are valid", func(t *testing.T) {
		c := DefaultConfig()
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("flags set the fields", func(t *testing.T) {
		c := DefaultConfig()
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		c.Flags(fs)
		if err := fs.Parse([]string{"--clickhouse", "ch:9000", "--clickhouse-db", "db2", "--sink-group", "g",
			"--batch-rows", "5", "--flush-interval", "2s", "--sink-session-timeout", "3s"}); err != nil {
			t.Fatal(err)
		}
		want := DefaultConfig()
		want.ClickHouse, want.Database, want.Group, want.BatchRows, want.FlushInterval = "ch:9000", "db2", "g", 5, 2*time.Second
		want.SessionTimeout = 3 * time.Second
		if c != want {
			t.Fatalf("got %+v, want %+v", c, want)
		}
	})
	for name, mod := range map[string]func(*Config){
		"no ClickHouse":                  func(c *Config) { c.ClickHouse = "" },
		"a database name needing quotes": func(c *Config) { c.Database = "a-b" },
		"no group":                       func(c *Config) { c.Group = "" },
		"no batch rows":                  func(c *Config) { c.BatchRows = 0 },
		"no flush interval":              func(c *Config) { c.FlushInterval = 0 },
		"a negative backoff":             func(c *Config) { c.MaxBackoff = -time.Second },
		"a session under a second":       func(c *Config) { c.SessionTimeout = 500 * time.Millisecond },
	} {
		t.Run(name+" is refused", func(t *testing.T) {
			c := DefaultConfig()
			mod(&c)
			if err := c.Validate(); err == nil {
				t.Fatalf("accepted %+v", c)
			}
		})
	}
}
