package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/broker"
	"github.com/rationhq/ration/broker/brokertest"
	"github.com/rationhq/ration/internal/kafkaacl"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/dm"
)

// The other e2e tests run against a bare kfake without authentication;
// this one runs the `ration worker dm` binary against ration's own
// broker, which has SASL and ACLs on, as a registered worker.
func TestRegisteredWorkerProcess(t *testing.T) {
	b := brokertest.Start(t, broker.Config{Partitions: 3})
	conn := b.KafkaConn()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	admin, err := kgo.NewClient(conn.Opts(nil)...)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ds := []pipeline.Descriptor{dm.New()}
	if err := conn.EnsureTopics(ctx, admin, pipeline.AllTopicSpecs(ds)); err != nil {
		t.Fatal(err)
	}
	topics, records := pipeline.Schemas(ds)
	codec, err := conn.Codec(ctx, topics, records...)
	if err != nil {
		t.Fatal(err)
	}
	prov := kafkaacl.NewProvisioner(kadm.NewClient(admin), pipeline.Grants(ds))
	user, pass, err := prov.CreateWorker(ctx, "proc-1", dm.Name)
	if err != nil {
		t.Fatal(err)
	}
	mark := func(ids ...string) {
		for _, id := range ids {
			v, err := codec.Encode(&dm.Mark{UserID: id, Priority: dm.PriorityNormal, MarkedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if err := admin.ProduceSync(ctx, &kgo.Record{Topic: dm.TopicChecks, Key: []byte(id), Value: v}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	mark("alice", "bob")

	// The password comes through the environment, as the README advises.
	// Every stage of the pipeline, the state view included: the grants
	// derived from its descriptor cover all of them.
	cmd := exec.Command(rationBin, "worker", "dm", "--kafka", b.KafkaAddr(), "--registry", b.RegistryURL(),
		"--partitions", "3", "--kafka-user", user, "--instance-id", "proc-1", "--session-timeout", "3s",
		"--metrics=", "--log-format", "json")
	cmd.Env = append(childEnv(), "RATION_KAFKA_PASSWORD="+pass)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		if t.Failed() {
		}
	})

	results, err := kgo.NewClient(append(conn.Opts(nil), kgo.ConsumeTopics(dm.TopicResults),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer results.Close()
	// read reads results until n arrived or d passed.
	read := func(n int, d time.Duration) []string {
		rctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		var ids []string
		for rctx.Err() == nil && len(ids) < n {
			results.PollFetches(rctx).EachRecord(func(r *kgo.Record) { ids = append(ids, string(r.Key)) })
		}
		slices.Sort(ids)
		return ids
	}
	if got := read(2, 30*time.Second); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("results for %v, want alice and bob", got)
	}

	// Revoked, the process keeps its connections but not its rights: new
	// marks are not checked (it logs authorization failures and retries).
	if err := prov.RevokeWorker(ctx, "proc-1"); err != nil {
		t.Fatal(err)
	}
	mark("carol")
	if got := read(1, 4*time.Second); len(got) != 0 {
		t.Errorf("results after revocation: %v", got)
	}
}
