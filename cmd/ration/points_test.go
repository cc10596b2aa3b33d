package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/internal/devstack"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/points"
)

// pointsRig is the dev stack with the points pipeline alone, in this
// process: the broker, a local ClickHouse, the ledger's workers, the sink
// and the API. Nothing less answers the points API truly: a command
// waits for the ledger's decision, groups and history are ClickHouse's.
type pointsRig struct {
	api      string
	adminKey string
	admin    *apiclient.Client
}

func newPointsRig(t *testing.T) *pointsRig {
	t.Helper()
	chtest.Require(t)
	dir := t.TempDir()
	cfg := devstack.DefaultConfig()
	cfg.DataDir = dir
	cfg.API.Addr = "127.0.0.1:0"
	cfg.Broker.KafkaAddr = "127.0.0.1:0"
	cfg.Broker.RegistryAddr = "127.0.0.1:0"
	cfg.Pipelines = []pipeline.Descriptor{points.New()}
	cfg.Tuning.SessionTimeout = 3 * time.Second
	cfg.Sink.FlushInterval = 200 * time.Millisecond

	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan devstack.Addrs, 1), make(chan error, 1)
	go func() {
		done <- devstack.Run(ctx, cfg, slog.New(slog.DiscardHandler), func(a devstack.Addrs) { ready <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev stack: %v", err)
		}
	})
	var addrs devstack.Addrs
	select {
	case addrs = <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("dev stack did not start: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("dev stack not ready after 2 minutes")
	}
	key, err := os.ReadFile(filepath.Join(dir, devstack.AdminKeyFile))
	if err != nil {
		t.Fatalf("admin key: %v", err)
	}
	r := &pointsRig{api: addrs.API, adminKey: strings.TrimSpace(string(key))}
	r.admin = apiclient.New(r.api, nil).WithKey(r.adminKey)
	return r
}

// run runs `ration points --api ... args` in this process with stdin, as
// a script would, and returns its stdout.
func (r *pointsRig) run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(append([]string{"points", "--api", r.api}, args...))
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if err != nil {
		err = errors.Join(err, errors.New("stderr: "+errOut.String()))
	}
	return out.String(), err
}

// must is run that fails t unless the command succeeds and prints want.
func (r *pointsRig) must(t *testing.T, want, stdin string, args ...string) string {
	t.Helper()
	out, err := r.run(t, stdin, args...)
	if err != nil || !strings.Contains(out, want) {
		t.Fatalf("%v: %q, %v; want %q", args, out, err, want)
	}
	return out
}

// eventually runs a read until its output matches want: groups and
// history are read from ClickHouse, where the ledger's entries land a
// moment after the ledger decides.
func (r *pointsRig) eventually(t *testing.T, want *regexp.Regexp, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := r.run(t, "", args...)
		if err == nil && want.MatchString(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: %q, %v; want %v within 30s", args, out, err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var (
	userIDLine = regexp.MustCompile(`(?m)^user_id=(\S+)$`)
	tokenLine  = regexp.MustCompile(`(?m)^token=(\S+)$`)
	groupOf    = regexp.MustCompile(`in group (g-\S+)`)
)

// match returns re's first group in s, failing t without one.
func match(t *testing.T, re *regexp.Regexp, s string) string {
	t.Helper()
	m := re.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%q: no %v", s, re)
	}
	return m[1]
}

// TestPointsCommands: users and items added with API keys; a user logs in
// and passes the token back; a group created, joined by a user logging in
// with --user, billed by staff and spent from, a rejection failing the
// command; the groups and history read back as the ledger has them.
func TestPointsCommands(t *testing.T) {
	r := newPointsRig(t)
	key := r.adminKey

	ids := map[string]string{}
	for _, u := range []struct {
		name, region string
		staff        bool
	}{{"alice", "R1", false}, {"bob", "R2", false}, {"sam", "R3", true}} {
		args := []string{"--key", key, "users", "add", "--name", u.name, "--region", u.region, "--password-stdin"}
		if u.staff {
			args = append(args, "--staff")
		}
		ids[u.name] = match(t, userIDLine, r.must(t, "user_id=", "pw-of-"+u.name+"\n", args...))
	}
	if out, err := r.run(t, "", "--key", key, "users", "add", "--name", "x", "--region", "R1"); err == nil {
		t.Fatalf("a password neither on stdin nor asked for on a terminal: %q, want an error", out)
	}

	r.must(t, "coffee", "", "--key", key, "catalogue", "put", "coffee", "--name", "coffee", "--price", "3.5", "--points", "10")
	r.must(t, "10% for 2+ members", "", "--key", key, "catalogue", "put", "tv", "--name", "television", "--price", "500", "--points", "500",
		"--discount-percent", "10", "--discount-min-members", "2")
	out := r.must(t, "television", "", "--key", key, "catalogue")
	if !strings.Contains(out, "coffee") || !strings.Contains(out, "3.50") {
		t.Fatalf("catalogue: %q", out)
	}

	login := func(name string) string {
		out := r.must(t, "expires=", "pw-of-"+name+"\n", "login", ids[name], "--password-stdin")
		return match(t, tokenLine, out)
	}
	if _, err := r.run(t, "wrong\n", "login", ids["alice"], "--password-stdin"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	alice, sam := login("alice"), login("sam")

	out = r.must(t, "applied: +0 points, balance 0 in group g-", "", "--token", alice, "groups", "create", "flat 3", "--location", "Riga")
	group := match(t, groupOf, out)
	r.must(t, "(joined)", "pw-of-bob\n", "--user", ids["bob"], "--password-stdin", "join", group)

	if _, err := r.run(t, "", "--token", alice, "bill", "--user", ids["bob"], "--group", group, "coffee"); err == nil || !strings.Contains(err.Error(), "only staff") {
		t.Fatalf("a bill by a user who is not staff: %v, want it refused", err)
	}
	t.Setenv("RATION_POINTS_TOKEN", sam)
	r.must(t, "applied: +530 points, balance 530 in group "+group+" (3 x coffee, 1 x television), charged 460.50, discount 50.00",
		"", "bill", "--user", ids["alice"], "--group", group, "coffee:3", "tv")
	t.Setenv("RATION_POINTS_TOKEN", alice)
	r.must(t, "applied: -500 points, balance 30 in group "+group+" (1 x television)", "", "redeem", "--group", group, "--item", "tv")
	out, err := r.run(t, "", "redeem", "--group", group, "--points", "100")
	if !errors.Is(err, errRejected) || !strings.Contains(out, "rejected: insufficient_points (balance 30)") {
		t.Fatalf("redeeming more than the balance: %q, %v; want it rejected, the command failing", out, err)
	}
	const sent = "sent-once"
	r.must(t, "applied: -5 points, balance 25", "", "redeem", "--group", group, "--points", "5", "--command-id", sent)
	r.must(t, "applied: -5 points, balance 25 in group "+group+" (5 points), decided before", "", "redeem", "--group", group, "--points", "5", "--command-id", sent)

	// A batch from a file: two bills by staff, then a redemption beyond the
	// balance, which fails the command.
	dir := t.TempDir()
	bills := filepath.Join(dir, "bills.json")
	if err := os.WriteFile(bills, []byte(`{"commands": [
		{"kind": "bill", "command_id": "till-1", "user_id": "`+ids["alice"]+`", "group_id": "`+group+`", "items": [{"item_id": "coffee", "quantity": 1}]},
		{"kind": "bill", "command_id": "till-2", "user_id": "`+ids["alice"]+`", "group_id": "`+group+`", "items": [{"item_id": "coffee", "quantity": 2}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out = r.must(t, "till-2: applied: +20 points, balance 55", "", "--token", sam, "batch", bills)
	if !strings.Contains(out, "till-1: applied: +10 points, balance 35") {
		t.Fatalf("the batch's first bill: %q", out)
	}
	out, err = r.run(t, `{"commands": [{"kind": "redeem", "command_id": "much", "group_id": "`+group+`", "points": 100}]}`, "batch", "-")
	if !errors.Is(err, errRejected) || !strings.Contains(out, "much: rejected: insufficient_points (balance 55)") {
		t.Fatalf("a batch redeeming more than the balance: %q, %v; want it rejected, the command failing", out, err)
	}
	if _, err := r.run(t, `{"commands": [{"kind": "redeem", "command_id": "x", "group_id": "`+group+`"}]}`, "batch", "-"); err == nil {
		t.Fatal("a batch with a redemption of nothing was sent")
	}
	const balance = "55"

	r.eventually(t, regexp.MustCompile(group+`\s+flat 3\s+Riga\s+`+balance+`\s+`), "groups")
	out = r.eventually(t, regexp.MustCompile(`(?m)\s5 points$`), "history", "--group", group)
	for _, want := range []string{"bill", "redeem", "join", "create", ids["sam"], ids["bob"]} {
		if !strings.Contains(out, want) {
			t.Errorf("the group's history has no %q:\n%s", want, out)
		}
	}
	out = r.eventually(t, regexp.MustCompile(`2 x coffee`), "history", "--limit", "2")
	if strings.Contains(out, ids["bob"]) || strings.Count(out, "\n") != 3 {
		t.Errorf("alice's own last 2 entries: %q", out)
	}
}

// TestPointsWithoutTerminalPrintsHelp: no menu without a person at a
// terminal.
func TestPointsWithoutTerminalPrintsHelp(t *testing.T) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetArgs([]string{"points"})
	root.SetIn(strings.NewReader(""))
	root.SetOut(&out)
	if err := root.Execute(); err != nil || !strings.Contains(out.String(), "Usage:") || !strings.Contains(out.String(), "redeem") {
		t.Fatalf("%q, %v; want the help", out.String(), err)
	}
}

// terminal plays the terminal a person uses, on a pseudo-terminal: it
// keeps what the program writes and answers what the program asks of a
// terminal (its background colour, the cursor's position), as xterm does.
type terminal struct {
	pty  *os.File
	mu   sync.Mutex
	out  []byte
	seen int // where the next expect looks from
	done chan struct{}
}

// terminalQueries are what a program asks a terminal, and xterm's answers.
var terminalQueries = []struct{ query, answer string }{
	{"\x1b]11;?", "\x1b]11;rgb:0000/0000/0000\x1b\\"},
	{"\x1b[6n", "\x1b[1;1R"},
}

func startTerminal(t *testing.T, cmd *exec.Cmd) *terminal {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{pty: f, done: make(chan struct{})}
	go term.read()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = f.Close()
		<-term.done
	})
	return term
}

// read keeps the program's output until it closes the terminal.
func (term *terminal) read() {
	defer close(term.done)
	answered := make([]int, len(terminalQueries))
	buf := make([]byte, 4096)
	for {
		n, err := term.pty.Read(buf)
		term.mu.Lock()
		term.out = append(term.out, buf[:n]...)
		for i, q := range terminalQueries {
			for ; answered[i] < bytes.Count(term.out, []byte(q.query)); answered[i]++ {
				_, _ = term.pty.WriteString(q.answer)
			}
		}
		term.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// expect waits for text in what the program writes after the last text
// expected.
func (term *terminal) expect(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		term.mu.Lock()
		i := bytes.Index(term.out[term.seen:], []byte(text))
		if i >= 0 {
			term.seen += i + len(text)
		}
		tail := string(term.out[max(term.seen, len(term.out)-3000):])
		term.mu.Unlock()
		if i >= 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal shows no %q within 30s; it last showed:\n%q", text, tail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// typeKeys types keys at the terminal.
func (term *terminal) typeKeys(t *testing.T, keys string) {
	t.Helper()
	if _, err := term.pty.WriteString(keys); err != nil {
		t.Fatal(err)
	}
}

// The keys of a terminal.
const (
	keyEnter = "\r"
	keyDown  = "\x1b[B"
)

// TestPointsMenu: the ration binary on a pseudo-terminal, driven by keys:
// a person logs in (the password not shown), joins a group, redeems an
// item's points, asks for more points than the group has, and quits.
func TestPointsMenu(t *testing.T) {
	r := newPointsRig(t)
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "ration")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	user := func(name string, staff bool) (string, *apiclient.Client) {
		id, err := r.admin.CreatePointsUser(ctx, ration.PointsNewUser{Name: name, Password: "pw-of-" + name, Region: "R1", Staff: staff})
		if err != nil {
			t.Fatal(err)
		}
		s, err := r.admin.PointsLogin(ctx, id, "pw-of-"+name)
		if err != nil {
			t.Fatal(err)
		}
		return id, apiclient.New(r.api, nil).WithKey(s.Token)
	}
	aliceID, alice := user("alice", false)
	bobID, _ := user("bob", false)
	_, staff := user("sam", true)
	for _, it := range []ration.PointsItem{{ItemID: "coffee", Name: "coffee", Price: 3.5, Points: 10}, {ItemID: "tv", Name: "television", Price: 500, Points: 500}} {
		if _, err := r.admin.PutPointsItem(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	created, err := alice.CreatePointsGroup(ctx, ration.PointsNewGroup{Name: "flat 3", Location: "Riga", CommandID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	group := created.GroupID
	if _, err := staff.Bill(ctx, ration.PointsBill{CommandID: "b1", UserID: aliceID, GroupID: group,
		Items: []ration.PointsBillLine{{ItemID: "coffee", Quantity: 3}}}); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "points", "--api", r.api)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "RATION_POINTS_TOKEN=", "RATION_API_KEY=")
	term := startTerminal(t, cmd)

	// A form moves to its next field a moment after enter, so keys go
	// on once the last field shows enter's help to submit.
	term.expect(t, "User id")
	term.typeKeys(t, bobID+keyEnter)
	term.expect(t, "submit")
	term.typeKeys(t, "pw-of-bob"+keyEnter)
	term.expect(t, "logged in as bob ("+bobID+")")

	term.expect(t, "Join a group")
	term.typeKeys(t, strings.Repeat(keyDown, 2)+keyEnter)
	term.expect(t, "Group id")
	term.typeKeys(t, group+keyEnter)
	term.expect(t, "applied: +0 points, balance 30 in group "+group+" (joined)")

	term.expect(t, "Redeem points")
	term.typeKeys(t, strings.Repeat(keyDown, 3)+keyEnter)
	term.expect(t, "Group id") // the group just joined, offered
	term.typeKeys(t, keyEnter)
	term.expect(t, "submit")
	term.typeKeys(t, keyEnter) // the first item: coffee
	term.expect(t, "applied: -10 points, balance 20 in group "+group+" (1 x coffee)")

	term.expect(t, "Redeem points")
	term.typeKeys(t, strings.Repeat(keyDown, 3)+keyEnter)
	term.expect(t, "a number of points")
	term.typeKeys(t, keyEnter)
	term.expect(t, "submit")
	term.typeKeys(t, strings.Repeat(keyDown, 2)+keyEnter)
	term.expect(t, "How many points")
	term.typeKeys(t, "100"+keyEnter)
	term.expect(t, "rejected: insufficient_points (balance 20)")

	term.expect(t, "Quit")
	term.typeKeys(t, strings.Repeat(keyDown, 5)+keyEnter)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("ration points: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ration points did not quit")
	}
	term.mu.Lock()
	defer term.mu.Unlock()
	if bytes.Contains(term.out, []byte("pw-of-bob")) {
		t.Error("the password was shown")
	}
}
