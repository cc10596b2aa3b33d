package api

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// Config is the HTTP server's configuration. The zero value of a field is
// not its default: start from Defaults.
type Config struct {
	// Addr is the listen address. Default 127.0.0.1:8080.
	Addr string
	// MaxBodyBytes caps a request body; a larger one is answered 413.
	// Default 1 MiB, which holds 10 000 ids of the maximum 64 characters.
	MaxBodyBytes int64
	// MaxIDs caps the user ids of one write request (before duplicates are
	// removed); more are answered 413. Default 10 000.
	MaxIDs int
	// ReadHeaderTimeout bounds reading a request's headers, so slow-loris
	// clients cannot hold connections. Default 5 s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request. Default 30 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end
	// of its response. Default 60 s.
	WriteTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections. Default 120 s.
	IdleTimeout time.Duration
	// BackendTimeout bounds what one request waits for Kafka to acknowledge
	// its records or for the read store to answer, and, apart, what an
	// audited request then waits for its audit record; the request is then
	// answered 503. Twice it stays below WriteTimeout so the client still
	// hears that answer. Default 15 s.
	BackendTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown when Run's context ends.
	// Default 10 s.
	ShutdownTimeout time.Duration
	// RateLimit is the requests per second one client (one key) may make,
	// across all routes; more are answered 429 with Retry-After. Default
	// 1000.
	RateLimit float64
	// RateBurst is how many requests a client may make at once above its
	// rate. Default 2000.
	RateBurst int
}

// Defaults returns the configuration of a local API server.
func Defaults() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		MaxBodyBytes:      1 << 20,
		MaxIDs:            10_000,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		BackendTimeout:    15 * time.Second,
		ShutdownTimeout:   10 * time.Second,
		RateLimit:         1000,
		RateBurst:         2000,
	}
}

// Flags binds c to --http, --max-body-bytes, --max-ids, --rate-limit and
// --rate-burst; the timeouts keep their values (set them in code or the
// config struct).
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Addr, "http", c.Addr, "HTTP API listen address")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "largest request body the HTTP API accepts")
	fs.IntVar(&c.MaxIDs, "max-ids", c.MaxIDs, "most user ids in one HTTP write request")
	fs.Float64Var(&c.RateLimit, "rate-limit", c.RateLimit, "HTTP requests per second one client key may make")
	fs.IntVar(&c.RateBurst, "rate-burst", c.RateBurst, "HTTP requests one client key may make at once above --rate-limit")
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("api: empty listen address"))
	}
	if c.MaxBodyBytes < 1 {
		errs = append(errs, fmt.Errorf("api: max body bytes %d < 1", c.MaxBodyBytes))
	}
	if c.RateLimit <= 0 {
		errs = append(errs, fmt.Errorf("api: rate limit %v must be positive", c.RateLimit))
	}
	if c.RateBurst < 1 {
		errs = append(errs, fmt.Errorf("api: rate burst %d < 1", c.RateBurst))
	}
	if c.MaxIDs < 1 {
		errs = append(errs, fmt.Errorf("api: max ids %d < 1", c.MaxIDs))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"read header timeout", c.ReadHeaderTimeout}, {"read timeout", c.ReadTimeout},
		{"write timeout", c.WriteTimeout}, {"idle timeout", c.IdleTimeout},
		{"backend timeout", c.BackendTimeout}, {"shutdown timeout", c.ShutdownTimeout},
	} {
		if d.d <= 0 {
			errs = append(errs, fmt.Errorf("api: %s %v must be positive", d.name, d.d))
		}
	}
	if 2*c.BackendTimeout >= c.WriteTimeout {
		// An audited request waits for its backend, then for its audit
		// record.
		errs = append(errs, fmt.Errorf("api: backend timeout %v must be below half the write timeout %v", c.BackendTimeout, c.WriteTimeout))
	}
	return errors.Join(errs...)
}
