package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/internal/chserver/chtest"
)

// stack runs the dev stack in the background on free ports.
type stack struct {
	addrs Addrs
	api   *apiclient.Client
	stop  func()
}

func startStack(t *testing.T, dir string) *stack {
	t.Helper()
	return startStackWith(t, dir, func(*Config) {})
}

// startStackWith starts the stack with the test defaults changed by tune.
func startStackWith(t *testing.T, dir string, tune func(*Config)) *stack {
	t.Helper()
	chtest.Require(t)
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.API.Addr = "127.0.0.1:0"
	cfg.Broker.KafkaAddr = "127.0.0.1:0"
	cfg.Broker.RegistryAddr = "127.0.0.1:0"
	cfg.Tuning.SessionTimeout = 3 * time.Second
	cfg.Sink.FlushInterval = 200 * time.Millisecond
	tune(&cfg)

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan Addrs, 1)
	done := make(chan error, 1)
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("RATION_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	go func() { done <- Run(ctx, cfg, log, func(a Addrs) { ready <- a }) }()
	s := &stack{}
	select {
	case s.addrs = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("dev stack did not start: %v", err)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatal("dev stack not ready after 2 minutes")
	}
	key, err := os.ReadFile(filepath.Join(dir, AdminKeyFile))
	if err != nil {
		cancel()
		t.Fatalf("admin key: %v", err)
	}
	s.api = apiclient.New(s.addrs.API, nil).WithKey(strings.TrimSpace(string(key)))
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev stack: %v", err)
		}
	}
	t.Cleanup(s.stop)
	return s
}

func ids(prefix string, from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%05d", prefix, i))
	}
	return out
}

// await polls cond every 100ms until it holds or d passes.
func await(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not after %v (last: %s)", what, d, last)
}

// listAll follows next_cursor and returns every user id in state.
func listAll(t *testing.T, c *apiclient.Client, state ration.DMState, limit int) []string {
	t.Helper()
	var out []string
	cursor := ""
	for {
		page, err := c.Users(context.Background(), state, cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			if u.State != state {
				t.Fatalf("listing %s returned %s in state %s", state, u.UserID, u.State)
			}
			out = append(out, u.UserID)
		}
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

// TestEndToEndThroughTheAPI: register 10 000 users, mark 5 000 (100 of
// them high); all 5 000 reach checked, each exactly once in ClickHouse;
// the other 5 000 list as unmarked; paging returns every user once. Then
// a restart on the same data dir changes no state or count.
func TestEndToEndThroughTheAPI(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, dir)
	ctx := context.Background()

	all := ids("user", 0, 10_000)
	if n, err := s.api.RegisterUsers(ctx, all); err != nil || n != 10_000 {
		t.Fatalf("register: %d, %v", n, err)
	}
	if n, err := s.api.Mark(ctx, all[100:5000], "normal"); err != nil || n != 4900 {
		t.Fatalf("mark normal: %d, %v", n, err)
	}
	if n, err := s.api.Mark(ctx, all[:100], "high"); err != nil || n != 100 {
		t.Fatalf("mark high: %d, %v", n, err)
	}

	await(t, 2*time.Minute, "5 000 users checked", func() (bool, string) {
		st, err := s.api.Stats(ctx)
		if err != nil {
			return false, err.Error()
		}
		return st.Checked == 5000 && st.Pending == 0 && st.Unmarked == 5000, fmt.Sprintf("%+v", st)
	})

	// Exactly once: one result row per user, with replays collapsed.
	reader, err := openReader(ctx, s.addrs.ClickHouse)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var rows, users uint64
	if err := reader.Conn().QueryRow(ctx,
		"SELECT count(), uniqExact(user_id) FROM ration.dm_user_log FINAL WHERE kind = 'result'").Scan(&rows, &users); err != nil {
		t.Fatal(err)
	}
	if rows != 5000 || users != 5000 {
		t.Fatalf("%d result rows for %d users in ClickHouse, want 5000 for 5000", rows, users)
	}

	// The counts and each user's state are separate topics: a user's
	// state may land a flush after the counts that include it.
	var high ration.DMUser
	await(t, 30*time.Second, "the high-priority user's state", func() (bool, string) {
		high, err = s.api.User(ctx, all[0])
		if err != nil {
			return false, err.Error()
		}
		return high.State == ration.DMChecked, fmt.Sprintf("%+v", high)
	})
	if high.State != ration.DMChecked || high.Priority == nil || *high.Priority != "high" || high.OpenDM == nil || high.CheckedAt == nil {
		t.Fatalf("high-priority user: %+v", high)
	}

	// Events and results are separate topics: the event may land a flush
	// after the result.
	var history []ration.ItemEvent
	await(t, 30*time.Second, "the checked user's event", func() (bool, string) {
		history, err = s.api.History(ctx, all[0], "")
		if err != nil {
			return false, err.Error()
		}
		return len(history) > 0, "no events"
	})
	if len(history) != 1 || history[0].Status != "PROCESSED" || history[0].SourceTopic != "ration.dm.checks.high" || history[0].Stage != "check" {
		t.Fatalf("history of a checked high-priority user: %+v", history)
	}

	unmarked := listAll(t, s.api, ration.DMUnmarked, 1000)
	if !slices.Equal(unmarked, all[5000:]) {
		t.Fatalf("unmarked listing: %d users, want the 5000 never marked, each once, in order", len(unmarked))
	}
	checked := listAll(t, s.api, ration.DMChecked, 777)
	if !slices.Equal(checked, all[:5000]) {
		t.Fatalf("checked listing: %d users, want 5000, each once, in order", len(checked))
	}
	before, err := s.api.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Persistence: the same data dir after a clean stop.
	s.stop()
	s = startStack(t, dir)
	after, err := s.api.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("stats after restart %+v, before %+v", after, before)
	}
	again, err := s.api.User(ctx, all[0])
	if err != nil {
		t.Fatal(err)
	}
	if again.State != high.State || !again.CheckedAt.Equal(high.CheckedAt.Time) || *again.OpenDM != *high.OpenDM {
		t.Fatalf("user after restart %+v, before %+v", again, high)
	}
	// The restarted stack still works: a new mark gets checked.
	if _, err := s.api.Mark(ctx, all[9999:], "normal"); err != nil {
		t.Fatal(err)
	}
	await(t, time.Minute, "a mark after the restart is checked", func() (bool, string) {
		u, err := s.api.User(ctx, all[9999])
		if err != nil {
			return false, err.Error()
		}
		return u.State == ration.DMChecked, string(u.State)
	})
	// Auth: the admin key from the data dir survived the restart (every
	// call above used it); an admin registers a read key, its writes are
	// refused, every write is in the audit table, and no key is in any
	// ClickHouse column.
	dash, err := s.api.AddAPIClient(ctx, "dashboard", "read")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.api.WithKey(dash.Key).Mark(ctx, all[:1], ""); err == nil {
		t.Fatal("a read key marked users")
	}
	await(t, time.Minute, "the audit log holds the registration and the refused write", func() (bool, string) {
		entries, err := s.api.Audit(ctx, "", time.Time{}, 1000)
		if err != nil {
			return false, err.Error()
		}
		var reg, refused bool
		for _, e := range entries {
			reg = reg || (e.Client == "admin" && e.Route == "POST /v1/clients" && e.Target == "dashboard" && e.Status == 201)
			refused = refused || (e.Client == "dashboard" && e.Route == "POST /v1/dm/checks" && e.Status == 403)
		}
		return reg && refused, fmt.Sprintf("%d entries", len(entries))
	})
	// Workers get Kafka credentials from the embedded broker.
	w, err := s.api.AddWorker(ctx, "w-extra", "dm")
	if err != nil {
		t.Fatal(err)
	}
	if w.SASLMechanism != "SCRAM-SHA-512" || w.Username == "" || w.Password == "" {
		t.Fatalf("worker credentials %+v", w)
	}
	if _, err := s.api.RevokeClient(ctx, "w-extra"); err != nil {
		t.Fatal(err)
	}
	adminKey, err := os.ReadFile(filepath.Join(dir, AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	rows2, err := reader.Conn().Query(ctx, "SELECT table, name FROM system.columns WHERE database = 'ration' AND type = 'String'")
	if err != nil {
		t.Fatal(err)
	}
	var cols [][2]string
	for rows2.Next() {
		var c [2]string
		if err := rows2.Scan(&c[0], &c[1]); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	rows2.Close()
	if len(cols) == 0 {
		t.Fatal("no String columns found: the scan means nothing")
	}
	for _, key := range []string{strings.TrimSpace(string(adminKey)), dash.Key, "rk_" + w.Password} {
		for _, c := range cols {
			var n uint64
			q := fmt.Sprintf("SELECT count() FROM ration.`%s` WHERE position(`%s`, ?) > 0", c[0], c[1])
			if err := reader.Conn().QueryRow(ctx, q, key[3:]).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				t.Fatalf("a key is stored in ClickHouse: %s.%s", c[0], c[1])
			}
		}
	}
}
