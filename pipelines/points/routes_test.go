package points_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/pipeline/pipelinetest"
	"github.com/rationhq/ration/pipelines/points"
	"github.com/rationhq/ration/producer"
)

// cluster is a Kafka with the points pipeline's topics and a client
// registry, in front of which API processes start.
type cluster struct {
	*apitest.Kafka
	clients *auth.Registry
}

// node starts one API process with the points routes (no ClickHouse).
func (c *cluster) node(t *testing.T) apitest.Caller {
	t.Helper()
	cfg := api.Defaults()
	tasks := &api.Tasks{}
	routes, err := points.Routes(api.Backends{Kafka: c.Client, KafkaOpts: []kgo.Opt{kgo.SeedBrokers(c.Addrs()...)},
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
	srv, err := api.New(cfg, api.Deps{Routes: routes, Clients: c.clients, Audit: producer.NewAudit(c.Client, c.Codec, nil)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return apitest.Caller{URL: hs.URL, HTTP: hs.Client()}
}

// startLedger runs a ledger worker until the test ends.
func (c *cluster) startLedger(t *testing.T) {
	t.Helper()
	pipelinetest.StartWorker(t, points.New(), nil, c.Addrs(), c.Codec, "ledger-test")
}

func decode[V any](t *testing.T, b []byte) V {
	t.Helper()
	var v V
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

// TestTwoAPIProcessesAndALateLedger: a user created on one API process
// logs in on another and that token works on the first (they share the
// secret); a command the ledger does not decide within the API's wait is
// a 202 with where to poll, and sent again once a ledger runs it is
// decided once — the same group either way.
func TestTwoAPIProcessesAndALateLedger(t *testing.T) {
	t.Setenv(points.SecretEnv, "a secret the two API processes share, 32+ bytes")
	k := apitest.NewKafka(t, pipelinetest.Setup(points.New()))
	c := &cluster{Kafka: k, clients: apitest.FollowClients(t, k)}
	a, b := c.node(t), c.node(t)
	admin := apitest.AddKey(t, c.Kafka, c.clients, "signup", "admin")

	status, body := a.As(admin).PostJSON(t, "/v1/points/users", ration.PointsNewUser{Name: "alice", Password: "pw-of-alice", Region: "R3"})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	user := decode[struct {
		UserID string `json:"user_id"`
	}](t, body).UserID
	status, body = b.PostJSON(t, "/v1/points/login", ration.PointsLogin{UserID: user, Password: "pw-of-alice"})
	if status != http.StatusOK {
		t.Fatalf("login on the other process: %d %s", status, body)
	}
	token := decode[ration.PointsSession](t, body).Token

	create := ration.PointsNewGroup{Name: "flat", Location: "Oslo", CommandID: "g1"}
	start := time.Now()
	status, body = a.As(token).PostJSON(t, "/v1/points/groups", create)
	pending := decode[ration.PointsOutcome](t, body)
	if status != http.StatusAccepted || pending.Outcome != ration.PointsPending || pending.Poll != "/v1/points/groups/"+pending.GroupID+"/commands/g1" {
		t.Fatalf("no ledger: %d %s, want 202 pending with a poll URL", status, body)
	}
	if waited := time.Since(start); waited < points.OutcomeWait {
		t.Fatalf("answered pending after %v, before the API's wait of %v", waited, points.OutcomeWait)
	}

	c.startLedger(t)
	// Sent again until decided, as a client would: each try waits up to
	// the API's 2 s while the ledger joins its group.
	for deadline := time.Now().Add(30 * time.Second); ; {
		status, body = a.As(token).PostJSON(t, "/v1/points/groups", create)
		if status != http.StatusAccepted || time.Now().After(deadline) {
			break
		}
	}
	got := decode[ration.PointsOutcome](t, body)
	if status != http.StatusCreated || got.Outcome != ration.PointsApplied || got.GroupID != pending.GroupID || got.Seq != 1 {
		t.Fatalf("sent again with a ledger: %d %s, want group %s created once", status, body, pending.GroupID)
	}
}
