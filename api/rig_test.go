package api

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/deadletter"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/producer"
	"github.com/rationhq/ration/schemas"
)

// The rig's dead letters: pipeline dm's stages check (dead letters and
// parked items) and state (dead letters only), because a request that
// names no pipeline gets dm's, and pipeline toy's one stage. Package api
// cannot import the pipelines, so the topics are named here; a replay
// sends the rig's records back to checksTopic.
var rigDeadLetters = []struct {
	key   ration.DeadLetterKey
	topic string
}{
	{ration.DeadLetterKey{Pipeline: "dm", Stage: "check"}, "ration.dm.check.dead"},
	{ration.DeadLetterKey{Pipeline: "dm", Stage: "check", Parked: true}, "ration.dm.check.parked"},
	{ration.DeadLetterKey{Pipeline: "dm", Stage: "state"}, "ration.dm.state.dead"},
	{ration.DeadLetterKey{Pipeline: "toy", Stage: "only"}, "ration.toy.only.dead"},
}

const checksTopic = "ration.dm.checks"

// rigTopics are the topics the rig's Kafka has besides the shared ones.
func rigTopics() kafkatest.Setup {
	s := kafkatest.Setup{Topics: []kafkaconn.TopicSpec{{Name: checksTopic}}}
	for _, d := range rigDeadLetters {
		s.Topics = append(s.Topics, kafkaconn.TopicSpec{Name: d.topic})
	}
	return s
}

// rig is an API server in front of a real in-process Kafka and schema
// registry, with a client registry that follows the Kafka topic, the
// dead letters of rigDeadLetters, a toy pipeline's routes, and an admin
// key that requests carry unless told otherwise.
type rig struct {
	apitest.Caller
	*apitest.Kafka
	reg     *prometheus.Registry
	clients *auth.Store
	srv     *Server
	logs    *apitest.Logs
	toy     *toyRoutes
	// reprocessor answers POST /v1/reprocess/runs.
	reprocessor *stubReprocessor
	// buckets answers GET /v1/pipelines.
	buckets *stubBuckets
}

func newRig(t *testing.T, tune func(*Config)) *rig {
	t.Helper()
	return newServerOn(t, apitest.NewKafka(t, rigTopics()), tune)
}

// peer starts another API server (another node) on r's Kafka, with its own
// registry and follower.
func (r *rig) peer(t *testing.T) *rig {
	t.Helper()
	p := newServerOn(t, r.Kafka, nil)
	p.Key = r.Key
	return p
}

func newServerOn(t *testing.T, k *apitest.Kafka, tune func(*Config)) *rig {
	t.Helper()
	return newServerWith(t, k, tune, nil)
}

func newServerWith(t *testing.T, k *apitest.Kafka, tune func(*Config), workers auth.WorkerProvisioner) *rig {
	t.Helper()
	cfg := Defaults()
	cfg.Addr = "127.0.0.1:0"
	if tune != nil {
		tune(&cfg)
	}
	reg := apitest.FollowClients(t, k)
	r := &rig{Kafka: k, reg: prometheus.NewRegistry(), clients: auth.NewStore(reg, k.Client, k.Codec), logs: &apitest.Logs{},
		toy: newToyRoutes(), reprocessor: &stubReprocessor{}, buckets: &stubBuckets{}}
	log := r.logs.Logger()
	var dead []DeadLetterSet
	for _, d := range rigDeadLetters {
		tool, err := deadletter.New([]kgo.Opt{kgo.SeedBrokers(k.Addrs()...)}, d.topic)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tool.Close)
		dead = append(dead, DeadLetterSet{Key: d.key, Letters: tool})
	}
	var err error
	r.srv, err = New(cfg, Deps{Routes: r.toy.routes(), Registry: r.reg, DeadLetters: dead, Reprocessor: r.reprocessor,
		Clients: reg, ClientStore: r.clients, Audit: producer.NewAudit(k.Client, k.Codec, log), Log: log,
		Workers: workers, Buckets: r.buckets})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(r.srv.Handler())
	t.Cleanup(hs.Close)
	r.Caller = apitest.Caller{URL: hs.URL, HTTP: hs.Client()}
	if _, ok := reg.Client("rig-admin"); !ok {
		r.Key = r.addKey(t, "rig-admin", schemas.ScopeAdmin)
	}
	return r
}

// addKey registers an API client and returns its key.
func (r *rig) addKey(t *testing.T, name string, scope schemas.Scope) string {
	t.Helper()
	key, err := r.clients.CreateKey(context.Background(), name, scope)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// as returns a copy of r whose requests carry key.
func (r *rig) as(key string) *rig {
	c := *r
	c.Key = key
	return &c
}
