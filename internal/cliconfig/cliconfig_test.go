package cliconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

type config struct {
	Brokers []string
	Timeout time.Duration
	Workers int
}

func flags(c *config) *pflag.FlagSet {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.StringSliceVar(&c.Brokers, "kafka", []string{"default:9092"}, "")
	fs.DurationVar(&c.Timeout, "session-timeout", 10*time.Second, "")
	fs.IntVar(&c.Workers, "workers", 1, "")
	return fs
}

func TestPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ration.yaml")
	yaml := "kafka: [a:1, b:2]\nsession-timeout: 20s\nworkers: 3\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RATION_SESSION_TIMEOUT", "30s")

	var c config
	fs := flags(&c)
	if err := fs.Parse([]string{"--workers", "5"}); err != nil {
		t.Fatal(err)
	}
	if err := Apply(fs, path); err != nil {
		t.Fatal(err)
	}
	if got := c.Brokers; len(got) != 2 || got[0] != "a:1" || got[1] != "b:2" {
		t.Errorf("file should set kafka, got %v", got)
	}
	if c.Timeout != 30*time.Second {
		t.Errorf("env should beat file, got %v", c.Timeout)
	}
	if c.Workers != 5 {
		t.Errorf("flag should beat file, got %d", c.Workers)
	}
}

func TestUnknownFileKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ration.yaml")
	if err := os.WriteFile(path, []byte("wrokers: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c config
	if err := Apply(flags(&c), path); err == nil {
		t.Fatal("a misspelled key was accepted")
	}
}

func TestBadEnvValue(t *testing.T) {
	t.Setenv("RATION_WORKERS", "many")
	var c config
	if err := Apply(flags(&c), ""); err == nil {
		t.Fatal("a non-numeric RATION_WORKERS was accepted")
	}
}

type reprocessConfig struct {
	Attempts int
	Schedule time.Duration
	Workers  int
}

func nestedFlags(c *reprocessConfig) *pflag.FlagSet {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.IntVar(&c.Attempts, "reprocess.attempt_count", 1, "")
	fs.DurationVar(&c.Schedule, "reprocess.schedule", time.Hour, "")
	fs.IntVar(&c.Workers, "workers", 1, "")
	return fs
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ration.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNestedKeys(t *testing.T) {
	for name, text := range map[string]string{
		"nested": "reprocess:\n  attempt_count: 3\n  schedule: 24h\nworkers: 2\n",
		"inline": "reprocess: {attempt_count: 3, schedule: 24h}\nworkers: 2\n",
		"flat":   "reprocess.attempt_count: 3\nreprocess.schedule: 24h\nworkers: 2\n",
		"mixed":  "reprocess.attempt_count: 3\nreprocess:\n  schedule: 24h\nworkers: 2\n",
	} {
		t.Run(name, func(t *testing.T) {
			var c reprocessConfig
			if err := Apply(nestedFlags(&c), writeConfig(t, text)); err != nil {
				t.Fatal(err)
			}
			if c.Attempts != 3 || c.Schedule != 24*time.Hour || c.Workers != 2 {
				t.Fatalf("got %+v, want 3 attempts every 24h, 2 workers", c)
			}
		})
	}
}

func TestNestedKeyEnv(t *testing.T) {
	if got := EnvName("reprocess.attempt_count"); got != "RATION_REPROCESS_ATTEMPT_COUNT" {
		t.Fatalf("EnvName = %s", got)
	}
	if got := EnvName("session-timeout"); got != "RATION_SESSION_TIMEOUT" {
		t.Fatalf("EnvName = %s", got)
	}
	t.Setenv("RATION_REPROCESS_ATTEMPT_COUNT", "5")
	var c reprocessConfig
	if err := Apply(nestedFlags(&c), writeConfig(t, "reprocess:\n  attempt_count: 3\n")); err != nil {
		t.Fatal(err)
	}
	if c.Attempts != 5 {
		t.Fatalf("env should beat file, got %d", c.Attempts)
	}
}

func TestUnknownNestedKey(t *testing.T) {
	var c reprocessConfig
	err := Apply(nestedFlags(&c), writeConfig(t, "reprocess:\n  attempts: 3\n"))
	if err == nil || !strings.Contains(err.Error(), `"reprocess.attempts"`) {
		t.Fatalf("err = %v, want one naming reprocess.attempts", err)
	}
}

func TestKeySetNestedAndFlat(t *testing.T) {
	var c reprocessConfig
	text := "reprocess.attempt_count: 3\nreprocess:\n  attempt_count: 4\n"
	if err := Apply(nestedFlags(&c), writeConfig(t, text)); err == nil {
		t.Fatal("a key set both nested and flat was accepted")
	}
}
