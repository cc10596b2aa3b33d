package auth_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
)

// node is one API process's view of the registry: a registry, its follower
// and a store, on a shared Kafka.
type node struct {
	reg   *auth.Registry
	store *auth.Store
}

func newNode(t *testing.T, k *apitest.Kafka) *node {
	t.Helper()
	reg := auth.NewRegistry()
	f := auth.NewFollower(reg, k.Codec, nil, kgo.SeedBrokers(k.Cluster.ListenAddrs()...))
	kafkatest.RunFollower(t, f)
	return &node{reg: reg, store: auth.NewStore(reg, k.Client, k.Codec)}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegistrationsAndRevocationsReachOtherNodes(t *testing.T) {
	k := apitest.NewKafka(t)
	a := newNode(t, k)
	ctx := context.Background()
	key, err := a.store.CreateKey(ctx, "ci", schemas.ScopeWrite)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.reg.Authenticate(key); !ok {
		t.Fatal("the registering node does not know the key at once")
	}
	if _, err := a.store.CreateKey(ctx, "ci", schemas.ScopeRead); err == nil {
		t.Fatal("an active name registered twice")
	}

	b := newNode(t, k) // starts after the registration: catches up
	if p, ok := b.reg.Authenticate(key); !ok || p.Scope != schemas.ScopeWrite {
		t.Fatalf("a node started later does not know the key: %+v %v", p, ok)
	}

	if _, err := a.store.Revoke(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "revocation reaches the other node", func() bool {
		_, ok := b.reg.Authenticate(key)
		return !ok
	})

	// A tombstone revokes too.
	key2, err := b.store.CreateKey(ctx, "ops", schemas.ScopeAdmin)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "registration reaches the other node", func() bool {
		_, ok := a.reg.Authenticate(key2)
		return ok
	})
	if err := k.Client.ProduceSync(ctx, &kgo.Record{Topic: schemas.TopicClients, Key: []byte("ops")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "tombstone reaches both nodes", func() bool {
		_, okA := a.reg.Authenticate(key2)
		_, okB := b.reg.Authenticate(key2)
		return !okA && !okB
	})
}

func TestEnsureAdminKeySurvivesRestartsAndFreshKafka(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.key")
	k := apitest.NewKafka(t)
	n := newNode(t, k)
	ctx := context.Background()
	created, err := auth.EnsureAdminKey(ctx, n.store, path, "admin")
	if err != nil || !created {
		t.Fatalf("first start: created %v, %v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin key mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	key := string(b[:len(b)-1])
	if p, ok := n.reg.Authenticate(key); !ok || p.Scope != schemas.ScopeAdmin {
		t.Fatalf("admin key: %+v %v", p, ok)
	}

	n2 := newNode(t, k) // a restart: same Kafka
	if created, err := auth.EnsureAdminKey(ctx, n2.store, path, "admin"); err != nil || created {
		t.Fatalf("restart: created %v, %v", created, err)
	}
	if _, ok := n2.reg.Authenticate(key); !ok {
		t.Fatal("admin key lost on restart")
	}

	n3 := newNode(t, apitest.NewKafka(t)) // a fresh Kafka: the file's key is registered again
	if created, err := auth.EnsureAdminKey(ctx, n3.store, path, "admin"); err != nil || created {
		t.Fatalf("fresh kafka: created %v, %v", created, err)
	}
	if _, ok := n3.reg.Authenticate(key); !ok {
		t.Fatal("admin key not registered on a fresh Kafka")
	}
}

// TestFollowerIsReadyWhenTheLastOffsetsHoldNoRecord: the end offset of a
// partition can lie past its last readable record (an aborted write's
// control marker, a compacted-away tombstone); the follower must still
// become ready.
func TestFollowerIsReadyWhenTheLastOffsetsHoldNoRecord(t *testing.T) {
	k := apitest.NewKafka(t)
	tx, err := kgo.NewClient(kgo.SeedBrokers(k.Cluster.ListenAddrs()...), kgo.TransactionalID("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	ctx := context.Background()
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(ctx, &kgo.Record{Topic: schemas.TopicClients, Key: []byte("x"), Value: []byte("junk")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := tx.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n := newNode(t, k) // fails unless ready within 10 s
	if _, ok := n.reg.Client("x"); ok {
		t.Fatal("an aborted record was applied")
	}
	t.Logf("ready after %v", time.Since(start))
}
