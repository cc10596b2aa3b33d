package conformance

import (
	"os"
	"testing"
)

// A worker process of a test here is this binary, started again: Child
// runs it and exits.
func TestMain(m *testing.M) {
	Child(relay, counter)
	os.Exit(m.Run())
}
