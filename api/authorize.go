package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/schemas"
)

// Authenticator finds the client a key belongs to (auth.Registry).
type Authenticator interface {
	Authenticate(key string) (auth.Principal, bool)
}

var _ Authenticator = (*auth.Registry)(nil)

type principalKey struct{}

// principalOf returns the client that made r, if it was authenticated.
func principalOf(r *http.Request) (auth.Principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(auth.Principal)
	return p, ok
}

// Anonymous is the caller of a server without authentication (Deps.Clients
// nil): an admin.
var Anonymous = auth.Principal{Name: "anonymous", Scope: schemas.ScopeAdmin}

// Caller returns the client that made r: for a route whose answer depends
// on who asks (a client reads its own receipts).
func Caller(r *http.Request) auth.Principal {
	if p, ok := principalOf(r); ok {
		return p
	}
	return Anonymous
}

// authorize guards a route: a key that a registered, unrevoked client
// holds (401 otherwise), within the client's rate limit (429), and a scope
// that covers the route's (403). Every authenticated request that is not a
// GET, and every request to an admin route, is audited with its outcome,
// and answered only once its audit record is written (503 if it cannot
// be). The key never reaches a log line, an error message or an audit
// record.
func (s *Server) authorize(rt Route, h http.Handler) http.Handler {
	if rt.Scope == Public || (s.deps.Clients == nil && rt.Users == nil) {
		return h
	}
	pattern := rt.Pattern()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(r, rt.Users)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ration"`)
			s.fail(w, r, pattern, Errorf(http.StatusUnauthorized, "a valid API key is required: Authorization: Bearer KEY"))
			return
		}
		if wait, ok := s.limits.allow(p.Name, time.Now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
			s.fail(w, r, pattern, Errorf(http.StatusTooManyRequests, "client %s is over its rate limit; retry later", p.Name))
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if (r.Method == http.MethodGet && rt.Scope != schemas.ScopeAdmin) || s.deps.Audit == nil {
			s.serveAllowed(w, r, rt, pattern, p, h)
			return
		}
		rec := newAuditRecorder()
		r = r.WithContext(context.WithValue(r.Context(), auditTargetKey{}, &rec.target))
		s.serveAllowed(rec, r, rt, pattern, p, h)
		s.audited(w, r, pattern, p.Name, rec)
	})
}

// serveAllowed serves r with h if p's scope covers the route, and answers
// 403 otherwise.
func (s *Server) serveAllowed(w http.ResponseWriter, r *http.Request, rt Route, pattern string, p auth.Principal, h http.Handler) {
	if !auth.Allows(p.Scope, rt.Scope) {
		s.fail(w, r, pattern, Errorf(http.StatusForbidden, "client %s has scope %s; %s needs %s", p.Name, p.Scope, pattern, rt.Scope))
		return
	}
	h.ServeHTTP(w, r)
}

// authenticate reads the bearer of r and looks it up: among users (nil:
// the route has none), then among the API's clients. Without a client
// registry, a request that is no user's is Anonymous.
func (s *Server) authenticate(r *http.Request, users Authenticator) (auth.Principal, bool) {
	h := r.Header.Get("Authorization")
	const bearer = "Bearer "
	key := ""
	if len(h) > len(bearer) && strings.EqualFold(h[:len(bearer)], bearer) {
		key = strings.TrimSpace(h[len(bearer):])
	}
	if users != nil && key != "" {
		if p, ok := users.Authenticate(key); ok {
			return p, true
		}
	}
	switch {
	case s.deps.Clients == nil:
		return Anonymous, true
	case key == "":
		return auth.Principal{}, false
	}
	return s.deps.Clients.Authenticate(key)
}
