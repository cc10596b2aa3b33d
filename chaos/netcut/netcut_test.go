package netcut

import (
	"bufio"
	"net"
	"testing"
)

// TestCutClosesEveryConnectionAndNewOnesStillPass: a cut drops the open
// connections, as a network would, and the proxy keeps forwarding.
func TestCutClosesEveryConnectionAndNewOnesStillPass(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					_, _ = c.Write([]byte(sc.Text() + "\n"))
				}
			}()
		}
	}()
	p, err := New(echo.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	roundTrip := func(c net.Conn) error {
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return err
		}
		_, err := bufio.NewReader(c).ReadString('\n')
		return err
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(c); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if n := p.Cut(); n != 1 {
		t.Fatalf("Cut = %d connections, want 1", n)
	}
	if err := roundTrip(c); err == nil {
		t.Fatal("a cut connection still answers")
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := roundTrip(c2); err != nil {
		t.Fatalf("a new connection after the cut: %v", err)
	}
}
