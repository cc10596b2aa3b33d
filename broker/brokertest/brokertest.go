// Package brokertest starts ration's embedded broker and schema registry
// for tests of other packages: in memory, on free loopback ports, closed
// when the test ends.
package brokertest

import (
	"context"
	"testing"
	"time"

	"github.com/rationhq/ration/broker"
)

// New starts an in-memory broker on free loopback ports.
func New(t testing.TB) *broker.Broker {
	t.Helper()
	return Start(t, broker.Config{})
}

// Start starts a broker from cfg; empty listen addresses become free
// loopback ports (not the defaults 9092 and 8081, which parallel tests
// would fight over). Set cfg.DataDir (t.TempDir()) to test restarts: a
// second Start on the same dir comes back on the same ports with the same
// data, and a Close before the test ends is harmless.
func Start(t testing.TB, cfg broker.Config) *broker.Broker {
	t.Helper()
	if cfg.KafkaAddr == "" {
		cfg.KafkaAddr = "127.0.0.1:0"
	}
	if cfg.RegistryAddr == "" {
		cfg.RegistryAddr = "127.0.0.1:0"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	return b
}
