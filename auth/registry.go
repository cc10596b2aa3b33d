package auth

import (
	"crypto/subtle"
	"errors"
	"regexp"
	"sort"
	"sync"

	"github.com/rationhq/ration/schemas"
)

var (
	// ErrExists is returned when registering a name that is in use.
	ErrExists = errors.New("client exists")
	// ErrNotFound is returned for a name the registry does not hold.
	ErrNotFound = errors.New("no such client")
	// ErrInvalid is returned for a malformed name, scope or kind.
	ErrInvalid = errors.New("invalid client")
)

// validName is what a client name may be: it becomes a Kafka record key,
// a Kafka user name for workers, and a URL path segment.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidName reports whether name may name a client.
func ValidName(name string) bool { return validName.MatchString(name) }

// Allows reports whether a client with scope have may do what needs need.
func Allows(have, need schemas.Scope) bool { return rank(have) >= rank(need) && rank(need) > 0 }

func rank(s schemas.Scope) int {
	switch s {
	case schemas.ScopeRead:
		return 1
	case schemas.ScopeWrite:
		return 2
	case schemas.ScopeAdmin:
		return 3
	}
	return 0
}

// Principal is an authenticated API client.
type Principal struct {
	Name  string
	Scope schemas.Scope
}

// apiClient is an active API client as the lookup needs it.
type apiClient struct {
	digest Digest
	Principal
}

// Registry is the in-memory copy of the client registry. Apply and Remove
// change it (a Follower calls them for every record of the topic); the
// other methods read it. It is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	byHash map[Digest]*apiClient
	byName map[string]schemas.Client
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byHash: map[Digest]*apiClient{}, byName: map[string]schemas.Client{}}
}

// Authenticate returns the active API client whose key is key. The map
// lookup is by digest, so the time it takes says nothing about any stored
// key; the final comparison is constant-time on the fixed-length digest.
func (r *Registry) Authenticate(key string) (Principal, bool) {
	if !WellFormed(key) {
		return Principal{}, false
	}
	d := HashKey(key)
	r.mu.RLock()
	c, ok := r.byHash[d]
	r.mu.RUnlock()
	if !ok || subtle.ConstantTimeCompare(c.digest[:], d[:]) != 1 {
		return Principal{}, false
	}
	return c.Principal, true
}

// Apply records c as the latest state of its name.
func (r *Registry) Apply(c schemas.Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropHash(c.Name)
	r.byName[c.Name] = c
	if c.Revoked || c.Kind != schemas.ClientAPI {
		return
	}
	d, err := parseDigest(c.KeyHash)
	if err != nil {
		return // a record no key can match
	}
	r.byHash[d] = &apiClient{digest: d, Principal: Principal{Name: c.Name, Scope: c.Scope}}
}

// Remove forgets name (a tombstone).
func (r *Registry) Remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropHash(name)
	delete(r.byName, name)
}

func (r *Registry) dropHash(name string) {
	old, ok := r.byName[name]
	if !ok {
		return
	}
	if d, err := parseDigest(old.KeyHash); err == nil {
		if c, ok := r.byHash[d]; ok && c.Name == name {
			delete(r.byHash, d)
		}
	}
}

// Client returns the latest state of name, revoked or not.
func (r *Registry) Client(name string) (schemas.Client, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.byName[name]
	return c, ok
}

// Clients returns every client the registry holds, revoked ones included,
// ordered by name.
func (r *Registry) Clients() []schemas.Client {
	r.mu.RLock()
	out := make([]schemas.Client, 0, len(r.byName))
	for _, c := range r.byName {
		out = append(out, c)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Len returns the number of active API clients.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.byHash)
}
