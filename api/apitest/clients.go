package apitest

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
)

// FollowClients returns a client registry that follows k's ration.clients
// topic, as an API process's does, once it has caught up. The follower
// stops when the test ends.
func FollowClients(t testing.TB, k *Kafka) *auth.Registry {
	t.Helper()
	reg := auth.NewRegistry()
	f := auth.NewFollower(reg, k.Codec, nil, kgo.SeedBrokers(k.Cluster.ListenAddrs()...))
	kafkatest.RunFollower(t, f)
	return reg
}

// AddKey registers an API client with scope on k and returns its key.
func AddKey(t testing.TB, k *Kafka, reg *auth.Registry, name string, scope string) string {
	t.Helper()
	key, err := auth.NewStore(reg, k.Client, k.Codec).CreateKey(context.Background(), name, schemas.Scope(scope))
	if err != nil {
		t.Fatal(err)
	}
	return key
}
