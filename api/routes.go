package api

import (
	"net/http"
	"strings"

	"github.com/rationhq/ration/schemas"
)

// route is one endpoint the server mounts.
type route struct {
	method string
	path   string // a net/http pattern path, which is also OpenAPI's template syntax
	// scope is what a client's key must allow; "" is a public route.
	scope  schemas.Scope
	handle func(s *Server, w http.ResponseWriter, r *http.Request) error
}

// pattern is the route's net/http pattern and its metrics label.
func (rt route) pattern() string { return rt.method + " " + rt.path }

// routes is the one list of what the server serves. docs/openapi.yaml
// documents exactly these, which TestOpenAPIMatchesRoutes checks.
var routes = []route{
	{http.MethodGet, "/healthz", public, (*Server).healthz},
	{http.MethodGet, "/metrics", public, (*Server).serveMetrics},
	{http.MethodPost, "/v1/dm/users", schemas.ScopeWrite, (*Server).registerUsers},
	{http.MethodGet, "/v1/dm/users", schemas.ScopeRead, (*Server).listUsers},
	{http.MethodGet, "/v1/dm/users/{id}", schemas.ScopeRead, (*Server).getUser},
	{http.MethodGet, "/v1/dm/users/{id}/history", schemas.ScopeRead, (*Server).userHistory},
	{http.MethodPost, "/v1/dm/checks", schemas.ScopeWrite, (*Server).markUsers},
	{http.MethodGet, "/v1/dm/stats", schemas.ScopeRead, (*Server).stats},
	{http.MethodPost, "/v1/clients", schemas.ScopeAdmin, (*Server).addClient},
	{http.MethodGet, "/v1/clients", schemas.ScopeAdmin, (*Server).listClients},
	{http.MethodDelete, "/v1/clients/{name}", schemas.ScopeAdmin, (*Server).revokeClient},
	{http.MethodGet, "/v1/audit", schemas.ScopeAdmin, (*Server).audit},
	{http.MethodGet, "/v1/dead", schemas.ScopeAdmin, (*Server).listDead},
	{http.MethodPost, "/v1/dead/replay", schemas.ScopeAdmin, (*Server).replayDead},
	{http.MethodPost, "/v1/dead/purge", schemas.ScopeAdmin, (*Server).purgeDead},
	{http.MethodPost, "/v1/reprocess/runs", schemas.ScopeAdmin, (*Server).runReprocess},
	{http.MethodGet, "/v1/reprocess/runs/{id}", schemas.ScopeAdmin, (*Server).getReprocessRun},
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
	for _, rt := range routes {
		mux.Handle(rt.pattern(), s.metrics.instrument(rt.pattern(), s.authorize(rt, s.serve(rt.pattern(), rt.handle))))
		if allowed[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for _, p := range paths {
		allow := strings.Join(allowed[p], ", ")
		mux.Handle(p, s.metrics.instrument(p, s.serve(p, func(_ *Server, w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allow)
			return errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s; allowed: %s", clip(r.Method, 16), p, allow)
		})))
	}
	mux.Handle("/", s.metrics.instrument("/", s.serve("/", func(_ *Server, _ http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "no route %s %s", clip(r.Method, 16), clip(r.URL.Path, 200))
	})))
	return mux
}

// serve adapts a handler that returns its failure, so that every error
// answer has the same JSON shape and the same log line.
func (s *Server) serve(route string, h func(*Server, http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(s, w, r); err != nil {
			s.fail(w, r, route, err)
		}
	})
}
