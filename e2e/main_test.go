// Package e2e runs ration's workers as real operating-system processes
// against an in-test kfake broker and a schema registry served over HTTP,
// then crashes, stalls and restarts them. It checks the promises that only
// hold across processes and the Kafka protocol: every mark checked and
// committed exactly once after a crash (DM-9), a crashed worker's buckets
// moving within the session timeout (DM-4), a stalled zombie fenced from
// committing (DM-2), and a restarted static member getting its buckets back
// without a rebalance while a graceful stop hands them over at once (DM-4).
//
// TestMain builds cmd/ration once; each test starts its own broker. Tests
// synchronise on what the processes log (their JSON lines are parsed as
// they arrive) and on what the read_committed result topic holds, never on
// sleeps.
package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// rationBin is the ration binary TestMain built.
var rationBin string

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	if spec := os.Getenv(groupMemberEnv); spec != "" { // this binary run as a group member
		return runGroupMember(spec)
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "ration-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	rationBin = filepath.Join(dir, "ration")
	build := exec.Command("go", "build", "-o", rationBin, "./cmd/ration")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/ration: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// moduleRoot is the nearest directory at or above the working directory
// that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}
