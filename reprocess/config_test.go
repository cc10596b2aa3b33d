package reprocess

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/rationhq/ration/internal/cliconfig"
)

// TestConfigTakesSeconds: the seed writes its schedule and elapse time in
// seconds (86400, 21600); flags, environment and file take them so, and
// as Go durations.
func TestConfigTakesSeconds(t *testing.T) {
	parse := func(t *testing.T, file string, args ...string) Config {
		t.Helper()
		c := DefaultConfig()
		fs := pflag.NewFlagSet("reprocess", pflag.ContinueOnError)
		c.Flags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		path := ""
		if file != "" {
			path = filepath.Join(t.TempDir(), "ration.yaml")
			if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := cliconfig.Apply(fs, path); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	check := func(t *testing.T, c Config, schedule, elapse, timeout time.Duration) {
		t.Helper()
		if c.Schedule != schedule || c.Elapse != elapse || c.Notify.Timeout != timeout {
			t.Fatalf("schedule %v, elapse %v, notify timeout %v; want %v, %v, %v", c.Schedule, c.Elapse, c.Notify.Timeout, schedule, elapse, timeout)
		}
	}
	t.Run("flags in seconds", func(t *testing.T) {
		check(t, parse(t, "", "--reprocess.schedule", "3600", "--reprocess.elapse=600", "--notify.timeout", "5"), time.Hour, 10*time.Minute, 5*time.Second)
	})
	t.Run("flags as durations", func(t *testing.T) {
		check(t, parse(t, "", "--reprocess.schedule", "1h", "--reprocess.elapse=10m"), time.Hour, 10*time.Minute, 10*time.Second)
	})
	t.Run("file in seconds", func(t *testing.T) {
		check(t, parse(t, "reprocess:\n  schedule: 86400\n  elapse: 21600\n"), 24*time.Hour, 6*time.Hour, 10*time.Second)
	})
	t.Run("environment in seconds", func(t *testing.T) {
		t.Setenv("RATION_REPROCESS_SCHEDULE", "7200")
		t.Setenv("RATION_REPROCESS_ELAPSE", "21600")
		check(t, parse(t, ""), 2*time.Hour, 6*time.Hour, 10*time.Second)
	})
}
