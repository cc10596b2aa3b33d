package api

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration/schemas"
)

// TestBadWritesProduceNothing sends every kind of invalid request to a
// server in front of a real broker, checks each answer, and then that not
// one record reached any topic.
func TestBadWritesProduceNothing(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxIDs = 5; c.MaxBodyBytes = 4 << 10 })
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
		{"bad cursor", "GET", "/v1/dm/users?state=pending&cursor=zzz", "", "", 400, "cursor"},
		{"bad user id", "GET", "/v1/dm/users/bad%20id", "", "", 400, "not a valid user id"},
		{"long user id", "GET", "/v1/dm/users/" + strings.Repeat("x", 65), "", "", 400, "not a valid user id"},
		{"unknown route", "GET", "/v1/nope", "", "", 404, "no route"},
		{"wrong method", "DELETE", "/v1/dm/users", "", "", 405, "not allowed"},
		{"wrong method on write", "PUT", "/v1/dm/checks", js, `{"user_ids": ["a"]}`, 405, "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ctype, body := r.do(t, tc.method, tc.path, tc.ctype, strings.NewReader(tc.body))
			wantError(t, status, ctype, body, tc.status, tc.wantIn)
		})
	}
	for topic, n := range r.EndOffsets(t) {
		if n != 0 && topic != schemas.TopicAudit { // rejected writes are audited
			t.Errorf("%s holds %d records after only bad requests", topic, n)
		}
	}
}

func TestRegisterProducesDistinctUsers(t *testing.T) {
	r := newRig(t, nil)
	before := time.Now().Truncate(time.Millisecond)
	status, body := r.postJSON(t, "/v1/dm/users", map[string]any{"user_ids": []string{"b", "a", "b", "c:1", "a"}})
	if status != http.StatusAccepted || string(body) != `{"accepted":3}`+"\n" {
		t.Fatalf("answer %d %s, want 202 {\"accepted\":3}", status, body)
	}
	var got []string
	for _, rec := range r.Records(t, schemas.TopicDMUsers) {
		var u schemas.DMUser
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
	if offs[schemas.TopicDMChecks]+offs[schemas.TopicDMChecksHigh] != 0 {
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
			status, _, body := r.do(t, http.MethodPost, "/v1/dm/checks", ct, strings.NewReader(fmt.Sprintf(tc.body, suffix)))
			if status != http.StatusAccepted || strings.TrimSpace(string(body)) != tc.want {
				t.Fatalf("%s (content type %q): answer %d %s, want 202 %s", tc.body, ct, status, body, tc.want)
			}
		}
	}
	for topic, want := range map[string]string{
		schemas.TopicDMChecks:     "[n1 n1x n2 n2x n3 n3x n4 n4x]",
		schemas.TopicDMChecksHigh: "[h1 h1x]",
	} {
		var got []string
		for _, rec := range r.Records(t, topic) {
			var m schemas.DMMark
			if err := r.Codec.Decode(rec.Value, &m); err != nil {
				t.Fatal(err)
			}
			if string(rec.Key) != m.UserID || (m.Priority == schemas.PriorityHigh) != (topic == schemas.TopicDMChecksHigh) {
				t.Fatalf("%s: key %q, value %+v", topic, rec.Key, m)
			}
			got = append(got, m.UserID)
		}
		sort.Strings(got)
		if fmt.Sprint(got) != want {
			t.Fatalf("%s holds %v, want %v", topic, got, want)
		}
	}
	if n := r.EndOffsets(t)[schemas.TopicDMUsers]; n != 0 {
		t.Fatalf("marking also registered %d users", n)
	}
}

func TestMaxIDsAndBodyFitTogether(t *testing.T) {
	r := newRig(t, nil)
	ids := make([]string, 10_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%064d", i)
	}
	status, body := r.postJSON(t, "/v1/dm/users", map[string]any{"user_ids": ids})
	if status != http.StatusAccepted {
		t.Fatalf("10 000 ids of 64 chars: %d %s", status, body)
	}
}

func TestWriteFailsWhenKafkaIsDown(t *testing.T) {
	r := newRig(t, func(c *Config) { c.BackendTimeout = 300 * time.Millisecond })
	r.Cluster.Close()
	status, ctype, body := r.do(t, http.MethodPost, "/v1/dm/users", "application/json", strings.NewReader(`{"user_ids": ["a"]}`))
	wantError(t, status, ctype, body, http.StatusServiceUnavailable, "retry")
}
