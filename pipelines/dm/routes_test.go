package dm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/api/apitest"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/pipeline/pipelinetest"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/producer"
	"github.com/rationhq/ration/schemas"
)

// rig is an API server with the DM pipeline's routes, as `ration api`
// mounts them, in front of a real in-process Kafka with the pipeline's
// topics: writes reach Kafka, reads come from an in-memory reader (the
// ClickHouse reader has tests of its own), keys are checked against a
// client registry that follows Kafka, audited requests are recorded, and
// requests carry an admin key unless told otherwise.
type rig struct {
	apitest.Caller
	*apitest.Kafka
	reader  *apitest.Reader
	clients *auth.Registry
	logs    *apitest.Logs
}

func newRig(t *testing.T, tune func(*api.Config)) *rig {
	t.Helper()
	cfg := api.Defaults()
	if tune != nil {
		tune(&cfg)
	}
	k := apitest.NewKafka(t, pipelinetest.Setup(dm.New()))
	r := &rig{Kafka: k, reader: apitest.NewReader(), clients: apitest.FollowClients(t, k), logs: &apitest.Logs{}}
	log := r.logs.Logger()
	// One registry, as in `ration api`: the routes' metrics are served
	// on the server's /metrics.
	reg := prometheus.NewRegistry()
	routes := dm.RoutesWith(api.Backends{Kafka: k.Client, Codec: k.Codec, History: r.reader, Config: cfg, Log: log, Registry: reg}, r.reader)
	r.Caller = serve(t, cfg, api.Deps{Routes: routes, Log: log, Registry: reg, Clients: r.clients,
		Audit: producer.NewAudit(k.Client, k.Codec, log)})
	r.Key = r.addKey(t, "rig-admin", schemas.ScopeAdmin)
	return r
}

// serve starts an API server on deps for t.
func serve(t *testing.T, cfg api.Config, deps api.Deps) apitest.Caller {
	t.Helper()
	srv, err := api.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return apitest.Caller{URL: hs.URL, HTTP: hs.Client()}
}

// addKey registers an API client and returns its key.
func (r *rig) addKey(t *testing.T, name string, scope schemas.Scope) string {
	t.Helper()
	return apitest.AddKey(t, r.Kafka, r.clients, name, string(scope))
}

// as returns a copy of r whose requests carry key.
func (r *rig) as(key string) *rig {
	c := *r
	c.Key = key
	return &c
}

// auditRecords returns the audit topic's records as "client route target
// status".
func (r *rig) auditRecords(t *testing.T) []string {
	t.Helper()
	var got []string
	for _, rec := range r.Records(t, schemas.TopicAudit) {
		var a schemas.Audit
		if err := r.Codec.Decode(rec.Value, &a); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %d", a.Client, a.Route, a.Target, a.Status))
	}
	return got
}

// onProduce runs fn on every produce request that writes to topic; fn
// answers it (handled) or lets the broker do so.
func (r *rig) onProduce(t *testing.T, topic string, fn func(*kmsg.ProduceRequest) (kmsg.Response, bool)) {
	t.Helper()
	// Produce v13 names topics by id.
	topics, err := kadm.NewClient(r.Client).ListTopics(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	id := topics[topic].ID
	c := r.Cluster
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.ProduceRequest)
		for _, rt := range req.Topics {
			if rt.Topic == topic || rt.TopicID == id {
				resp, handled := fn(req)
				return resp, nil, handled
			}
		}
		return nil, nil, false
	})
}

// produceFailing answers req with code for every partition it writes.
func produceFailing(req *kmsg.ProduceRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// TestBadWritesProduceNothing sends every kind of invalid request to a
// server in front of a real broker, checks each answer, and then that not
// one record reached any topic.
func TestBadWritesProduceNothing(t *testing.T) {
	r := newRig(t, func(c *api.Config) { c.MaxIDs = 5; c.MaxBodyBytes = 4 << 10 })
	const js = "application/json"
	for _, tc := range []struct {
		name, method, path, ctype, body string
		status                          int
		wantIn                          string
	}{
		{"malformed JSON", "POST", "/v1/dm/users", js, `{"user_ids": ["a",`, 400, "malformed JSON"},
		{"syntax error", "POST", "/v1/dm/users", js, `{"user_ids": [a]}`, 400, "malformed JSON at byte"},
		{"empty body", "POST", "/v1/dm/users", js, ``, 400, "empty body"},
		{"not an object", "POST", "/v1/dm/users", js, `["a"]`, 400, "want an object"},
		{"ids not strings", "POST", "/v1/dm/users", js, `{"user_ids": [1]}`, 400, "user_ids"},
		{"unknown field", "POST", "/v1/dm/users", js, `{"user_ids": ["a"], "userids": ["b"]}`, 400, `unknown field "userids"`},
		{"priority on register", "POST", "/v1/dm/users", js, `{"user_ids": ["a"], "priority": "high"}`, 400, `unknown field "priority"`},
		{"trailing object", "POST", "/v1/dm/users", js, `{"user_ids": ["a"]} {"user_ids": ["b"]}`, 400, "trailing data"},
		{"trailing garbage", "POST", "/v1/dm/checks", js, `{"user_ids": ["a"]} x`, 400, "trailing data"},
		{"oversize body", "POST", "/v1/dm/users", js, `{"user_ids": ["` + strings.Repeat("a", 5<<10) + `"]}`, 413, "larger than 4096 bytes"},
		{"too many ids", "POST", "/v1/dm/users", js, `{"user_ids": ["a","b","c","d","e","f"]}`, 413, "at most 5"},
		{"too many ids counted before dedupe", "POST", "/v1/dm/checks", js, `{"user_ids": ["a","a","a","a","a","a"]}`, 413, "at most 5"},
		{"bad chars", "POST", "/v1/dm/users", js, `{"user_ids": ["ok", "bad id"]}`, 400, `user_ids[1] "bad id"`},
		{"65 chars", "POST", "/v1/dm/checks", js, `{"user_ids": ["` + strings.Repeat("x", 65) + `"]}`, 400, "user_ids[0]"},
		{"empty id", "POST", "/v1/dm/users", js, `{"user_ids": ["a", ""]}`, 400, `user_ids[1] ""`},
		{"non-ascii id", "POST", "/v1/dm/users", js, `{"user_ids": ["é"]}`, 400, "not a valid user id"},
		{"empty list", "POST", "/v1/dm/checks", js, `{"user_ids": []}`, 400, "at least one"},
		{"null list", "POST", "/v1/dm/users", js, `{"user_ids": null}`, 400, "at least one"},
		{"no list", "POST", "/v1/dm/users", js, `{}`, 400, "at least one"},
		{"bad priority", "POST", "/v1/dm/checks", js, `{"user_ids": ["a"], "priority": "urgent"}`, 400, `priority "urgent"`},
		{"empty priority", "POST", "/v1/dm/checks", js, `{"user_ids": ["a"], "priority": ""}`, 400, "priority"},
		{"priority of wrong type", "POST", "/v1/dm/checks", js, `{"user_ids": ["a"], "priority": 1}`, 400, "priority"},
		{"bad priority with bad ids", "POST", "/v1/dm/checks", js, `{"user_ids": [], "priority": "x"}`, 400, "priority"},
		{"wrong content type", "POST", "/v1/dm/users", "text/plain", `{"user_ids": ["a"]}`, 415, "text/plain"},
		{"form content type", "POST", "/v1/dm/checks", "application/x-www-form-urlencoded", `user_ids=a`, 415, "want application/json"},
		{"garbled content type", "POST", "/v1/dm/checks", ";;", `{"user_ids": ["a"]}`, 415, "want application/json"},
		{"limit over max", "GET", "/v1/dm/users?state=pending&limit=10001", "", "", 400, "limit"},
		{"limit zero", "GET", "/v1/dm/users?state=pending&limit=0", "", "", 400, "limit"},
		{"limit negative", "GET", "/v1/dm/users?state=pending&limit=-1", "", "", 400, "limit"},
		{"limit not a number", "GET", "/v1/dm/users?state=pending&limit=ten", "", "", 400, "limit"},
		{"no state", "GET", "/v1/dm/users", "", "", 400, "state is required"},
		{"bad state", "GET", "/v1/dm/users?state=done", "", "", 400, `state "done"`},
		{"bad cursor", "GET", "/v1/dm/users?state=pending&cursor=zzz", "", "", 400, "cursor: not one this server issued; start again without a cursor"},
		{"bad user id", "GET", "/v1/dm/users/bad%20id", "", "", 400, "not a valid user id"},
		{"long user id", "GET", "/v1/dm/users/" + strings.Repeat("x", 65), "", "", 400, "not a valid user id"},
		{"bad user id in history", "GET", "/v1/dm/users/bad%20id/history", "", "", 400, "not a valid user id"},
		{"unknown route", "GET", "/v1/dm/nope", "", "", 404, "no route"},
		{"wrong method", "DELETE", "/v1/dm/users", "", "", 405, "not allowed"},
		{"wrong method on write", "PUT", "/v1/dm/checks", js, `{"user_ids": ["a"]}`, 405, "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ctype, body := r.Do(t, tc.method, tc.path, tc.ctype, strings.NewReader(tc.body))
			apitest.WantError(t, status, ctype, body, tc.status, tc.wantIn)
		})
	}
	offs := r.EndOffsets(t)
	if len(offs) < 6 {
		t.Fatalf("end offsets of %d topics: the check means nothing", len(offs))
	}
	for topic, n := range offs {
		if n != 0 && topic != schemas.TopicAudit { // rejected writes are audited
			t.Errorf("%s holds %d records after only bad requests", topic, n)
		}
	}
}

func TestRegisterProducesDistinctUsers(t *testing.T) {
	r := newRig(t, nil)
	before := time.Now().Truncate(time.Millisecond)
	status, body := r.PostJSON(t, "/v1/dm/users", map[string]any{"user_ids": []string{"b", "a", "b", "c:1", "a"}})
	if status != http.StatusAccepted || string(body) != `{"accepted":3}`+"\n" {
		t.Fatalf("answer %d %s, want 202 {\"accepted\":3}", status, body)
	}
	var got []string
	for _, rec := range r.Records(t, dm.TopicUsers) {
		var u dm.User
		if err := r.Codec.Decode(rec.Value, &u); err != nil {
			t.Fatal(err)
		}
		if string(rec.Key) != u.UserID || u.RegisteredAt.Before(before) || u.RegisteredAt.After(time.Now()) {
			t.Fatalf("record key %q, value %+v", rec.Key, u)
		}
		got = append(got, u.UserID)
	}
	sort.Strings(got)
	if fmt.Sprint(got) != "[a b c:1]" {
		t.Fatalf("registered %v, want [a b c:1]", got)
	}
	offs := r.EndOffsets(t)
	if offs[dm.TopicChecks]+offs[dm.TopicChecksHigh] != 0 {
		t.Fatalf("registering produced marks: %v", offs)
	}
}

func TestMarkProducesByPriority(t *testing.T) {
	r := newRig(t, nil)
	for _, tc := range []struct {
		body string // %[1]s is a suffix that keeps the ids of each run apart
		want string
	}{
		{`{"user_ids": ["n1%[1]s", "n2%[1]s"]}`, `{"accepted":2}`},
		{`{"user_ids": ["n3%[1]s"], "priority": "normal"}`, `{"accepted":1}`},
		{`{"user_ids": ["h1%[1]s", "h1%[1]s"], "priority": "high"}`, `{"accepted":1}`},
		{`{"user_ids": ["n4%[1]s"], "priority": null}`, `{"accepted":1}`},
	} {
		// Content types with parameters and none at all are both accepted.
		for suffix, ct := range map[string]string{"": "application/json; charset=utf-8", "x": ""} {
			status, _, body := r.Do(t, http.MethodPost, "/v1/dm/checks", ct, strings.NewReader(fmt.Sprintf(tc.body, suffix)))
			if status != http.StatusAccepted || strings.TrimSpace(string(body)) != tc.want {
				t.Fatalf("%s (content type %q): answer %d %s, want 202 %s", tc.body, ct, status, body, tc.want)
			}
		}
	}
	for topic, want := range map[string]string{
		dm.TopicChecks:     "[n1 n1x n2 n2x n3 n3x n4 n4x]",
		dm.TopicChecksHigh: "[h1 h1x]",
	} {
		var got []string
		for _, rec := range r.Records(t, topic) {
			var m dm.Mark
			if err := r.Codec.Decode(rec.Value, &m); err != nil {
				t.Fatal(err)
			}
			if string(rec.Key) != m.UserID || (m.Priority == dm.PriorityHigh) != (topic == dm.TopicChecksHigh) {
				t.Fatalf("%s: key %q, value %+v", topic, rec.Key, m)
			}
			got = append(got, m.UserID)
		}
		sort.Strings(got)
		if fmt.Sprint(got) != want {
			t.Fatalf("%s holds %v, want %v", topic, got, want)
		}
	}
	if n := r.EndOffsets(t)[dm.TopicUsers]; n != 0 {
		t.Fatalf("marking also registered %d users", n)
	}
}

func TestMaxIDsAndBodyFitTogether(t *testing.T) {
	r := newRig(t, nil)
	ids := make([]string, 10_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%064d", i)
	}
	status, body := r.PostJSON(t, "/v1/dm/users", map[string]any{"user_ids": ids})
	if status != http.StatusAccepted {
		t.Fatalf("10 000 ids of 64 chars: %d %s", status, body)
	}
	if n := r.EndOffsets(t)[dm.TopicUsers]; n != 10_000 {
		t.Fatalf("%s holds %d records, want 10 000", dm.TopicUsers, n)
	}
}

// TestAcceptedOnlyOnceKafkaAcknowledged: a write is answered 202 only
// once Kafka holds its records, however slow Kafka is to take them, and
// 503 (never 202) when Kafka refuses them.
func TestAcceptedOnlyOnceKafkaAcknowledged(t *testing.T) {
	r := newRig(t, nil)
	var slowed atomic.Int32
	r.onProduce(t, dm.TopicChecksHigh, func(*kmsg.ProduceRequest) (kmsg.Response, bool) {
		slowed.Add(1)
		r.Cluster.SleepControl(func() { time.Sleep(300 * time.Millisecond) })
		return nil, false
	})
	start := time.Now()
	status, body := r.PostJSON(t, "/v1/dm/checks", map[string]any{"user_ids": []string{"u1", "u2"}, "priority": "high"})
	if status != http.StatusAccepted || strings.TrimSpace(string(body)) != `{"accepted":2}` {
		t.Fatalf("write: %d %s", status, body)
	}
	if n := r.EndOffsets(t)[dm.TopicChecksHigh]; n != 2 || slowed.Load() == 0 || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("answered after %v with %d records in %s (%d produce requests slowed)", time.Since(start), n, dm.TopicChecksHigh, slowed.Load())
	}

	r.onProduce(t, dm.TopicUsers, func(req *kmsg.ProduceRequest) (kmsg.Response, bool) {
		return produceFailing(req, kerr.TopicAuthorizationFailed.Code), true
	})
	status, ct, b := r.Do(t, http.MethodPost, "/v1/dm/users", "application/json", strings.NewReader(`{"user_ids": ["u3"]}`))
	apitest.WantError(t, status, ct, b, http.StatusServiceUnavailable, "kafka did not acknowledge the request; retry it (repeating is safe)")
	if strings.Contains(string(b), "authoriz") {
		t.Fatalf("the cause reached the client: %s", b)
	}
	if !strings.Contains(r.logs.String(), "level=ERROR") {
		t.Fatalf("no ERROR line about the refused write:\n%s", r.logs)
	}
	if want := "rig-admin POST /v1/dm/users  503"; !slices.Contains(r.auditRecords(t), want) {
		t.Fatalf("audit %q lacks %q", r.auditRecords(t), want)
	}
}

func TestWriteFailsWhenKafkaIsDown(t *testing.T) {
	cfg := api.Defaults()
	cfg.BackendTimeout = 300 * time.Millisecond
	k := apitest.NewKafka(t, pipelinetest.Setup(dm.New()))
	c := serve(t, cfg, api.Deps{Routes: dm.RoutesWith(api.Backends{Kafka: k.Client, Codec: k.Codec, Config: cfg}, nil)})
	k.Cluster.Close()
	status, ctype, body := c.Do(t, http.MethodPost, "/v1/dm/users", "application/json", strings.NewReader(`{"user_ids": ["a"]}`))
	apitest.WantError(t, status, ctype, body, http.StatusServiceUnavailable, "kafka did not acknowledge the request; retry it")
}

func TestRejectedInputIsLoggedWithoutTheBody(t *testing.T) {
	r := newRig(t, nil)
	secret := strings.Repeat("secret", 100)
	status, ct, b := r.Do(t, http.MethodPost, "/v1/dm/users", "", strings.NewReader(`{"user_ids": ["ok", "`+secret+`"]}`))
	apitest.WantError(t, status, ct, b, http.StatusBadRequest, "user_ids[1]")
	logs := r.logs.String()
	for _, want := range []string{"level=WARN", `route="POST /v1/dm/users"`, "reason=", "user_ids[1]"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log %q lacks %q", logs, want)
		}
	}
	if strings.Contains(logs, secret) || strings.Contains(string(b), secret) {
		t.Errorf("the log or the answer holds the whole invalid id: %q", logs)
	}
}

func TestGetUserJSONShape(t *testing.T) {
	r := newRig(t, nil)
	high, yes := "high", true
	at := time.Date(2025, 1, 2, 3, 4, 5, 600_000_000, time.FixedZone("EET", 2*3600))
	r.reader.Put(
		ration.DMUser{UserID: "fresh", State: ration.DMUnmarked},
		ration.DMUser{UserID: "done", State: ration.DMChecked, Priority: &high, MarkedAt: ration.NewTimestamp(at),
			CheckedAt: ration.NewTimestamp(at.Add(1500 * time.Millisecond)), OpenDM: &yes, Attempts: 2},
	)
	for _, tc := range []struct{ id, want string }{
		// Never-set fields are null, not absent; times are UTC with milliseconds.
		{"fresh", `{"user_id":"fresh","state":"unmarked","priority":null,"marked_at":null,"checked_at":null,"open_dm":null,"attempts":0}`},
		{"done", `{"user_id":"done","state":"checked","priority":"high","marked_at":"2025-01-02T01:04:05.600Z","checked_at":"2025-01-02T01:04:07.100Z","open_dm":true,"attempts":2}`},
	} {
		status, ctype, body := r.Do(t, http.MethodGet, "/v1/dm/users/"+tc.id, "", nil)
		if status != http.StatusOK || ctype != "application/json" || strings.TrimSpace(string(body)) != tc.want {
			t.Fatalf("GET %s: %d %s %s\nwant 200 %s", tc.id, status, ctype, body, tc.want)
		}
	}
	status, ctype, body := r.Do(t, http.MethodGet, "/v1/dm/users/nobody", "", nil)
	apitest.WantError(t, status, ctype, body, http.StatusNotFound, `user "nobody" not found`)
}

func TestListUsersPaging(t *testing.T) {
	r := newRig(t, nil)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		r.reader.Put(ration.DMUser{UserID: id, State: ration.DMPending})
	}
	r.reader.Put(ration.DMUser{UserID: "x", State: ration.DMChecked})

	get := func(query string) ration.DMPage {
		t.Helper()
		status, _, body := r.Do(t, http.MethodGet, "/v1/dm/users?"+query, "", nil)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", query, status, body)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 2 || raw["users"] == nil || raw["next_cursor"] == nil {
			t.Fatalf("%s: body %s, want exactly users and next_cursor (%v)", query, body, err)
		}
		var p ration.DMPage
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ids := func(p ration.DMPage) string {
		var s []string
		for _, u := range p.Users {
			s = append(s, u.UserID)
		}
		return strings.Join(s, ",")
	}

	p := get("state=pending")
	if ids(p) != "a,b,c,d,e" || p.Next != "" {
		t.Fatalf("default page %q next %q", ids(p), p.Next)
	}
	if want := (apitest.ListCall{State: ration.DMPending, Limit: dm.DefaultPageSize}); r.reader.LastList() != want {
		t.Fatalf("reader asked %+v, want %+v", r.reader.LastList(), want)
	}
	p = get("state=pending&limit=2")
	if ids(p) != "a,b" || p.Next == "" {
		t.Fatalf("first page %q next %q", ids(p), p.Next)
	}
	p = get("state=pending&limit=2&cursor=" + p.Next)
	if ids(p) != "c,d" {
		t.Fatalf("second page %q", ids(p))
	}
	if got := r.reader.LastList(); got.Cursor != "after:b" || got.Limit != 2 {
		t.Fatalf("reader asked %+v", got)
	}
	if p = get(fmt.Sprintf("state=pending&limit=%d", dm.MaxPageSize)); ids(p) != "a,b,c,d,e" {
		t.Fatalf("max page %q", ids(p))
	}
	// An empty page lists no users as [], never null.
	status, _, body := r.Do(t, http.MethodGet, "/v1/dm/users?state=failed", "", nil)
	if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"users":[],"next_cursor":""}` {
		t.Fatalf("empty page: %d %s", status, body)
	}
}

func TestStats(t *testing.T) {
	r := newRig(t, nil)
	r.reader.SetStats(ration.DMStats{Unmarked: 1, Pending: 2, Parked: 5, Checked: 3, Failed: 4, OldestPendingAgeSeconds: 1.5})
	status, _, body := r.Do(t, http.MethodGet, "/v1/dm/stats", "", nil)
	want := `{"unmarked":1,"pending":2,"parked":5,"checked":3,"failed":4,"oldest_pending_age_seconds":1.5}`
	if status != http.StatusOK || strings.TrimSpace(string(body)) != want {
		t.Fatalf("stats: %d %s, want %s", status, body, want)
	}
}

func TestUserHistory(t *testing.T) {
	r := newRig(t, nil)
	at := time.Date(2025, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	r.reader.Put(ration.DMUser{UserID: "alice", State: ration.DMChecked, MarkedAt: ration.NewTimestamp(at.Add(-time.Minute))},
		ration.DMUser{UserID: "fresh", State: ration.DMUnmarked})
	r.reader.PutEvents(
		// A check of an earlier mark, a month before.
		ration.ItemEvent{ItemID: "alice", Pipeline: "dm", Stage: "check", Status: "SUCCESS", Attempt: 1, Worker: "w0",
			SourceTopic: "ration.dm.checks", SourcePartition: 3, SourceOffset: 1, Time: ration.Timestamp{Time: at.AddDate(0, -1, 0)}},
		ration.ItemEvent{ItemID: "alice", Pipeline: "dm", Stage: "check", Status: "FAILED", Attempt: 4, Worker: "w1",
			SourceTopic: "ration.dm.checks", SourcePartition: 3, SourceOffset: 7, ErrorClass: "transient", Error: "503", Time: ration.Timestamp{Time: at}},
		ration.ItemEvent{ItemID: "alice", Pipeline: "dm", Stage: "check", Status: "SUCCESS", Attempt: 1, Worker: "w2",
			SourceTopic: "ration.dm.checks", SourcePartition: 3, SourceOffset: 9, Time: ration.Timestamp{Time: at.Add(time.Second)}},
		// Another pipeline's item of the same id is not the user's.
		ration.ItemEvent{ItemID: "alice", Pipeline: "other", Stage: "x", Status: "SUCCESS", Time: ration.Timestamp{Time: at}},
	)
	status, ctype, body := r.Do(t, http.MethodGet, "/v1/dm/users/alice/history", "", nil)
	want := `{"events":[` +
		`{"item_id":"alice","pipeline":"dm","stage":"check","status":"FAILED","attempt":4,"retry_count":0,"worker":"w1","source_topic":"ration.dm.checks","source_partition":3,"source_offset":7,"error_class":"transient","error":"503","time":"2025-01-02T03:04:05.600Z"},` +
		`{"item_id":"alice","pipeline":"dm","stage":"check","status":"SUCCESS","attempt":1,"retry_count":0,"worker":"w2","source_topic":"ration.dm.checks","source_partition":3,"source_offset":9,"error_class":"","error":"","time":"2025-01-02T03:04:06.600Z"}]}`
	if status != http.StatusOK || ctype != "application/json" || strings.TrimSpace(string(body)) != want {
		t.Fatalf("history: %d %s %s\nwant %s", status, ctype, body, want)
	}
	if status, _, body := r.Do(t, http.MethodGet, "/v1/dm/users/fresh/history", "", nil); status != http.StatusOK || strings.TrimSpace(string(body)) != `{"events":[]}` {
		t.Fatalf("history of a user never checked: %d %s", status, body)
	}
	// since= reaches back to earlier checks.
	for _, since := range []string{"2024-12-01", "2024-12-01T00:00:00Z"} {
		status, _, body = r.Do(t, http.MethodGet, "/v1/dm/users/alice/history?since="+since, "", nil)
		var got struct{ Events []ration.ItemEvent }
		if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil || len(got.Events) != 3 || got.Events[0].Worker != "w0" {
			t.Fatalf("history since %s: %d %s", since, status, body)
		}
	}
	status, ctype, body = r.Do(t, http.MethodGet, "/v1/dm/users/alice/history?since=yesterday", "", nil)
	apitest.WantError(t, status, ctype, body, http.StatusBadRequest, `since "yesterday": want an RFC 3339 time`)
	status, ctype, body = r.Do(t, http.MethodGet, "/v1/dm/users/nobody/history", "", nil)
	apitest.WantError(t, status, ctype, body, http.StatusNotFound, `user "nobody" not found`)
}

// TestReadsUnavailable: without a read store, or with one that fails,
// every read answers 503 with the usual error body and never the cause;
// requests that are invalid whatever the store says are still 400.
func TestReadsUnavailable(t *testing.T) {
	reads := []string{"/v1/dm/users/u1", "/v1/dm/users/u1/history", "/v1/dm/users?state=pending", "/v1/dm/stats"}
	t.Run("failing store", func(t *testing.T) {
		r := newRig(t, nil)
		r.reader.Put(ration.DMUser{UserID: "u1", State: ration.DMPending})
		r.reader.Fail(errors.New("dial tcp 10.0.0.9:9000: connection refused"))
		for _, path := range reads {
			status, ct, body := r.Do(t, http.MethodGet, path, "", nil)
			apitest.WantError(t, status, ct, body, http.StatusServiceUnavailable, "read store unavailable; retry later")
			if strings.Contains(string(body), "refused") {
				t.Fatalf("GET %s: the cause reached the client: %s", path, body)
			}
		}
		if !strings.Contains(r.logs.String(), "connection refused") {
			t.Fatalf("the cause is not in the log:\n%s", r.logs)
		}
	})
	t.Run("no store", func(t *testing.T) {
		// dm.Routes without ClickHouse, as an ingest-only API.
		routes, err := dm.Routes(api.Backends{Config: api.Defaults()})
		if err != nil {
			t.Fatal(err)
		}
		c := serve(t, api.Defaults(), api.Deps{Routes: routes})
		for _, path := range reads {
			status, ct, body := c.Do(t, http.MethodGet, path, "", nil)
			apitest.WantError(t, status, ct, body, http.StatusServiceUnavailable, "reads are not enabled")
		}
		for _, path := range []string{"/v1/dm/users", "/v1/dm/checks"} {
			status, ct, body := c.Do(t, http.MethodPost, path, "", strings.NewReader(`{"user_ids": ["u1"]}`))
			apitest.WantError(t, status, ct, body, http.StatusServiceUnavailable, "writes are not enabled")
		}
		status, ct, body := c.Do(t, http.MethodGet, "/v1/dm/users/bad%20id", "", nil)
		apitest.WantError(t, status, ct, body, http.StatusBadRequest, "not a valid user id")
		status, ct, body = c.Do(t, http.MethodGet, "/v1/dm/users?state=done", "", nil)
		apitest.WantError(t, status, ct, body, http.StatusBadRequest, "state")
	})
	t.Run("no history", func(t *testing.T) {
		reader := apitest.NewReader()
		reader.Put(ration.DMUser{UserID: "u1", State: ration.DMChecked})
		c := serve(t, api.Defaults(), api.Deps{Routes: dm.RoutesWith(api.Backends{Config: api.Defaults()}, reader)})
		status, ct, body := c.Do(t, http.MethodGet, "/v1/dm/users/u1/history", "", nil)
		apitest.WantError(t, status, ct, body, http.StatusServiceUnavailable, "reads are not enabled")
		if status, _, body := c.Do(t, http.MethodGet, "/v1/dm/users/u1", "", nil); status != http.StatusOK {
			t.Fatalf("the user's state without a history: %d %s", status, body)
		}
	})
}

// TestScopes: read keys read, write keys also write, and neither without
// a key.
func TestScopes(t *testing.T) {
	r := newRig(t, nil)
	r.reader.Put(ration.DMUser{UserID: "u1", State: ration.DMPending})
	read := r.as(r.addKey(t, "dashboard", schemas.ScopeRead))
	write := r.as(r.addKey(t, "ci", schemas.ScopeWrite))
	for _, path := range []string{"/v1/dm/users?state=pending", "/v1/dm/users/u1", "/v1/dm/users/u1/history", "/v1/dm/stats"} {
		for who, c := range map[string]*rig{"read": read, "write": write, "admin": r} {
			if status, _, body := c.Do(t, http.MethodGet, path, "", nil); status != http.StatusOK {
				t.Errorf("%s key GET %s: %d %s", who, path, status, body)
			}
		}
		status, ct, body := r.as("").Do(t, http.MethodGet, path, "", nil)
		apitest.WantError(t, status, ct, body, http.StatusUnauthorized, "API key")
	}
	for _, path := range []string{"/v1/dm/users", "/v1/dm/checks"} {
		status, body := read.PostJSON(t, path, map[string]any{"user_ids": []string{"u1"}})
		apitest.WantError(t, status, "application/json", body, http.StatusForbidden, "scope read")
		status, body = r.as("").PostJSON(t, path, map[string]any{"user_ids": []string{"u1"}})
		apitest.WantError(t, status, "application/json", body, http.StatusUnauthorized, "API key")
	}
	offs := r.EndOffsets(t)
	if n := offs[dm.TopicUsers] + offs[dm.TopicChecks]; n != 0 {
		t.Fatalf("refused writes produced %d records", n)
	}
	for _, c := range []*rig{write, r} {
		if status, body := c.PostJSON(t, "/v1/dm/checks", map[string]any{"user_ids": []string{"u1"}}); status != http.StatusAccepted {
			t.Fatalf("POST /v1/dm/checks: %d %s", status, body)
		}
		if status, body := c.PostJSON(t, "/v1/dm/users", map[string]any{"user_ids": []string{"u1"}}); status != http.StatusAccepted {
			t.Fatalf("POST /v1/dm/users: %d %s", status, body)
		}
	}
}

// TestWritesAreAudited: every write, accepted or refused, is recorded
// before it is answered; reads are not.
func TestWritesAreAudited(t *testing.T) {
	r := newRig(t, nil)
	read := r.as(r.addKey(t, "dashboard", schemas.ScopeRead))
	write := r.as(r.addKey(t, "ci", schemas.ScopeWrite))
	write.PostJSON(t, "/v1/dm/checks", map[string]any{"user_ids": []string{"u1"}})
	write.PostJSON(t, "/v1/dm/users", map[string]any{"user_ids": []string{"bad id"}})
	read.PostJSON(t, "/v1/dm/checks", map[string]any{"user_ids": []string{"u1"}})
	read.Do(t, http.MethodGet, "/v1/dm/stats", "", nil)
	write.Do(t, http.MethodGet, "/v1/dm/users/u1", "", nil)

	want := []string{
		"ci POST /v1/dm/checks  202",
		"ci POST /v1/dm/users  400",
		"dashboard POST /v1/dm/checks  403",
	}
	got := r.auditRecords(t)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("audit %q, want %q", got, want)
	}
}

func TestMethodNotAllowedListsMethods(t *testing.T) {
	r := newRig(t, nil)
	for path, allow := range map[string]string{
		"/v1/dm/users":  "POST, GET",
		"/v1/dm/checks": "POST",
		"/v1/dm/stats":  "GET",
	} {
		req, _ := http.NewRequest(http.MethodPatch, r.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+r.Key)
		resp, err := r.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != allow {
			t.Errorf("PATCH %s: %d Allow=%q, want 405 Allow=%q", path, resp.StatusCode, resp.Header.Get("Allow"), allow)
		}
	}
}

func TestMetricsByRoutePattern(t *testing.T) {
	r := newRig(t, nil)
	r.Do(t, http.MethodGet, "/v1/dm/users/u1", "", nil)
	r.Do(t, http.MethodGet, "/v1/dm/users/u2", "", nil)
	r.PostJSON(t, "/v1/dm/users", map[string]any{"user_ids": []string{"u1", "u2", "u1", "u3"}})
	r.PostJSON(t, "/v1/dm/checks", map[string]any{"user_ids": []string{"u1"}, "priority": "high"})
	r.PostJSON(t, "/v1/dm/checks", map[string]any{"user_ids": []string{"bad id"}})
	status, _, body := r.Do(t, http.MethodGet, "/metrics", "", nil)
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	text := string(body)
	for _, want := range []string{
		`ration_api_request_duration_seconds_count{code="404",route="GET /v1/dm/users/{id}"} 2`,
		`ration_api_request_duration_seconds_count{code="202",route="POST /v1/dm/users"} 1`,
		`ration_api_request_duration_seconds_count{code="202",route="POST /v1/dm/checks"} 1`,
		`ration_api_request_duration_seconds_count{code="400",route="POST /v1/dm/checks"} 1`,
		// Distinct ids Kafka acknowledged.
		`ration_api_user_ids_accepted_total{route="POST /v1/dm/users"} 3`,
		`ration_api_user_ids_accepted_total{route="POST /v1/dm/checks"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "u1") {
		t.Error("metrics carry a raw path")
	}
}
