package kafkaacl_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rationhq/ration/broker"
	"github.com/rationhq/ration/broker/brokertest"
	"github.com/rationhq/ration/internal/kafkaacl"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipeline/pipelinetest"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// otherTopic stands for another pipeline's input.
const otherTopic = "ration.points.commands"

// rig is the embedded broker (SASL and ACLs on) with ration's topics, a
// topic of another pipeline, an admin client and a provisioner.
type rig struct {
	b     *broker.Broker
	admin *kgo.Client
	codec *schemas.Codec
	prov  *kafkaacl.Provisioner
}

func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigAt(t, "")
}

// newRigAt is newRig with the broker's data in dir ("": in memory).
func newRigAt(t *testing.T, dir string) *rig {
	t.Helper()
	b := brokertest.Start(t, broker.Config{Partitions: 3, DataDir: dir})
	conn := b.KafkaConn()
	admin, err := kgo.NewClient(append(conn.Opts(nil), kgo.ProducerLinger(0))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	ctx := ctxFor(t, 30*time.Second)
	ds := []pipeline.Descriptor{dm.New()}
	if err := conn.EnsureTopics(ctx, admin, pipeline.AllTopicSpecs(ds)); err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(admin).CreateTopic(ctx, 1, -1, nil, otherTopic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatal(err)
	}
	topics, records := pipeline.Schemas(ds)
	codec, err := conn.Codec(ctx, topics, records...)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{b: b, admin: admin, codec: codec, prov: kafkaacl.NewProvisioner(kadm.NewClient(admin), pipeline.Grants(ds))}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// conn is the broker's connection settings with the given user.
func (r *rig) conn(user, pass string) kafkaconn.Config {
	c := r.b.KafkaConn()
	c.User, c.Password = user, pass
	return c
}

// client is a client of user; opts come last.
func (r *rig) client(t *testing.T, user, pass string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(append(r.conn(user, pass).Opts(nil), kgo.RetryTimeout(3*time.Second)), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func (r *rig) createWorker(t *testing.T, name string) (string, string) {
	t.Helper()
	user, pass, err := r.prov.CreateWorker(ctxFor(t, 10*time.Second), name, dm.Name)
	if err != nil {
		t.Fatal(err)
	}
	return user, pass
}

func (r *rig) mark(t *testing.T, ids ...string) {
	t.Helper()
	recs := make([]*kgo.Record, 0, len(ids))
	for _, id := range ids {
		v, err := r.codec.Encode(&dm.Mark{UserID: id, Priority: dm.PriorityNormal, MarkedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: dm.TopicChecks, Key: []byte(id), Value: v})
	}
	if err := r.admin.ProduceSync(ctxFor(t, 10*time.Second), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// runWorker runs a real DM worker, every stage of the pipeline, as user
// until the test ends.
func (r *rig) runWorker(t *testing.T, user, pass, instance string) {
	t.Helper()
	pipelinetest.StartWorkerWith(t, dm.New(), nil, r.conn(user, pass).Opts(nil), r.codec, instance)
}

// readResults reads n committed results as the admin.
func (r *rig) readResults(t *testing.T, n int) []dm.Result {
	t.Helper()
	cl := r.client(t, r.b.Admin().User, r.b.Admin().Password, kgo.ConsumeTopics(dm.TopicResults),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := ctxFor(t, 20*time.Second)
	var got []dm.Result
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("got %d of %d results", len(got), n)
		}
		fs.EachRecord(func(rec *kgo.Record) {
			var res dm.Result
			if err := r.codec.Decode(rec.Value, &res); err != nil {
				t.Fatal(err)
			}
			got = append(got, res)
		})
	}
	return got
}

// errCode runs req as cl and returns the error of the request or, if it
// went through, the first error code in its response.
func errCode(t *testing.T, cl *kgo.Client, req kmsg.Request) error {
	t.Helper()
	resp, err := cl.Request(ctxFor(t, 10*time.Second), req)
	if err != nil {
		return err
	}
	switch r := resp.(type) {
	case *kmsg.InitProducerIDResponse:
		return kerr.ErrorForCode(r.ErrorCode)
	case *kmsg.AddPartitionsToTxnResponse:
		for _, tt := range r.Topics {
			for _, p := range tt.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return err
				}
			}
		}
		return nil
	case *kmsg.JoinGroupResponse:
		return kerr.ErrorForCode(r.ErrorCode)
	default:
		t.Fatalf("unexpected response %T", resp)
		return nil
	}
}

// TestGrantsCoverWhatTheRuntimeUses: every topic, group and transactional
// id the runtime's configuration of each DM stage names is granted to the
// pipeline's workers, with the operations it needs.
func TestGrantsCoverWhatTheRuntimeUses(t *testing.T) {
	d := dm.New()
	grants := d.WorkerGrants()
	allows := func(res kafkaacl.Resource, name string, op kadm.ACLOperation) bool {
		for _, g := range grants {
			if g.Resource == res && (g.Name == name || g.Prefixed && strings.HasPrefix(name, g.Name)) && slices.Contains(g.Ops, op) {
				return true
			}
		}
		return false
	}
	for _, s := range d.Stages {
		tuning := processor.DefaultTuning()
		tuning.InstanceID = "w"
		cfg, err := d.StageConfig(s.Name, tuning)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range cfg.Topics {
			if !allows(kafkaacl.Topic, in, kadm.OpRead) {
				t.Errorf("stage %s: no Read on its input %s", s.Name, in)
			}
		}
		for _, out := range s.Outputs {
			if !allows(kafkaacl.Topic, out, kadm.OpWrite) {
				t.Errorf("stage %s: no Write on its output %s", s.Name, out)
			}
		}
		for _, c := range []struct {
			res  kafkaacl.Resource
			name string
			op   kadm.ACLOperation
		}{
			{kafkaacl.Group, cfg.Group, kadm.OpRead},
			{kafkaacl.TransactionalID, cfg.TransactionalID(), kadm.OpWrite},
			{kafkaacl.Topic, cfg.DeadLetterTopic, kadm.OpWrite},
		} {
			if !allows(c.res, c.name, c.op) {
				t.Errorf("stage %s: no %v on %s", s.Name, c.op, c.name)
			}
		}
		if cfg.EventsTopic != "" && !allows(kafkaacl.Topic, cfg.EventsTopic, kadm.OpWrite) {
			t.Errorf("stage %s: no Write on the events topic", s.Name)
		}
		if cfg.ChangelogTopic != "" && (!allows(kafkaacl.Topic, cfg.ChangelogTopic, kadm.OpRead) || !allows(kafkaacl.Topic, cfg.ChangelogTopic, kadm.OpWrite)) {
			t.Errorf("stage %s: no Read and Write on its changelog", s.Name)
		}
		if r := cfg.Retry; r != nil {
			for i, topic := range r.DelayTopics {
				group := cfg.Group + ".delay." + strconv.Itoa(i+1)
				txn := cfg.TransactionalIDPrefix + "delay." + strconv.Itoa(i+1) + ".w"
				if !allows(kafkaacl.Topic, topic, kadm.OpRead) || !allows(kafkaacl.Topic, topic, kadm.OpWrite) ||
					!allows(kafkaacl.Group, group, kadm.OpRead) || !allows(kafkaacl.TransactionalID, txn, kadm.OpWrite) {
					t.Errorf("stage %s: delay tier %d not granted", s.Name, i+1)
				}
			}
			if !allows(kafkaacl.Topic, r.ParkedTopic, kadm.OpWrite) {
				t.Errorf("stage %s: no Write on its parked topic", s.Name)
			}
			for _, in := range cfg.Topics {
				if !allows(kafkaacl.Topic, in, kadm.OpWrite) {
					t.Errorf("stage %s: no Write on its input %s, where delayed records return", s.Name, in)
				}
			}
		}
	}
}

func TestCreateWorkerGrantsOnlyItsPipeline(t *testing.T) {
	r := newRig(t)
	user, _ := r.createWorker(t, "w1")
	if user != "worker-w1" {
		t.Fatalf("user %q, want worker-w1", user)
	}
	described, err := kadm.NewClient(r.admin).DescribeACLs(ctxFor(t, 10*time.Second),
		kadm.NewACLs().Allow("User:"+user).AllowHosts().AnyResource().ResourcePatternType(kadm.ACLPatternAny).Operations(kadm.OpAny))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range described {
		if d.Err != nil {
			t.Fatal(d.Err)
		}
		for _, a := range d.Described {
			got = append(got, fmt.Sprintf("%s %s %s %s %s %s", a.Principal, a.Type, a.Name, a.Pattern, a.Operation, a.Permission))
		}
	}
	slices.Sort(got)
	// What a worker of the DM pipeline does, and so all it may do: the
	// check stage (inputs, results, retries, dead letters) and the state
	// view (every DM topic in, states and counts out), each with its
	// changelog and transactional ids.
	want := []string{
		"User:worker-w1 GROUP ration.dm.check LITERAL READ ALLOW",
		"User:worker-w1 GROUP ration.dm.check.delay. PREFIXED READ ALLOW",
		"User:worker-w1 GROUP ration.dm.state LITERAL READ ALLOW",
		"User:worker-w1 TOPIC ration.dm.check.changelog LITERAL READ ALLOW",
		"User:worker-w1 TOPIC ration.dm.check.changelog LITERAL WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.check.dead LITERAL WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.check.delay. PREFIXED READ ALLOW",
		"User:worker-w1 TOPIC ration.dm.check.delay. PREFIXED WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.check.parked LITERAL WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.checks LITERAL READ ALLOW",
		"User:worker-w1 TOPIC ration.dm.checks LITERAL WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.checks.high LITERAL READ ALLOW",
		"User:worker-w1 TOPIC ration.dm.checks.high LITERAL WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.counts LITERAL WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.events LITERAL READ ALLOW",
		"User:worker-w1 TOPIC ration.dm.events LITERAL WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.results LITERAL READ ALLOW",
		"User:worker-w1 TOPIC ration.dm.results LITERAL WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.state.changelog LITERAL READ ALLOW",
		"User:worker-w1 TOPIC ration.dm.state.changelog LITERAL WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.state.dead LITERAL WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.states LITERAL WRITE ALLOW",
		"User:worker-w1 TOPIC ration.dm.users LITERAL READ ALLOW",
		"User:worker-w1 TRANSACTIONAL_ID ration.dm.check. PREFIXED DESCRIBE ALLOW",
		"User:worker-w1 TRANSACTIONAL_ID ration.dm.check. PREFIXED WRITE ALLOW",
		"User:worker-w1 TRANSACTIONAL_ID ration.dm.state. PREFIXED DESCRIBE ALLOW",
		"User:worker-w1 TRANSACTIONAL_ID ration.dm.state. PREFIXED WRITE ALLOW",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ACLs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCreateWorkerRefuses(t *testing.T) {
	r := newRig(t)
	ctx := ctxFor(t, 10*time.Second)
	if _, _, err := r.prov.CreateWorker(ctx, "w1", "points"); !errors.Is(err, kafkaacl.ErrUnknownPipeline) {
		t.Errorf("unknown pipeline: %v", err)
	}
	for _, name := range []string{"", "a,b", "a=b", "../x", strings.Repeat("x", 65)} {
		if _, _, err := r.prov.CreateWorker(ctx, name, "dmcheck"); !errors.Is(err, kafkaacl.ErrInvalidName) {
			t.Errorf("name %q: %v", name, err)
		}
	}
}

func TestUnregisteredClientsCannotConnect(t *testing.T) {
	r := newRig(t)
	_, pass := r.createWorker(t, "w1")
	for _, tc := range []struct{ name, user, pass string }{
		{"no credentials", "", ""},
		{"wrong password", "worker-w1", pass + "x"},
		{"unknown user", "worker-nobody", pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := r.client(t, tc.user, tc.pass)
			if _, err := kadm.NewClient(cl).ListEndOffsets(ctxFor(t, 5*time.Second), dm.TopicChecks); err == nil {
				t.Fatal("listed offsets")
			}
		})
	}
}

func TestRegisteredWorkerProcessesItsPipeline(t *testing.T) {
	r := newRig(t)
	user, pass := r.createWorker(t, "w1")
	r.mark(t, "alice", "bob", "carol")
	r.runWorker(t, user, pass, "w1")
	got := r.readResults(t, 3)
	var ids []string
	for _, res := range got {
		ids = append(ids, res.UserID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"alice", "bob", "carol"}) {
		t.Fatalf("results for %v", ids)
	}
	// The group's offsets were committed in the worker's transactions.
	offs, err := kadm.NewClient(r.admin).FetchOffsets(ctxFor(t, 10*time.Second), "ration.dm.check")
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == dm.TopicChecks {
			committed += o.At
		}
	})
	if committed < 3 {
		t.Errorf("committed offsets sum to %d, want >= 3", committed)
	}
}

func TestRegisteredWorkerIsHeldToItsACLs(t *testing.T) {
	r := newRig(t)
	user, pass := r.createWorker(t, "w1")

	t.Run("reads its input", func(t *testing.T) {
		cl := r.client(t, user, pass)
		if _, err := kadm.NewClient(cl).ListEndOffsets(ctxFor(t, 5*time.Second), dm.TopicChecks); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("cannot read another pipeline's topic", func(t *testing.T) {
		cl := r.client(t, user, pass, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{otherTopic: {0: kgo.NewOffset().AtStart()}}))
		ctx := ctxFor(t, 10*time.Second)
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatal("no authorization error")
			}
			if err := fs.Err(); err != nil {
				if !errors.Is(err, kerr.TopicAuthorizationFailed) {
					t.Fatalf("fetch: %v, want TOPIC_AUTHORIZATION_FAILED", err)
				}
				return
			}
			if len(fs.Records()) > 0 {
				t.Fatal("read records")
			}
		}
	})
	t.Run("cannot join another group", func(t *testing.T) {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group = "ration.points"
		req.ProtocolType = "consumer"
		req.SessionTimeoutMillis = 10000
		req.RebalanceTimeoutMillis = 10000
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
		if err := errCode(t, r.client(t, user, pass), req); !errors.Is(err, kerr.GroupAuthorizationFailed) {
			t.Fatalf("join: %v, want GROUP_AUTHORIZATION_FAILED", err)
		}
	})
	t.Run("cannot write another pipeline's topic", func(t *testing.T) {
		cl := r.client(t, user, pass)
		// The DM input topics are its own outputs too (records come back
		// from the delay tiers); registrations are not.
		for _, topic := range []string{otherTopic, dm.TopicUsers} {
			err := cl.ProduceSync(ctxFor(t, 10*time.Second), &kgo.Record{Topic: topic, Value: []byte("x")}).FirstErr()
			if !errors.Is(err, kerr.TopicAuthorizationFailed) {
				t.Errorf("produce to %s: %v, want TOPIC_AUTHORIZATION_FAILED", topic, err)
			}
		}
	})
	t.Run("transactional ids under its prefix only", func(t *testing.T) {
		cl := r.client(t, user, pass)
		own := kmsg.NewPtrInitProducerIDRequest()
		own.TransactionalID = kmsg.StringPtr("ration.dm.check.other-instance")
		own.TransactionTimeoutMillis = 5000
		if err := errCode(t, cl, own); err != nil {
			t.Fatalf("init producer id under its prefix: %v", err)
		}
		other := kmsg.NewPtrInitProducerIDRequest()
		other.TransactionalID = kmsg.StringPtr("ration.points.w1")
		other.TransactionTimeoutMillis = 5000
		if err := errCode(t, cl, other); !errors.Is(err, kerr.TransactionalIDAuthorizationFailed) {
			t.Fatalf("init producer id ration.points.w1: %v, want TRANSACTIONAL_ID_AUTHORIZATION_FAILED", err)
		}
		add := kmsg.NewPtrAddPartitionsToTxnRequest()
		add.TransactionalID = "ration.points.w1"
		add.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: dm.TopicResults, Partitions: []int32{0}}}
		if err := errCode(t, cl, add); !errors.Is(err, kerr.TransactionalIDAuthorizationFailed) {
			t.Fatalf("add partitions to ration.points.w1: %v, want TRANSACTIONAL_ID_AUTHORIZATION_FAILED", err)
		}
	})
}

func TestRevokedWorkerIsRefused(t *testing.T) {
	r := newRig(t)
	user, pass := r.createWorker(t, "w1")
	held := r.client(t, user, pass)
	if _, err := kadm.NewClient(held).ListEndOffsets(ctxFor(t, 5*time.Second), dm.TopicChecks); err != nil {
		t.Fatal(err)
	}
	if err := r.prov.RevokeWorker(ctxFor(t, 10*time.Second), "w1"); err != nil {
		t.Fatal(err)
	}
	if err := r.prov.RevokeWorker(ctxFor(t, 10*time.Second), "w1"); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	// A connection authenticated before the revocation loses its ACLs.
	offs, err := kadm.NewClient(held).ListEndOffsets(ctxFor(t, 5*time.Second), dm.TopicChecks)
	if err == nil {
		err = offs.Error()
	}
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("held connection after revoke: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	// A new connection cannot authenticate.
	fresh := r.client(t, user, pass)
	if _, err := kadm.NewClient(fresh).ListEndOffsets(ctxFor(t, 5*time.Second), dm.TopicChecks); err == nil {
		t.Error("new connection after revoke listed offsets")
	}
	// Registering again gives a working worker with a new password.
	_, pass2 := r.createWorker(t, "w1")
	if pass2 == pass {
		t.Error("password reused")
	}
	cl := r.client(t, user, pass2)
	if _, err := kadm.NewClient(cl).ListEndOffsets(ctxFor(t, 5*time.Second), dm.TopicChecks); err != nil {
		t.Errorf("re-registered worker: %v", err)
	}
}

func TestRegistrationsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	r := newRigAt(t, dir)
	user, pass := r.createWorker(t, "w1")
	revoked, revokedPass := r.createWorker(t, "w2")
	if err := r.prov.RevokeWorker(ctxFor(t, 10*time.Second), "w2"); err != nil {
		t.Fatal(err)
	}
	r.admin.Close()
	if err := r.b.Close(); err != nil {
		t.Fatal(err)
	}
	r = newRigAt(t, dir)
	cl := r.client(t, user, pass)
	adm := kadm.NewClient(cl)
	if _, err := adm.ListEndOffsets(ctxFor(t, 5*time.Second), dm.TopicChecks); err != nil {
		t.Errorf("registered worker after a restart: %v", err)
	}
	offs, err := adm.ListEndOffsets(ctxFor(t, 5*time.Second), otherTopic)
	if err == nil {
		err = offs.Error()
	}
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("another pipeline's topic after a restart: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	gone := r.client(t, revoked, revokedPass)
	if _, err := kadm.NewClient(gone).ListEndOffsets(ctxFor(t, 5*time.Second), dm.TopicChecks); err == nil {
		t.Error("a worker revoked before the restart listed offsets after it")
	}
}

// kcat returns kcat's path: required in CI, skipped elsewhere.
func kcat(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kcat is required in CI: %v", err)
		}
		t.Skipf("kcat not installed: %v", err)
	}
	return path
}

// TestKcatIsHeldToTheWorkersACLs checks the ACLs with librdkafka, a client
// independent of franz-go.
func TestKcatIsHeldToTheWorkersACLs(t *testing.T) {
	path := kcat(t)
	r := newRig(t)
	user, pass := r.createWorker(t, "w1")
	r.mark(t, "alice")
	if err := r.admin.ProduceSync(ctxFor(t, 10*time.Second), &kgo.Record{Topic: otherTopic, Value: []byte("secret")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	run := func(user, pass, topic string) (string, error) {
		ctx := ctxFor(t, 20*time.Second)
		cmd := exec.CommandContext(ctx, path, "-b", r.b.KafkaAddr(),
			"-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-512",
			"-X", "sasl.username="+user, "-X", "sasl.password="+pass,
			"-C", "-t", topic, "-o", "beginning", "-e", "-f", `%k\n`)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(user, pass, dm.TopicChecks)
	if err != nil || !strings.Contains(out, "alice") {
		t.Errorf("kcat consuming %s: %v\n%s", dm.TopicChecks, err, out)
	}
	out, err = run(user, pass, otherTopic)
	if err == nil || strings.Contains(out, "secret") || !strings.Contains(strings.ToLower(out), "authoriz") {
		t.Errorf("kcat consuming %s: %v (want an authorization failure)\n%s", otherTopic, err, out)
	}
	if err := r.prov.RevokeWorker(ctxFor(t, 10*time.Second), "w1"); err != nil {
		t.Fatal(err)
	}
	out, err = run(user, pass, dm.TopicChecks)
	if err == nil || strings.Contains(out, "alice") {
		t.Errorf("kcat after revoke: %v (want a failure)\n%s", err, out)
	}
}
