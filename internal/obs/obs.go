// Package obs builds the logger every role uses and serves /metrics and
// /healthz for roles that have no HTTP server of their own. A role's
// default metrics address gives way to a free port when another process
// on the host has it (DefaultAddr), so several workers start on one host
// with no flag.
package obs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewLogger returns a slog logger writing to w in format "text" or "json"
// at level "debug", "info", "warn" or "error".
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want text or json", format)
	}
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// MetricsHandler serves reg in Prometheus text format.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// Opt tunes Serve.
type Opt func(*serveOpts)

type serveOpts struct {
	defaultAddr bool
	log         *slog.Logger
}

// DefaultAddr says Serve's addr is the role's default, not an address the
// operator gave. If it is in use (by another process of the role on this
// host: several workers on one machine), Serve listens on a free port of
// the same host instead and logs the address it took at INFO on log (nil:
// discard). Without it, a busy address is an error, as an address the
// operator gave should be.
func DefaultAddr(log *slog.Logger) Opt {
	return func(o *serveOpts) { o.defaultAddr, o.log = true, log }
}

// Serve serves /metrics and /healthz on addr until ctx ends. An empty addr
// serves nothing and returns when ctx ends. ready is called once the
// listener is bound, with its address (useful with port 0 and with
// DefaultAddr).
func Serve(ctx context.Context, addr string, reg *prometheus.Registry, ready func(net.Addr), opts ...Opt) error {
	if addr == "" {
		<-ctx.Done()
		return nil
	}
	var o serveOpts
	for _, opt := range opts {
		opt(&o)
	}
	ln, err := listen(addr, o)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", MetricsHandler(reg))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// Register registers c on reg and returns it, or the collector registered
// before under the same descriptors: several workers of one process (ration
// dev) share their metrics.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// listen listens on addr, or, if it is the role's default and in use, on
// a free port of its host.
func listen(addr string, o serveOpts) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil || !o.defaultAddr || !errors.Is(err, syscall.EADDRINUSE) {
		return ln, err
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		return nil, err
	}
	ln, freeErr := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if freeErr != nil {
		return nil, errors.Join(err, freeErr)
	}
	if o.log != nil {
		o.log.Info("default metrics address in use (another process on this host); serving metrics on a free port",
			"default", addr, "addr", ln.Addr().String())
	}
	return ln, nil
}
