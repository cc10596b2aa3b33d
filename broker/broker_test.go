package broker

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"zero value takes defaults", Config{}, ""},
		{"port 0", testConfig(), ""},
		{"registry on all interfaces", Config{RegistryAddr: "0.0.0.0:0"}, ""},
		{"kafka on all interfaces is not advertisable", Config{KafkaAddr: "0.0.0.0:9092"}, "kafka listen address"},
		{"kafka without host", Config{KafkaAddr: ":9092"}, "kafka listen address"},
		{"no port", Config{RegistryAddr: "127.0.0.1"}, "registry listen address"},
		{"port out of range", Config{KafkaAddr: "127.0.0.1:70000"}, "kafka listen address"},
		{"negative partitions", Config{Partitions: -1}, "partitions"},
		{"negative session timeout", Config{MinSessionTimeout: -time.Second}, "session timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one about %q", err, tc.wantErr)
			}
		})
	}
}

func TestTwoBrokersSideBySide(t *testing.T) {
	b1, b2 := start(t, testConfig()), start(t, testConfig())
	if b1.KafkaAddr() == b2.KafkaAddr() || b1.RegistryURL() == b2.RegistryURL() {
		t.Fatalf("brokers share an address: %s %s / %s %s", b1.KafkaAddr(), b1.RegistryURL(), b2.KafkaAddr(), b2.RegistryURL())
	}
	createTopic(t, newClient(t, b1), "only-on-one", 1)
	td, err := kadm.NewClient(newClient(t, b2)).ListTopics(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if td.Has("only-on-one") {
		t.Fatal("a topic created on one broker shows on the other")
	}
	s1 := register(t, newRegistryClient(t, b1), "x-value", schemaA)
	s2 := register(t, newRegistryClient(t, b2), "y-value", schemaB)
	if _, err := newRegistryClient(t, b2).SchemaByID(testCtx(t), s1.ID+s2.ID); err == nil {
		t.Fatal("registries share schemas")
	}
}

func TestCloseFlushesAcknowledgedRecords(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	b := start(t, cfg)
	cl := newClient(t, b, kgo.DefaultProduceTopic("flush"), kgo.RequiredAcks(kgo.AllISRAcks()))
	createTopic(t, cl, "flush", 4)
	const n = 500
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Value: fmt.Appendf(nil, "r%03d", i)}
	}
	produce(t, cl, recs...)
	cl.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := start(t, cfg)
	if got := consumeAll(t, b2, "flush", n); len(got) != n {
		t.Fatalf("%d records after restart, want %d", len(got), n)
	}
}

func TestKeptPortIsReusedAndReported(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	b := start(t, cfg)
	addr := b.KafkaAddr()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, addressesFile)); err != nil {
		t.Fatalf("ports not kept: %v", err)
	}

	// Another process took the kept port: start fails and names it.
	host, port, _ := splitListenAddr(addr, true)
	ln, err := listen(host, port)
	if err != nil {
		t.Fatalf("take port: %v", err)
	}
	defer ln.Close()
	if _, err := Start(testCtx(t), cfg); err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("start on a taken kept port: %v, want an error naming %s", err, addr)
	}
}

func TestTopicDefaultsAndNoAutoCreation(t *testing.T) {
	cfg := testConfig()
	cfg.Partitions = 5
	b := start(t, cfg)
	cl := newClient(t, b)
	createTopic(t, cl, "default-partitions", -1)
	td, err := kadm.NewClient(cl).ListTopics(testCtx(t), "default-partitions")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(td["default-partitions"].Partitions); n != 5 {
		t.Fatalf("topic created with -1 partitions has %d, want 5", n)
	}

	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = true
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("not-created")
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("metadata for a missing topic: %v, want UNKNOWN_TOPIC_OR_PARTITION (no auto-creation)", err)
	}
}

func TestShortGroupSessionsAreAccepted(t *testing.T) {
	b := start(t, testConfig())
	createTopic(t, newClient(t, b), "sessions", 1)
	cl := newClient(t, b, kgo.ConsumerGroup("short-sessions"), kgo.ConsumeTopics("sessions"),
		kgo.SessionTimeout(time.Second), kgo.HeartbeatInterval(300*time.Millisecond),
		kgo.InstanceID("static-1")) // static membership, as workers use it
	produce(t, newClient(t, b, kgo.DefaultProduceTopic("sessions")), kgo.StringRecord("hello"))
	ctx := testCtx(t)
	fs := cl.PollFetches(ctx)
	fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("poll: %v", err) })
	if ctx.Err() != nil || len(fs.Records()) != 1 {
		t.Fatalf("a member with a 1s session got %d records: %v", len(fs.Records()), ctx.Err())
	}
}

func TestRegistryServesTheAPI(t *testing.T) {
	b := start(t, testConfig())
	register(t, newRegistryClient(t, b), "api-value", schemaA)
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, b.RegistryURL()+"/subjects", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /subjects: %d", resp.StatusCode)
	}
}
