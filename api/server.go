package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/internal/obs"
)

// Deps are the parts the server talks to.
type Deps struct {
	// Routes are the pipelines' routes (a pipeline's descriptor builds
	// them from Backends), mounted after the server's own.
	Routes []Route
	// Log receives request failures (WARN for rejected input, ERROR for
	// failed dependencies) and accepted writes (INFO). Nil logs nothing.
	Log *slog.Logger
	// Registry gets the server's metrics and is what /metrics serves. Nil
	// uses a registry of the server's own.
	Registry *prometheus.Registry
	// Ready tells /healthz whether to answer 200 or 503. Nil is always
	// ready.
	Ready func() bool
	// Clients authenticates requests (an auth.Registry kept current by an
	// auth.Follower). Nil turns authentication off: every route is open,
	// for tests and embedders that guard the API otherwise; New logs a
	// warning.
	Clients Authenticator
	// ClientStore registers and revokes clients (/v1/clients). Nil
	// answers those routes with 503.
	ClientStore *auth.Store
	// Workers creates workers' Kafka credentials. Nil answers a worker
	// registration with 501.
	Workers auth.WorkerProvisioner
	// Audit records every authenticated request that is not a GET, and
	// every request to an admin route; such a request is answered only
	// once its record is written, and 503 if it cannot be. Nil records
	// nothing.
	Audit Auditor
	// DeadLetters are the dead letters and parked items of each stage,
	// for /v1/dead, in the pipelines' stage order (a request that names no
	// stage gets the first of its pipeline). Nil answers those routes with
	// 503.
	DeadLetters []DeadLetterSet
	// AuditReader answers GET /v1/audit. Nil answers it with 503.
	AuditReader ration.AuditReader
	// Reprocessor runs POST /v1/reprocess/runs. Nil answers it with 503.
	Reprocessor Reprocessor
	// Buckets answers GET /v1/pipelines: every stage's buckets, owners
	// and lag (an internal/buckets Inspector). Nil answers it with 503.
	Buckets ration.BucketsReader
}

// Server is the HTTP API. Handler serves it in tests and embedders; Run
// serves it on a listener of its own.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	metrics *metrics
	limits  *limits
	handler http.Handler
	runs    reprocessRuns

	metricsHandler http.Handler
}

// New validates cfg and returns a server. It registers the server's metrics
// on deps.Registry, so one registry holds one server.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(deps.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps, log: log.With("component", "api"), metrics: m,
		limits: newLimits(cfg.RateLimit, cfg.RateBurst), metricsHandler: obs.MetricsHandler(deps.Registry)}
	if deps.Clients == nil {
		s.log.Warn("api authentication is off: no client registry")
	}
	s.handler = s.mount()
	return s, nil
}

// Handler returns the server's routes, for httptest or another server.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on cfg.Addr, calls ready (if not nil) with the bound address
// (port 0 picks a free one), and serves until ctx ends. It then stops
// accepting, lets requests in flight finish within cfg.ShutdownTimeout and
// returns nil; it returns an error if it cannot listen or serving fails.
func (s *Server) Run(ctx context.Context, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("api: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("api listening", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	if shutdownErr != nil {
		// Requests still running after the grace period are cut off.
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve: %w", err)
	}
	if shutdownErr != nil {
		return fmt.Errorf("api: shutdown: %w", shutdownErr)
	}
	return nil
}

// fail answers a request with err and logs it: rejected input at WARN with
// the route and the reason (never the body), failed dependencies at ERROR
// with the cause, which the client does not see.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, route string, err error) {
	var he *Error
	if !errors.As(err, &he) {
		he = &Error{status: http.StatusInternalServerError, msg: "internal error", cause: err}
	}
	if he.status >= 500 {
		s.log.Error("request failed", "route", route, "status", he.status, "reason", he.msg, "err", he.cause)
	} else {
		s.log.Warn("request rejected", "route", route, "status", he.status, "reason", he.msg, "remote", r.RemoteAddr)
	}
	WriteJSON(w, he.status, errorBody{Error: he.msg, Reasons: he.reasons})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	if s.deps.Ready != nil && !s.deps.Ready() {
		// Not logged: probes ask every few seconds while starting up.
		WriteJSON(w, http.StatusServiceUnavailable, errorBody{Error: "not ready"})
		return nil
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metricsHandler.ServeHTTP(w, r)
	return nil
}
