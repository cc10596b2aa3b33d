package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// addressesFile, in the data dir, keeps the ports picked for port 0: the
// brokers' addresses are in every client's config, so a restarted broker
// must come back where it was.
const addressesFile = "addresses.json"

type addresses struct {
	KafkaPort    int `json:"kafka_port"`
	RegistryPort int `json:"registry_port"`
	// OtherKafkaPorts are the ports of the brokers after the first.
	OtherKafkaPorts []int `json:"other_kafka_ports,omitempty"`
}

// loadAddresses reads the kept ports; a missing file (first start, or no
// data dir) gives zero ports.
func loadAddresses(dir string) (addresses, error) {
	var a addresses
	if dir == "" {
		return a, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, addressesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return a, fmt.Errorf("read kept addresses: %w", err)
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("parse %s: %w", filepath.Join(dir, addressesFile), err)
	}
	return a, nil
}

// saveAddresses writes the ports through a rename so that a crash never
// leaves a half-written file behind.
func saveAddresses(dir string, a addresses) error {
	if dir == "" {
		return nil
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, addressesFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("keep addresses: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, addressesFile)); err != nil {
		return fmt.Errorf("keep addresses: %w", err)
	}
	return nil
}

// pickPort returns the configured port, or the kept one when the config
// asks for any port (0).
func pickPort(configured, kept int) int {
	if configured != 0 {
		return configured
	}
	return kept
}

// listen binds host:port; net's error names the address.
func listen(host string, port int) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
}

// portOf returns the port of a host:port the broker itself bound.
func portOf(hostport string) int {
	_, p, _ := net.SplitHostPort(hostport)
	n, _ := strconv.Atoi(p)
	return n
}
