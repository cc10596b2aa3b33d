package registrar

import (
	"crypto/sha256"
	"sync"
)

// outcome is what a registration call came to.
type outcome int

const (
	registered outcome = iota // the first call with the key: 201
	replayed                  // the same key and body again: 200, nothing new
	conflict                  // the same key with another body: 422
	refused                   // a new key the service refuses: 422
)

// store is a simulator's idempotency store: the body digest of every key
// registered. The number is not kept; it follows from the key. Safe for
// concurrent use.
type store struct {
	mu      sync.Mutex
	digests map[string][sha256.Size]byte
}

// register records key with its body's digest, unless the key is new and
// refuse holds. Looking up and recording are one step, so calls racing
// with one key make one registration.
func (s *store) register(key string, digest [sha256.Size]byte, refuse bool) outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.digests[key]; ok {
		if d != digest {
			return conflict
		}
		return replayed
	}
	if refuse {
		return refused
	}
	if s.digests == nil {
		s.digests = make(map[string][sha256.Size]byte)
	}
	s.digests[key] = digest
	return registered
}

// len is the number of keys registered.
func (s *store) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.digests)
}
