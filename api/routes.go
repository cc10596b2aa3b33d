package api

import (
	"net/http"
	"strings"

	"github.com/rationhq/ration/schemas"
)

// Route is one endpoint the server mounts: the server's own (health,
// metrics, clients, audit, dead letters, reprocessing, pipelines) and each
// pipeline's (Deps.Routes).
type Route struct {
	Method string
	// Path is a net/http pattern path, which is also OpenAPI's template
	// syntax.
	Path string
	// Scope is what a client's key must allow; "" is a public route.
	Scope schemas.Scope
	// Handle answers a request, or returns the answer's *Error (any other
	// error is a 500): every error answer has the same JSON shape and log
	// line.
	Handle func(w http.ResponseWriter, r *http.Request) error
}

// Pattern is the route's net/http pattern and its metrics label.
func (rt Route) Pattern() string { return rt.Method + " " + rt.Path }

// Routes lists what the server serves: its own routes, then the
// pipelines'. docs/openapi.yaml documents exactly these for ration's
// pipelines, which a test in package pipelines checks.
func (s *Server) Routes() []Route {
	own := []Route{
		{http.MethodGet, "/healthz", public, s.healthz},
		{http.MethodGet, "/metrics", public, s.serveMetrics},
		{http.MethodPost, "/v1/clients", schemas.ScopeAdmin, s.addClient},
		{http.MethodGet, "/v1/clients", schemas.ScopeAdmin, s.listClients},
		{http.MethodDelete, "/v1/clients/{name}", schemas.ScopeAdmin, s.revokeClient},
		{http.MethodGet, "/v1/audit", schemas.ScopeAdmin, s.audit},
		{http.MethodGet, "/v1/dead", schemas.ScopeAdmin, s.listDead},
		{http.MethodPost, "/v1/dead/replay", schemas.ScopeAdmin, s.replayDead},
		{http.MethodPost, "/v1/dead/purge", schemas.ScopeAdmin, s.purgeDead},
		{http.MethodPost, "/v1/reprocess/runs", schemas.ScopeAdmin, s.runReprocess},
		{http.MethodGet, "/v1/reprocess/runs/{id}", schemas.ScopeAdmin, s.getReprocessRun},
		{http.MethodGet, "/v1/pipelines", schemas.ScopeRead, s.pipelines},
	}
	return append(own, s.deps.Routes...)
}

// public marks a route that needs no key: probes and scrapers.
const public schemas.Scope = ""

// mount builds the handler of every route, and of everything else.
// net/http's mux answers an unknown path or a wrong method in plain text;
// the API promises JSON, so every route's bare path is mounted as well (a
// method pattern wins over a bare one) to answer 405, and "/" to answer 404.
func (s *Server) mount() http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range s.Routes() {
		mux.Handle(rt.Pattern(), s.metrics.instrument(rt.Pattern(), s.authorize(rt, s.serve(rt.Pattern(), rt.Handle))))
		if allowed[rt.Path] == nil {
			paths = append(paths, rt.Path)
		}
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
	}
	for _, p := range paths {
		allow := strings.Join(allowed[p], ", ")
		mux.Handle(p, s.metrics.instrument(p, s.serve(p, func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allow)
			return Errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s; allowed: %s", Clip(r.Method, 16), p, allow)
		})))
	}
	mux.Handle("/", s.metrics.instrument("/", s.serve("/", func(_ http.ResponseWriter, r *http.Request) error {
		return Errorf(http.StatusNotFound, "no route %s %s", Clip(r.Method, 16), Clip(r.URL.Path, 200))
	})))
	return mux
}

// serve adapts a handler that returns its failure, so that every error
// answer has the same JSON shape and the same log line.
func (s *Server) serve(route string, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, route, err)
		}
	})
}
