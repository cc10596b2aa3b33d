package sink

import (
	"testing"

	"github.com/spf13/pflag"
)

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"--clickhouse-db", "a-b", "--batch-rows", "0"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil {
		t.Fatal("accepted database a-b and 0 batch rows")
	}
}
