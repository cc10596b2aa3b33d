// Package freeport asks the kernel for TCP ports nothing listens on, for
// processes that must be told their address before they bind it (a
// broker after the first, a ClickHouse server, a chaos run's stack). A
// port is free when asked; another process may take it before it is
// bound, so callers that can retry with another do.
package freeport

import (
	"fmt"
	"net"
	"strconv"
)

// Addrs returns n distinct host:port addresses on host nothing listens on
// now.
func Addrs(host string, n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port on %s: %w", host, err)
		}
		out[i] = ln.Addr().String()
		// Closed only after all are taken, so no two are the same.
		defer ln.Close()
	}
	return out, nil
}

// Port returns one port on host nothing listens on now.
func Port(host string) (int, error) {
	addrs, err := Addrs(host, 1)
	if err != nil {
		return 0, err
	}
	_, p, _ := net.SplitHostPort(addrs[0])
	return strconv.Atoi(p)
}
