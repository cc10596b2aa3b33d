package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apitest"
)

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
		status, ctype, body := r.do(t, http.MethodGet, "/v1/dm/users/"+tc.id, "", nil)
		if status != http.StatusOK || ctype != "application/json" || strings.TrimSpace(string(body)) != tc.want {
			t.Fatalf("GET %s: %d %s %s\nwant 200 %s", tc.id, status, ctype, body, tc.want)
		}
	}
	status, ctype, body := r.do(t, http.MethodGet, "/v1/dm/users/nobody", "", nil)
	wantError(t, status, ctype, body, http.StatusNotFound, `"nobody" not found`)
}

func TestListUsersPaging(t *testing.T) {
	r := newRig(t, nil)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		r.reader.Put(ration.DMUser{UserID: id, State: ration.DMPending})
	}
	r.reader.Put(ration.DMUser{UserID: "x", State: ration.DMChecked})

	get := func(query string) ration.DMPage {
		t.Helper()
		status, _, body := r.do(t, http.MethodGet, "/v1/dm/users?"+query, "", nil)
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
	if want := (apitest.ListCall{State: ration.DMPending, Limit: DefaultPageSize}); r.reader.LastList() != want {
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
	if p = get("state=pending&limit=10000"); ids(p) != "a,b,c,d,e" {
		t.Fatalf("max page %q", ids(p))
	}
	// An empty page lists no users as [], never null.
	status, _, body := r.do(t, http.MethodGet, "/v1/dm/users?state=failed", "", nil)
	if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"users":[],"next_cursor":""}` {
		t.Fatalf("empty page: %d %s", status, body)
	}
}

func TestStats(t *testing.T) {
	r := newRig(t, nil)
	r.reader.SetStats(ration.DMStats{Unmarked: 1, Pending: 2, Parked: 5, Checked: 3, Failed: 4, OldestPendingAgeSeconds: 1.5})
	status, _, body := r.do(t, http.MethodGet, "/v1/dm/stats", "", nil)
	want := `{"unmarked":1,"pending":2,"parked":5,"checked":3,"failed":4,"oldest_pending_age_seconds":1.5}`
	if status != http.StatusOK || strings.TrimSpace(string(body)) != want {
		t.Fatalf("stats: %d %s, want %s", status, body, want)
	}
}

func TestUserHistory(t *testing.T) {
	r := newRig(t, nil)
	at := time.Date(2025, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	r.reader.Put(ration.DMUser{UserID: "alice", State: ration.DMChecked}, ration.DMUser{UserID: "fresh", State: ration.DMUnmarked})
	r.reader.PutEvents(
		ration.ItemEvent{ItemID: "alice", Pipeline: "dm", Stage: "check", Status: "FAILED", Attempt: 4, Worker: "w1",
			SourceTopic: "ration.dm.checks", SourcePartition: 3, SourceOffset: 7, ErrorClass: "transient", Error: "503", Time: ration.Timestamp{Time: at}},
		ration.ItemEvent{ItemID: "alice", Pipeline: "dm", Stage: "check", Status: "SUCCESS", Attempt: 1, Worker: "w2",
			SourceTopic: "ration.dm.checks", SourcePartition: 3, SourceOffset: 9, Time: ration.Timestamp{Time: at.Add(time.Second)}},
	)
	status, ctype, body := r.do(t, http.MethodGet, "/v1/dm/users/alice/history", "", nil)
	want := `{"events":[` +
		`{"item_id":"alice","pipeline":"dm","stage":"check","status":"FAILED","attempt":4,"retry_count":0,"worker":"w1","source_topic":"ration.dm.checks","source_partition":3,"source_offset":7,"error_class":"transient","error":"503","time":"2025-01-02T03:04:05.600Z"},` +
		`{"item_id":"alice","pipeline":"dm","stage":"check","status":"SUCCESS","attempt":1,"retry_count":0,"worker":"w2","source_topic":"ration.dm.checks","source_partition":3,"source_offset":9,"error_class":"","error":"","time":"2025-01-02T03:04:06.600Z"}]}`
	if status != http.StatusOK || ctype != "application/json" || strings.TrimSpace(string(body)) != want {
		t.Fatalf("history: %d %s %s\nwant %s", status, ctype, body, want)
	}
	if status, _, body := r.do(t, http.MethodGet, "/v1/dm/users/fresh/history", "", nil); status != http.StatusOK || strings.TrimSpace(string(body)) != `{"events":[]}` {
		t.Fatalf("history of a user never checked: %d %s", status, body)
	}
	status, ctype, body = r.do(t, http.MethodGet, "/v1/dm/users/nobody/history", "", nil)
	wantError(t, status, ctype, body, http.StatusNotFound, `"nobody" not found`)
}
