package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration/chaos"
	"github.com/rationhq/ration/internal/chserver/chtest"
)

// TestChaosRunFindsNoViolations runs `ration chaos` for a minute with
// every kind of fault: the whole stack as processes, crashed, cut,
// stalled and slowed under load, must keep every promise its checkers
// hold it to, and every kind of fault must have been injected.
func TestChaosRunFindsNoViolations(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of load and faults")
	}
	chtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	out, err := exec.CommandContext(ctx, rationBin, "chaos", "--duration", "60s", "--seed", "1", "--rate", "5", "--data-dir", dir).CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if err != nil || !strings.HasPrefix(last, "violations=0 ") {
		t.Fatalf("ration chaos: %v; last line %q; output:\n%s", err, last, out)
	}
	t.Logf("ration chaos:\n%s", out)
	for _, k := range chaos.Kinds {
		if !strings.Contains(string(out), " "+string(k)+": ") {
			t.Errorf("no %s fault injected; output:\n%s", k, out)
		}
	}
}
