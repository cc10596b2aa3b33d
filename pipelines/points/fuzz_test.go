package points

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/pipeline/pipelinetest"
	"github.com/rationhq/ration/processor"
)

// FuzzBodies: whatever body a route of the points API is sent, it answers
// a 4xx with a JSON error, or 503 for a body that passed every check and
// would go to Kafka (there is none here) — never a 500, never a panic.
func FuzzBodies(f *testing.F) {
	for _, seed := range []string{
		`{"name": "alice", "password": "12345678", "region": "R1"}`,
		`{"user_id": "001-abcdef", "password": "x"}`,
		`{"name": "flat", "location": "Riga", "command_id": "c1"}`,
		`{"command_id": "c1", "user_id": "001-abcdef", "group_id": "g-1", "items": [{"item_id": "coffee", "quantity": 2}]}`,
		`{"command_id": "c1", "group_id": "g-1", "points": 10}`,
		`{"command_id": "c1", "group_id": "g-1", "item_id": "coffee"}`,
		`{"name": "coffee", "price": 3.5, "points": 10, "discount": {"percent": 10, "min_members": 2}}`,
		`{"command_id": "` + strings.Repeat("x", 100) + `"}`, `[]`, `{"points": 1e400}`, `{"price": -0.001}`,
	} {
		f.Add(seed)
	}
	routes, err := Routes(api.Backends{Codec: kafkatest.Codec(f, pipelinetest.Setup(New())), Config: api.Defaults()})
	if err != nil {
		f.Fatal(err)
	}
	srv, err := api.New(api.Defaults(), api.Deps{Routes: routes})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	token, _ := mustTokens(f).Issue("001-abcdef")
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/v1/points/users", "/v1/points/login", "/v1/points/groups", "/v1/points/groups/g-1/members",
			"/v1/points/bills", "/v1/points/redemptions", "/v1/points/catalogue/coffee"} {
			method := http.MethodPost
			if strings.HasPrefix(path, "/v1/points/catalogue/") {
				method = http.MethodPut
			}
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var e struct {
				Error string `json:"error"`
			}
			if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
			}
			if rec.Code >= 400 && (json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "") {
				t.Fatalf("%s %s: %d without a JSON error: %s", method, path, rec.Code, rec.Body)
			}
		}
	})
}

// FuzzLedger: any bytes on the commands topic are decided or refused as
// permanent failures, never a panic; and any command the API could send,
// on any balance, leaves the balance at least zero and moves it by the
// outcome's points exactly.
func FuzzLedger(f *testing.F) {
	codec := kafkatest.Codec(f, pipelinetest.Setup(New()))
	good, err := codec.Encode(&Command{ID: "u/c", CommandID: "c", Kind: KindRedeem, GroupID: "g", UserID: "u", Points: 5})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, int64(10), int64(5), int64(2), int64(3), uint8(3))
	f.Add([]byte{0, 0, 0, 0, 1, 2}, int64(0), int64(1), int64(1), int64(1), uint8(2))
	l := &ledger{codec: codec, now: time.Now}
	f.Fuzz(func(t *testing.T, raw []byte, balance, points, quantity, price int64, kind uint8) {
		st := processor.StoreState(processor.NewMemoryStore(), 0)
		if _, err := l.Process(context.Background(), &kgo.Record{Key: []byte("g"), Value: raw}, st); err != nil && !processor.IsPermanent(err) {
			t.Fatalf("undecodable command: %v, want a permanent failure", err)
		}
		// Within what the API lets through.
		clamp := func(v, hi int64) int64 { return min(max(v, 0), hi) }
		balance = clamp(balance, 1<<62)
		line := Line{Name: "x", Quantity: clamp(quantity, maxQuantity), Price: clamp(price, maxPrice), Points: clamp(points, maxPoints)}
		g := &Group{GroupID: "g", Members: []string{"u"}, Balance: balance}
		c := &Command{Kind: []string{KindBill, KindRedeem, KindJoin, KindCreate}[kind%4], GroupID: "g", UserID: "u",
			Lines: []Line{line}, Points: clamp(points, maxPoints)}
		if kind%8 >= 4 {
			c.Lines = nil
		}
		o := decide(g, true, c, time.Now())
		if g.Balance < 0 || o.Balance != g.Balance {
			t.Fatalf("%s: balance %d (outcome says %d)", c.Kind, g.Balance, o.Balance)
		}
		if want := balance + o.Points; o.Outcome == Applied && g.Balance != want {
			t.Fatalf("%s applied %+d to %d: %d", c.Kind, o.Points, balance, g.Balance)
		}
		if o.Outcome == Rejected && g.Balance != balance {
			t.Fatalf("%s rejected but the balance moved %d -> %d", c.Kind, balance, g.Balance)
		}
	})
}

// FuzzTokens: no string but one the tokens issued passes as a token.
func FuzzTokens(f *testing.F) {
	tk := mustTokens(f)
	// One clock for every fuzzing process: each runs this setup, and on
	// the wall clock two of them a second apart issued two valid tokens,
	// each taking the other's for a forgery.
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tk.now = func() time.Time { return at }
	valid, _ := tk.Issue("001-abcdef")
	f.Add(valid)
	f.Add(valid[:len(valid)-1] + "A")
	f.Add("MDAxLWFiY2RlZnw5OTk5OTk5OTk5.AAAA")
	f.Fuzz(func(t *testing.T, token string) {
		user, err := tk.User(token)
		if err == nil && token != valid {
			t.Fatalf("%q passed as %q's token", token, user)
		}
	})
}

// FuzzUserCursor: a cursor reads back as it was written, and anything else
// is refused as a bad cursor, never a panic.
func FuzzUserCursor(f *testing.F) {
	f.Add(uint64(1_700_000_000_000), "g-1", uint64(7), "")
	f.Add(uint64(0), "g~x", uint64(0), "12~g~x")
	f.Fuzz(func(t *testing.T, at uint64, group string, seq uint64, raw string) {
		at, seq = at>>1, seq>>1 // cursors hold 63-bit numbers
		gotAt, gotGroup, gotSeq, err := parseUserCursor(userCursor(at, group, seq))
		if err != nil || gotAt != at || gotGroup != group || gotSeq != seq {
			t.Fatalf("(%d, %q, %d) read back as (%d, %q, %d), %v", at, group, seq, gotAt, gotGroup, gotSeq, err)
		}
		_, _, _, _ = parseUserCursor(raw)
	})
}

func mustTokens(tb testing.TB) *Tokens {
	tk, err := NewTokens(bytes.Repeat([]byte("k"), 32), time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tk
}
