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
	// Scope is what a client's key must allow; Public needs no key.
	Scope schemas.Scope
	// Handle answers a request, or returns the answer's *Error (any other
	// error is a 500): every error answer has the same JSON shape and log
	// line.
	Handle func(w http.ResponseWriter, r *http.Request) error
	// Users, if set, authenticates the route's callers that are not API
	// clients (a pipeline's own users, by their tokens): a bearer it
	// knows is the caller, with the scope it gives; any other bearer is
	// looked up among the API's clients.
	Users Authenticator
}

// Pattern is the route's net/http pattern and its metrics label.
func (rt Route) Pattern() string { return rt.Method + " " + rt.Path }

// Routes lists what the server serves: its own routes, then the
// pipelines'. docs/openapi.yaml documents exactly these for ration's
// pipelines, which a test in package pipelines checks.
func (s *Server) Routes() []Route {
	own := []Route{
		{Method: http.MethodGet, Path: "/healthz", Scope: Public, Handle: s.healthz},
		{Method: http.MethodGet, Path: "/metrics", Scope: Public, Handle: s.serveMetrics},
		{Method: http.MethodPost, Path: "/v1/clients", Scope: schemas.ScopeAdmin, Handle: s.addClient},
		{Method: http.MethodGet, Path: "/v1/clients", Scope: schemas.ScopeAdmin, Handle: s.listClients},
		{Method: http.MethodDelete, Path: "/v1/clients/{name}", Scope: schemas.ScopeAdmin, Handle: s.revokeClient},
		{Method: http.MethodGet, Path: "/v1/audit", Scope: schemas.ScopeAdmin, Handle: s.audit},
		{Method: http.MethodGet, Path: "/v1/dead", Scope: schemas.ScopeAdmin, Handle: s.listDead},
		{Method: http.MethodPost, Path: "/v1/dead/replay", Scope: schemas.ScopeAdmin, Handle: s.replayDead},
		{Method: http.MethodPost, Path: "/v1/dead/purge", Scope: schemas.ScopeAdmin, Handle: s.purgeDead},
		{Method: http.MethodPost, Path: "/v1/reprocess/runs", Scope: schemas.ScopeAdmin, Handle: s.runReprocess},
		{Method: http.MethodGet, Path: "/v1/reprocess/runs/{id}", Scope: schemas.ScopeAdmin, Handle: s.getReprocessRun},
		{Method: http.MethodGet, Path: "/v1/pipelines", Scope: schemas.ScopeRead, Handle: s.pipelines},
	}
	return append(own, s.deps.Routes...)
}

// Public marks a route that needs no key: probes, scrapers, a login.
const Public schemas.Scope = ""

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
