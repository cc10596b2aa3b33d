// Package netcut is a TCP proxy that can cut every connection through it
// at once: the network that drops clients' connections in `ration bench
// points --chaos` and `ration chaos`. The target may be down for a while
// (a restarted server); a connection then fails as the client's would.
package netcut

import (
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards TCP connections to a target.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

// New listens on a free loopback port and forwards to target.
func New(target string) (*Proxy, error) {
	return Listen("127.0.0.1:0", target)
}

// Listen listens on addr and forwards to target.
func Listen(addr, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *Proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

func (p *Proxy) pipe(c net.Conn) {
	u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	p.track(c, u)
	go func() {
		_, _ = io.Copy(u, c)
		_ = u.Close()
	}()
	_, _ = io.Copy(c, u)
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// Cut closes every connection through the proxy and returns how many.
func (p *Proxy) Cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
		n++
	}
	return n / 2
}

// Close stops listening and cuts every connection.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.Cut()
}
