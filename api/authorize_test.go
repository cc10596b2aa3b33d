package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/internal/kafkaacl"
	"github.com/rationhq/ration/schemas"
)

var (
	getRoutes  = []string{"/v1/toy/items", "/v1/pipelines"}
	postRoutes = []string{"/v1/toy/items", "/v1/clients"}
)

func TestReadKeysReadAndWriteKeysWrite(t *testing.T) {
	r := newRig(t, nil)
	read := r.as(r.addKey(t, "dashboard", schemas.ScopeRead))
	write := r.as(r.addKey(t, "ci", schemas.ScopeWrite))
	for _, path := range getRoutes {
		for who, c := range map[string]*rig{"read": read, "write": write, "admin": r} {
			if status, _, body := c.Do(t, http.MethodGet, path, "", nil); status != http.StatusOK {
				t.Errorf("%s key GET %s: %d %s", who, path, status, body)
			}
		}
	}
	for _, path := range postRoutes {
		status, body := read.PostJSON(t, path, map[string]any{"ids": []string{"u1"}, "name": "x", "scope": "read"})
		apitest.WantError(t, status, "application/json", body, http.StatusForbidden, "scope read")
	}
	if status, body := write.PostJSON(t, "/v1/toy/items", map[string]any{"ids": []string{"u2"}}); status != http.StatusAccepted {
		t.Fatalf("write key POST items: %d %s", status, body)
	}
	if got := r.toy.written(); len(got) != 1 || got[0] != "u2" {
		t.Fatalf("the route took %q, want only the write key's [u2]: a 403 never reaches it", got)
	}
	for _, c := range []*rig{read, write} {
		status, ct, body := c.Do(t, http.MethodGet, "/v1/clients", "", nil)
		apitest.WantError(t, status, ct, body, http.StatusForbidden, "needs admin")
		status, ct, body = c.Do(t, http.MethodDelete, "/v1/clients/ci", "", nil)
		apitest.WantError(t, status, ct, body, http.StatusForbidden, "needs admin")
	}
}

func TestUnknownKeysAre401WithAChallenge(t *testing.T) {
	r := newRig(t, nil)
	fresh, _, err := auth.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	for name, header := range map[string]string{
		"none": "", "unknown": "Bearer " + fresh, "not a key": "Bearer hunter2", "basic": "Basic dXNlcjpwYXNz",
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, r.URL+"/v1/toy/items", nil)
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			resp, err := r.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			apitest.WantError(t, resp.StatusCode, resp.Header.Get("Content-Type"), body.Bytes(), http.StatusUnauthorized, "API key")
			if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="ration"` {
				t.Fatalf("WWW-Authenticate %q", got)
			}
		})
	}
	anon := r.as("")
	for _, path := range []string{"/healthz", "/metrics"} {
		if status, _, _ := anon.Do(t, http.MethodGet, path, "", nil); status != http.StatusOK {
			t.Errorf("GET %s without a key: %d", path, status)
		}
	}
}

func TestClientManagement(t *testing.T) {
	r := newRig(t, nil)
	status, body := r.PostJSON(t, "/v1/clients", map[string]string{"name": "ci", "scope": "write"})
	if status != http.StatusCreated {
		t.Fatalf("add: %d %s", status, body)
	}
	var created apiKeyBody
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	if created.Name != "ci" || created.Scope != "write" || !auth.WellFormed(created.Key) {
		t.Fatalf("created %+v", created)
	}
	ci := r.as(created.Key)
	if status, body := ci.PostJSON(t, "/v1/toy/items", map[string]any{"ids": []string{"u"}}); status != http.StatusAccepted {
		t.Fatalf("new key: %d %s", status, body)
	}

	status, body = r.PostJSON(t, "/v1/clients", map[string]string{"name": "ci", "scope": "read"})
	apitest.WantError(t, status, "application/json", body, http.StatusConflict, "exists")
	status, body = r.PostJSON(t, "/v1/clients", map[string]string{"name": "x", "scope": "root"})
	apitest.WantError(t, status, "application/json", body, http.StatusBadRequest, "scope")
	status, body = r.PostJSON(t, "/v1/clients", map[string]string{"name": "../x", "scope": "read"})
	apitest.WantError(t, status, "application/json", body, http.StatusBadRequest, "name")
	status, body = r.PostJSON(t, "/v1/clients", map[string]string{"name": "w1", "kind": "worker", "pipeline": "dm"})
	apitest.WantError(t, status, "application/json", body, http.StatusNotImplemented, "worker")

	status, _, body = r.Do(t, http.MethodGet, "/v1/clients", "", nil)
	if status != http.StatusOK || bytes.Contains(body, []byte("key")) || !bytes.Contains(body, []byte(`"name":"ci"`)) {
		t.Fatalf("list: %d %s", status, body)
	}

	if status, _, body := r.Do(t, http.MethodDelete, "/v1/clients/ci", "", nil); status != http.StatusOK {
		t.Fatalf("revoke: %d %s", status, body)
	}
	status, ct, body := ci.Do(t, http.MethodGet, "/v1/toy/items", "", nil)
	apitest.WantError(t, status, ct, body, http.StatusUnauthorized, "API key")
	status, ct, body = r.Do(t, http.MethodDelete, "/v1/clients/ci", "", nil)
	apitest.WantError(t, status, ct, body, http.StatusNotFound, "ci")
}

// fakeWorkers stands in for the Kafka SCRAM/ACL provisioner.
type fakeWorkers struct {
	mu      sync.Mutex
	created map[string]string
	revoked []string
}

func (f *fakeWorkers) CreateWorker(_ context.Context, name, pipeline string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created[name] = pipeline
	return "worker-" + name, "s3cr3t-password-" + name, nil
}

func (f *fakeWorkers) RevokeWorker(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, name)
	return nil
}

func TestWorkerRegistrationReturnsKafkaCredentials(t *testing.T) {
	fw := &fakeWorkers{created: map[string]string{}}
	base := newRig(t, nil)
	r := newServerWith(t, base.Kafka, nil, fw)
	r.Key = base.Key
	status, body := r.PostJSON(t, "/v1/clients", map[string]string{"name": "w1", "kind": "worker", "pipeline": "dm"})
	if status != http.StatusCreated {
		t.Fatalf("%d %s", status, body)
	}
	var got workerBody
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := workerBody{Name: "w1", Kind: "worker", Pipeline: "dm", SASLMechanism: "SCRAM-SHA-512",
		Username: "worker-w1", Password: "s3cr3t-password-w1"}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if status, _, body := r.Do(t, http.MethodDelete, "/v1/clients/w1", "", nil); status != http.StatusOK {
		t.Fatalf("revoke: %d %s", status, body)
	}
	if len(fw.revoked) != 1 || fw.revoked[0] != "w1" {
		t.Fatalf("provisioner revoked %v", fw.revoked)
	}
	if strings.Contains(r.logs.String(), "s3cr3t") {
		t.Fatal("a worker password reached the log")
	}
}

func TestRevocationReachesAnotherServerWithin5s(t *testing.T) {
	a := newRig(t, nil)
	b := a.peer(t)
	key := a.addKey(t, "ci", schemas.ScopeRead)
	eventually(t, 5*time.Second, "registration reaches server b", func() bool {
		status, _, _ := b.as(key).Do(t, http.MethodGet, "/v1/toy/items", "", nil)
		return status == http.StatusOK
	})
	if status, _, body := a.Do(t, http.MethodDelete, "/v1/clients/ci", "", nil); status != http.StatusOK {
		t.Fatalf("revoke on a: %d %s", status, body)
	}
	eventually(t, 5*time.Second, "revocation reaches server b", func() bool {
		status, _, _ := b.as(key).Do(t, http.MethodGet, "/v1/toy/items", "", nil)
		return status == http.StatusUnauthorized
	})
}

func TestRateLimitIsPerClient(t *testing.T) {
	r := newRig(t, func(c *Config) { c.RateLimit = 1; c.RateBurst = 5 })
	noisy := r.as(r.addKey(t, "noisy", schemas.ScopeRead))
	quiet := r.as(r.addKey(t, "quiet", schemas.ScopeRead))
	var limited int
	for range 20 {
		req, _ := http.NewRequest(http.MethodGet, r.URL+"/v1/toy/items", nil)
		req.Header.Set("Authorization", "Bearer "+noisy.Key)
		resp, err := r.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Fatalf("429 with Retry-After %q", ra)
			}
		}
	}
	if limited < 10 {
		t.Fatalf("%d of 20 requests limited, want at least 10 (burst 5, 1/s)", limited)
	}
	if status, _, body := quiet.Do(t, http.MethodGet, "/v1/toy/items", "", nil); status != http.StatusOK {
		t.Fatalf("another client was limited too: %d %s", status, body)
	}
}

func TestWritesAreAudited(t *testing.T) {
	r := newRig(t, nil)
	read := r.as(r.addKey(t, "dashboard", schemas.ScopeRead))
	write := r.as(r.addKey(t, "ci", schemas.ScopeWrite))
	write.PostJSON(t, "/v1/toy/items", map[string]any{"ids": []string{"u1"}})
	read.PostJSON(t, "/v1/toy/items", map[string]any{"ids": []string{"u1"}})
	r.Do(t, http.MethodDelete, "/v1/clients/dashboard", "", nil)
	read.Do(t, http.MethodGet, "/v1/toy/items", "", nil)  // not a write, and now 401: not audited
	write.Do(t, http.MethodGet, "/v1/toy/items", "", nil) // a read: not audited
	r.Do(t, http.MethodGet, "/v1/clients", "", nil)       // an admin read: audited

	want := map[string]bool{
		"ci POST /v1/toy/items  202":                        true,
		"dashboard POST /v1/toy/items  403":                 true,
		"rig-admin DELETE /v1/clients/{name} dashboard 200": true,
		"rig-admin GET /v1/clients  200":                    true,
	}
	var got []string
	eventually(t, 5*time.Second, "audit events", func() bool {
		got = nil
		for _, rec := range r.Records(t, schemas.TopicAudit) {
			var a schemas.Audit
			if err := r.Codec.Decode(rec.Value, &a); err != nil {
				t.Fatal(err)
			}
			got = append(got, a.Client+" "+a.Route+" "+a.Target+" "+itoa(a.Status))
		}
		return len(got) >= len(want)
	})
	if len(got) != len(want) {
		t.Fatalf("audit %q", got)
	}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("unexpected audit event %q in %q", g, got)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestNoKeyIsStoredOrLogged(t *testing.T) {
	r := newRig(t, nil)
	keys := []string{r.Key}
	for _, scope := range []schemas.Scope{schemas.ScopeRead, schemas.ScopeWrite, schemas.ScopeAdmin} {
		status, body := r.PostJSON(t, "/v1/clients", map[string]string{"name": "c-" + string(scope), "scope": string(scope)})
		if status != http.StatusCreated {
			t.Fatalf("%d %s", status, body)
		}
		var c apiKeyBody
		_ = json.Unmarshal(body, &c)
		keys = append(keys, c.Key)
		r.as(c.Key).PostJSON(t, "/v1/toy/items", map[string]any{"ids": []string{"u1"}})
		r.as(c.Key+"x").Do(t, http.MethodGet, "/v1/toy/items", "", nil)
	}
	r.Do(t, http.MethodDelete, "/v1/clients/c-read", "", nil)

	all := allRecordBytes(t, r)
	if len(all) == 0 {
		t.Fatal("no records read")
	}
	for _, k := range keys {
		if bytes.Contains(all, []byte(k)) {
			t.Fatal("a key is in a Kafka record")
		}
		// The key's base64 body without the prefix is the secret part.
		if bytes.Contains(all, []byte(k[len(auth.KeyPrefix):])) || strings.Contains(r.logs.String(), k[len(auth.KeyPrefix):]) {
			t.Fatal("a key is in a Kafka record or the log")
		}
	}
	if !strings.Contains(r.logs.String(), "request rejected") {
		t.Fatal("the log captured nothing: the check means nothing")
	}
}

// allRecordBytes returns the keys, values and headers of every record of
// every topic on r's Kafka, concatenated.
func allRecordBytes(t *testing.T, r *rig) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(r.Client)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics.Names()...)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.Cluster.ListenAddrs()...), kgo.ConsumeTopics(topics.Names()...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []byte
	var n int64
	for n < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", n, want)
		}
		fs.EachRecord(func(rec *kgo.Record) {
			n++
			out = append(append(out, rec.Key...), rec.Value...)
			for _, h := range rec.Headers {
				out = append(append(out, h.Key...), h.Value...)
			}
		})
	}
	return out
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

func TestWorkersProvisionedOnKafka(t *testing.T) {
	base := newRig(t, nil)
	r := newServerWith(t, base.Kafka, nil, auth.KafkaWorkers(kadm.NewClient(base.Client), dmGrants))
	r.Key = base.Key
	status, body := r.PostJSON(t, "/v1/clients", map[string]string{"name": "w1", "kind": "worker", "pipeline": "dm"})
	if status != http.StatusCreated {
		t.Fatalf("%d %s", status, body)
	}
	var got workerBody
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Username == "" || len(got.Password) < 32 || got.SASLMechanism != "SCRAM-SHA-512" {
		t.Fatalf("credentials %+v", got)
	}
	users, err := kadm.NewClient(base.Client).DescribeUserSCRAMs(context.Background(), got.Username)
	if err != nil || users[got.Username].Err != nil {
		t.Fatalf("no SCRAM user %s: %v %v", got.Username, err, users[got.Username].Err)
	}
	status, body = r.PostJSON(t, "/v1/clients", map[string]string{"name": "w2", "kind": "worker", "pipeline": "nosuch"})
	apitest.WantError(t, status, "application/json", body, http.StatusBadRequest, "pipeline")
	if status, _, body := r.Do(t, http.MethodDelete, "/v1/clients/w1", "", nil); status != http.StatusOK {
		t.Fatalf("revoke: %d %s", status, body)
	}
	users, err = kadm.NewClient(base.Client).DescribeUserSCRAMs(context.Background(), got.Username)
	if err == nil && users[got.Username].Err == nil {
		t.Fatalf("SCRAM user %s survives its revocation", got.Username)
	}
	if strings.Contains(r.logs.String(), got.Password) || bytes.Contains(allRecordBytes(t, r), []byte(got.Password)) {
		t.Fatal("a worker password is in the log or in Kafka")
	}
}

// dmGrants stand in for pipeline.Grants of ration's pipelines, which
// package api cannot import: a worker of dm may read one topic.
var dmGrants = kafkaacl.Pipelines{"dm": {{Resource: kafkaacl.Topic, Name: checksTopic, Ops: []kadm.ACLOperation{kadm.OpRead}}}}
