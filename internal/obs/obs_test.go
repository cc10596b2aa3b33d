package obs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serve runs Serve in the background until the test ends and returns the
// address it listens on, or the error it returned at once.
func serve(t *testing.T, addr string, opts ...Opt) (net.Addr, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, addr, NewRegistry(), func(a net.Addr) { ready <- a }, opts...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve %s: %v", addr, err)
		}
	})
	select {
	case a := <-ready:
		return a, nil
	case err := <-done:
		done <- nil // for the cleanup
		return nil, err
	case <-time.After(5 * time.Second):
		t.Fatalf("serve %s: not listening after 5s", addr)
		return nil, nil
	}
}

func healthy(t *testing.T, a net.Addr) {
	t.Helper()
	resp, err := http.Get("http://" + a.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != `{"status":"ok"}` {
		t.Fatalf("%s/healthz: %d %s", a, resp.StatusCode, body)
	}
}

// freeAddr is a loopback address nothing listens on (for now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDefaultAddressInUseTakesAFreePort: two processes of a role on one
// host both serve when the address is the role's default: the second on
// a free port of the same host, which it logs at INFO.
func TestDefaultAddressInUseTakesAFreePort(t *testing.T) {
	addr := freeAddr(t)
	var mu sync.Mutex
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))

	first, err := serve(t, addr, DefaultAddr(log))
	if err != nil {
		t.Fatal(err)
	}
	second, err := serve(t, addr, DefaultAddr(log))
	if err != nil {
		t.Fatalf("the second serve on the busy default %s: %v", addr, err)
	}
	if first.String() != addr || second.String() == addr {
		t.Fatalf("served on %s and %s, want %s and another port", first, second, addr)
	}
	host, _, _ := net.SplitHostPort(addr)
	if h, _, _ := net.SplitHostPort(second.String()); h != host {
		t.Fatalf("the second serves on %s, want host %s", second, host)
	}
	healthy(t, first)
	healthy(t, second)
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, "level=INFO") || !strings.Contains(out, second.String()) || strings.Count(out, "\n") != 1 {
		t.Fatalf("want one INFO line with the address taken, got:\n%s", out)
	}
}

// TestGivenAddressInUseIsAnError: an address the operator gave that is
// busy stays an error.
func TestGivenAddressInUseIsAnError(t *testing.T) {
	addr := freeAddr(t)
	if _, err := serve(t, addr); err != nil {
		t.Fatal(err)
	}
	if a, err := serve(t, addr); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second serve on the given %s: %v, %v; want address in use", addr, a, err)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
