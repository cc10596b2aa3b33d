package pipelinetest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/producer"
	"github.com/rationhq/ration/schemas"
)

// APICluster is an in-process Kafka with a pipeline's topics and a client
// registry, in front of which API processes serving the pipeline's routes
// start (no ClickHouse: reads of what only it holds answer 503).
type APICluster struct {
	*apitest.Kafka
	Clients *auth.Registry
	d       pipeline.Descriptor
}

// NewAPICluster starts the Kafka of d's routes.
func NewAPICluster(t testing.TB, d pipeline.Descriptor) *APICluster {
	t.Helper()
	k := apitest.NewKafka(t, Setup(d))
	return &APICluster{Kafka: k, Clients: apitest.FollowClients(t, k), d: d}
}

// Node starts one API process with the pipeline's routes, once the
// followers they need have caught up, and returns a caller without a key.
func (c *APICluster) Node(t testing.TB) apitest.Caller {
	t.Helper()
	cfg := api.Defaults()
	tasks := &api.Tasks{}
	routes, err := c.d.Routes(api.Backends{Kafka: c.Client, KafkaOpts: []kgo.Opt{kgo.SeedBrokers(c.Addrs()...)},
		Codec: c.Codec, Config: cfg, Tasks: tasks})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tasks.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if err := tasks.Ready(rctx); err != nil {
		t.Fatal("tasks not ready:", err)
	}
	srv, err := api.New(cfg, api.Deps{Routes: routes, Clients: c.Clients, Audit: producer.NewAudit(c.Client, c.Codec, nil)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return apitest.Caller{URL: hs.URL, HTTP: hs.Client()}
}

// Key registers an API client and returns its key.
func (c *APICluster) Key(t testing.TB, name string, scope schemas.Scope) string {
	t.Helper()
	return apitest.AddKey(t, c.Kafka, c.Clients, name, string(scope))
}
