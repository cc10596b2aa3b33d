package cliconfig

import (
	"os"
	"path/filepath"
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
