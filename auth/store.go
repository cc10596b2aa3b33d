package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
)

// Store changes the registry: it writes to ration.clients (acks=all) and
// then applies the change to its local Registry, so the node that made a
// change sees it at once; other nodes see it through their Follower.
type Store struct {
	reg   *Registry
	cl    *kgo.Client
	codec *schemas.Codec
	now   func() time.Time
}

// NewStore returns a store that produces with cl.
func NewStore(reg *Registry, cl *kgo.Client, codec *schemas.Codec) *Store {
	return &Store{reg: reg, cl: cl, codec: codec, now: time.Now}
}

// Registry returns the registry the store keeps current.
func (s *Store) Registry() *Registry { return s.reg }

// CreateKey registers an API client and returns its key, which is not kept
// anywhere: the caller must hand it over now. A revoked name may be
// registered again; an active one is ErrExists.
func (s *Store) CreateKey(ctx context.Context, name string, scope schemas.Scope) (string, error) {
	if err := s.checkNew(name); err != nil {
		return "", err
	}
	if rank(scope) == 0 {
		return "", fmt.Errorf("%w: scope %q (want read, write or admin)", ErrInvalid, scope)
	}
	key, d, err := NewKey()
	if err != nil {
		return "", err
	}
	c := schemas.Client{Name: name, Kind: schemas.ClientAPI, Scope: scope, KeyHash: d.String(), CreatedAt: s.now()}
	if err := s.put(ctx, c); err != nil {
		return "", err
	}
	return key, nil
}

// AddWorker records a worker client. Its credentials are the
// WorkerProvisioner's business.
func (s *Store) AddWorker(ctx context.Context, name, pipeline string) error {
	if err := s.checkNew(name); err != nil {
		return err
	}
	// Scope is meaningless for a worker (its ACLs say what it may do);
	// the schema needs a symbol, and read is the least.
	return s.put(ctx, schemas.Client{Name: name, Kind: schemas.ClientWorker, Scope: schemas.ScopeRead,
		Pipeline: pipeline, CreatedAt: s.now()})
}

// Revoke marks name revoked; its key stops working on every node.
func (s *Store) Revoke(ctx context.Context, name string) (schemas.Client, error) {
	c, ok := s.reg.Client(name)
	if !ok || c.Revoked {
		return schemas.Client{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	c.Revoked = true
	return c, s.put(ctx, c)
}

func (s *Store) checkNew(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid)
	}
	if c, ok := s.reg.Client(name); ok && !c.Revoked {
		return fmt.Errorf("%w: %q", ErrExists, name)
	}
	return nil
}

func (s *Store) put(ctx context.Context, c schemas.Client) error {
	v, err := s.codec.Encode(&c)
	if err != nil {
		return fmt.Errorf("auth: encode client: %w", err)
	}
	r := &kgo.Record{Topic: schemas.TopicClients, Key: []byte(c.Name), Value: v}
	if err := s.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		return fmt.Errorf("auth: write client %s: %w", c.Name, err)
	}
	s.reg.Apply(c)
	return nil
}

// EnsureTopic creates ration.clients, compacted with one partition (10 000
// clients are a few megabytes), unless it exists.
func EnsureTopic(ctx context.Context, cl *kgo.Client) error {
	compact := "compact"
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact}, schemas.TopicClients)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("auth: create topic %s: %w", schemas.TopicClients, err)
	}
	return nil
}

// EnsureAdminKey makes the key in path an admin key called name: it
// creates a key and writes it to path (mode 0600) if the file is missing,
// and registers the file's key again if the registry lacks it (a fresh
// Kafka). The registry must be caught up (Follower.Ready). It reports
// whether it wrote a new file.
func EnsureAdminKey(ctx context.Context, s *Store, path, name string) (bool, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		key := strings.TrimSpace(string(b))
		if !WellFormed(key) {
			return false, fmt.Errorf("auth: %s does not hold a ration key", path)
		}
		if p, ok := s.reg.Authenticate(key); ok && p.Scope == schemas.ScopeAdmin {
			return false, nil
		}
		c := schemas.Client{Name: name, Kind: schemas.ClientAPI, Scope: schemas.ScopeAdmin,
			KeyHash: HashKey(key).String(), CreatedAt: s.now()}
		return false, s.put(ctx, c)
	case !errors.Is(err, os.ErrNotExist):
		return false, fmt.Errorf("auth: read admin key: %w", err)
	}
	key, d, err := NewKey()
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("auth: admin key dir: %w", err)
	}
	// Written before it is registered: a key registered but lost would
	// need a fresh Kafka to recover from.
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return false, fmt.Errorf("auth: write admin key: %w", err)
	}
	c := schemas.Client{Name: name, Kind: schemas.ClientAPI, Scope: schemas.ScopeAdmin, KeyHash: d.String(), CreatedAt: s.now()}
	return true, s.put(ctx, c)
}
