package freeport

import (
	"net"
	"testing"
)

// TestAddrsAreDistinctAndFree: n addresses, no two alike, each bindable
// once returned.
func TestAddrsAreDistinctAndFree(t *testing.T) {
	addrs, err := Addrs("127.0.0.1", 20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			t.Fatalf("%s twice in %v", a, addrs)
		}
		seen[a] = true
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("%s not free: %v", a, err)
		}
		ln.Close()
	}
	if p, err := Port("127.0.0.1"); err != nil || p <= 0 {
		t.Fatalf("Port: %d, %v", p, err)
	}
}
