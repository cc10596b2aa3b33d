package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/pipelines/points"
)

// PointsConfig configures `ration bench points`: the consistency load run
// of PT-8 and PT-9.
type PointsConfig struct {
	// Bin is the ration binary the run starts its stack with.
	Bin string
	// Dir is the stack's data dir (a temporary one when empty).
	Dir string
	// Users, Groups and Clients: people across the three regions, their
	// groups (each user joins two), and the load's concurrent clients.
	Users, Groups, Clients int
	// Duration of the load.
	Duration time.Duration
	// Chaos kills a ledger worker with SIGKILL three times, restarts the
	// broker once and cuts the clients' connections every Duration/8.
	Chaos bool
	// Workers are the ledger worker processes. Default 2.
	Workers int
	// Seed makes the load repeatable.
	Seed uint64
	// Batch, above 1, makes each client send its commands that many at a
	// time (POST /v1/points/commands): a staff member's bills, or one
	// user's redemptions.
	Batch int
}

// PointsReport is what a run found.
type PointsReport struct {
	Duration                   time.Duration
	Commands, Applied, Retries int64
	Rejected                   map[string]int64
	Latency                    Quantiles // a command, first send to outcome
	Chaos                      []string
	Violations                 []string
}

// CommandsPerSecond is the commands decided per second of load.
func (r PointsReport) CommandsPerSecond() float64 { return float64(r.Commands) / r.Duration.Seconds() }

// Print writes the report; its last line is violations=<n>
// commands_per_s=<r>.
func (r PointsReport) Print(w io.Writer) {
	fmt.Fprintf(w, "commands %d in %v: %d applied, rejected %v, %d retries\n", r.Commands, r.Duration.Round(time.Millisecond),
		r.Applied, r.Rejected, r.Retries)
	fmt.Fprintf(w, "command latency (first send to outcome) p50 %v p99 %v\n", r.Latency.P50, r.Latency.P99)
	for _, c := range r.Chaos {
		fmt.Fprintln(w, "chaos:", c)
	}
	for _, v := range r.Violations {
		fmt.Fprintln(w, "VIOLATION:", v)
	}
	fmt.Fprintf(w, "violations=%d commands_per_s=%.1f\n", len(r.Violations), r.CommandsPerSecond())
}

// PointsTarget is a running stack a points load runs against: the
// bench's own, or the one `ration chaos` runs.
type PointsTarget interface {
	// LoadURLs are the API addresses people send commands to, each person
	// to one of them; faults may cut them.
	LoadURLs() []string
	// Admin is a client of the API with the admin key.
	Admin() *apiclient.Client
	// KafkaGroups reads every group's latest record from Kafka.
	KafkaGroups(ctx context.Context) (map[string]points.Group, error)
}

// pointsRun is one run's people, groups and findings.
type pointsRun struct {
	cfg    PointsConfig
	stack  PointsTarget
	log    io.Writer
	users  []*pointsPerson
	staff  []*pointsPerson
	groups []string

	mu         sync.Mutex
	decided    map[string]ration.PointsOutcome           // by group and command id
	entries    map[string]map[int64]ration.PointsOutcome // group -> seq -> the command applied as it
	violations []string
	latencies  []time.Duration
	retries    atomic.Int64
}

// pointsPerson is a user and their session, logged in again when the
// token stops working (a restarted API with another secret, an expiry).
type pointsPerson struct {
	id, password string
	api          string // the API this person talks to
	groups       []string
	mu           sync.Mutex
	client       *apiclient.Client
}

// RunPoints starts a stack, creates the people and groups, runs the load
// (and the chaos), and checks the ledger.
func RunPoints(ctx context.Context, cfg PointsConfig, log io.Writer) (PointsReport, error) {
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	if cfg.Users < 1 || cfg.Groups < 1 || cfg.Clients < 1 || cfg.Duration <= 0 {
		return PointsReport{}, errors.New("bench points: users, groups, clients and duration must be positive")
	}
	if cfg.Batch > points.MaxBatch {
		return PointsReport{}, fmt.Errorf("bench points: a batch of %d: at most %d", cfg.Batch, points.MaxBatch)
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "ration-bench-points-")
		if err != nil {
			return PointsReport{}, err
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	fmt.Fprintf(log, "starting ration dev and %d ledger workers in %s\n", cfg.Workers, cfg.Dir)
	stack, err := startPointsStack(ctx, cfg.Bin, cfg.Dir, cfg.Workers, log)
	if err != nil {
		return PointsReport{}, err
	}
	defer stack.Close()
	r := &pointsRun{cfg: cfg, stack: stack, log: log, decided: map[string]ration.PointsOutcome{},
		entries: map[string]map[int64]ration.PointsOutcome{}}
	if err := r.setUp(ctx); err != nil {
		return PointsReport{}, fmt.Errorf("bench points: set up: %w", err)
	}
	fmt.Fprintf(log, "%d users, %d staff, %d groups; load for %v with %d clients\n", len(r.users), len(r.staff), len(r.groups),
		cfg.Duration, cfg.Clients)
	rep := PointsReport{Duration: cfg.Duration, Rejected: map[string]int64{}}
	loadCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.client(loadCtx, ctx, mrand.New(mrand.NewPCG(cfg.Seed, uint64(i))))
		}()
	}
	if cfg.Chaos {
		rep.Chaos = r.chaos(loadCtx, ctx, stack)
	}
	wg.Wait()
	r.check(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.decided {
		rep.Commands++
		if o.Outcome == ration.PointsApplied {
			rep.Applied++
		} else {
			rep.Rejected[o.Reason]++
		}
	}
	rep.Retries = r.retries.Load()
	rep.Latency = quantiles(r.latencies)
	rep.Violations = r.violations
	return rep, nil
}

func (r *pointsRun) violation(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.violations = append(r.violations, fmt.Sprintf(format, args...))
}

func newCommandID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// setUp creates the catalogue, one staff member per region, the users
// round the regions, the groups, and two groups for each user.
func (r *pointsRun) setUp(ctx context.Context) error {
	admin := r.stack.Admin()
	urls := r.stack.LoadURLs()
	for _, it := range benchItems {
		if _, err := admin.PutPointsItem(ctx, it); err != nil {
			return err
		}
	}
	regions := []string{"R1", "R2", "R3"}
	newPerson := func(i int, staff bool) (*pointsPerson, error) {
		p := &pointsPerson{password: "bench-password-" + newCommandID(), api: urls[i%len(urls)]}
		id, err := admin.CreatePointsUser(ctx, ration.PointsNewUser{Name: fmt.Sprintf("bench %d", i), Password: p.password,
			Region: regions[i%3], Staff: staff})
		if err != nil {
			return nil, err
		}
		p.id = id
		return p, p.login(ctx)
	}
	for i := range 3 {
		p, err := newPerson(i, true)
		if err != nil {
			return err
		}
		r.staff = append(r.staff, p)
	}
	for i := range r.cfg.Users {
		p, err := newPerson(i, false)
		if err != nil {
			return err
		}
		r.users = append(r.users, p)
	}
	for g := range r.cfg.Groups {
		creator := r.users[g%len(r.users)]
		id := newCommandID()
		o, err := r.send(ctx, creator, func(c *apiclient.Client) (ration.PointsOutcome, error) {
			return c.CreatePointsGroup(ctx, ration.PointsNewGroup{Name: fmt.Sprintf("group %d", g), Location: "bench", CommandID: id})
		})
		if err != nil {
			return err
		}
		r.groups = append(r.groups, o.GroupID)
		creator.groups = append(creator.groups, o.GroupID)
	}
	for i, u := range r.users {
		for _, g := range []string{r.groups[i%len(r.groups)], r.groups[(i+1)%len(r.groups)]} {
			if slices.Contains(u.groups, g) {
				continue
			}
			id := newCommandID()
			if _, err := r.send(ctx, u, func(c *apiclient.Client) (ration.PointsOutcome, error) {
				return c.JoinPointsGroup(ctx, g, id)
			}); err != nil {
				return err
			}
			u.groups = append(u.groups, g)
		}
	}
	return nil
}

// benchItems are the load's catalogue: the television's discount goes to
// groups of four or more members.
var benchItems = []ration.PointsItem{
	{ItemID: "coffee", Name: "coffee", Price: 3.5, Points: 4},
	{ItemID: "cake", Name: "cake", Price: 6, Points: 9},
	{ItemID: "tv", Name: "television", Price: 400, Points: 60, Discount: &ration.PointsDiscount{Percent: 10, MinMembers: 4}},
}

func (p *pointsPerson) login(ctx context.Context) error {
	s, err := apiclient.New(p.api, nil).PointsLogin(ctx, p.id, p.password)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.client = apiclient.New(p.api, nil).WithKey(s.Token)
	p.mu.Unlock()
	return nil
}

func (p *pointsPerson) session() *apiclient.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.client
}

// client keeps billing and redeeming until load ends; a command sent
// before then is seen through until done ends.
func (r *pointsRun) client(load, done context.Context, rng *mrand.Rand) {
	for load.Err() == nil {
		if r.cfg.Batch > 1 {
			r.batch(done, rng)
		} else {
			r.command(done, rng)
		}
	}
}

// batch sends cfg.Batch commands at once, chosen by rng: a staff member's
// bills of users into their groups, or one user's redemptions from
// theirs; and sees each through to its outcome until done ends.
func (r *pointsRun) batch(done context.Context, rng *mrand.Rand) {
	cmds := make([]ration.PointsBatchCommand, r.cfg.Batch)
	var p *pointsPerson
	if rng.IntN(2) == 0 {
		p = r.staff[rng.IntN(len(r.staff))]
		for i := range cmds {
			u := r.users[rng.IntN(len(r.users))]
			cmds[i] = ration.PointsBatchCommand{Kind: points.KindBill, CommandID: newCommandID(), UserID: u.id,
				GroupID: u.groups[rng.IntN(len(u.groups))],
				Items:   []ration.PointsBillLine{{ItemID: benchItems[rng.IntN(len(benchItems))].ItemID, Quantity: int64(1 + rng.IntN(3))}}}
		}
	} else {
		p = r.users[rng.IntN(len(r.users))]
		for i := range cmds {
			cmds[i] = ration.PointsBatchCommand{Kind: points.KindRedeem, CommandID: newCommandID(),
				GroupID: p.groups[rng.IntN(len(p.groups))], Points: int64(10 + rng.IntN(100))}
		}
	}
	if err := r.sendBatch(done, p, cmds); err != nil && done.Err() == nil {
		r.violation("a batch of %d: no outcome: %v", len(cmds), err)
	}
}

// sendBatch sends cmds as p until each has an outcome, sending the
// undecided again (pending, or all after an error) with the same command
// ids, and records the outcomes; done ends the retries.
func (r *pointsRun) sendBatch(done context.Context, p *pointsPerson, cmds []ration.PointsBatchCommand) error {
	start := time.Now()
	return r.untilDecided(done, p, len(cmds), func(c *apiclient.Client) (int, error) {
		out, err := c.PointsBatch(done, ration.PointsBatch{Commands: cmds})
		if err != nil {
			return len(cmds), err
		}
		var undecided []ration.PointsBatchCommand
		for i, o := range out.Outcomes {
			switch o.Outcome {
			case ration.PointsPending:
				undecided = append(undecided, cmds[i])
			case ration.PointsConflict:
				r.violation("command %s of a batch: a conflict with a command of its id", cmds[i].CommandID)
			default:
				r.record(o, time.Since(start))
			}
		}
		cmds = undecided
		return len(cmds), nil
	})
}

// command sends one bill or redemption, chosen by rng, and sees it
// through to its outcome until done ends; it reports whether the outcome
// came.
func (r *pointsRun) command(done context.Context, rng *mrand.Rand) bool {
	u := r.users[rng.IntN(len(r.users))]
	g := u.groups[rng.IntN(len(u.groups))]
	id := newCommandID()
	var err error
	if rng.IntN(2) == 0 {
		staff := r.staff[rng.IntN(len(r.staff))]
		items := []ration.PointsBillLine{{ItemID: benchItems[rng.IntN(len(benchItems))].ItemID, Quantity: int64(1 + rng.IntN(3))}}
		_, err = r.send(done, staff, func(c *apiclient.Client) (ration.PointsOutcome, error) {
			return c.Bill(done, ration.PointsBill{CommandID: id, UserID: u.id, GroupID: g, Items: items})
		})
	} else {
		red := ration.PointsRedemption{CommandID: id, GroupID: g, Points: int64(10 + rng.IntN(100))}
		if rng.IntN(5) == 0 {
			red = ration.PointsRedemption{CommandID: id, GroupID: g, ItemID: benchItems[rng.IntN(len(benchItems))].ItemID}
		}
		_, err = r.send(done, u, func(c *apiclient.Client) (ration.PointsOutcome, error) {
			return c.Redeem(done, red)
		})
	}
	if err != nil && done.Err() == nil {
		r.violation("command %s: no outcome: %v", id, err)
	}
	return err == nil
}

// decideWithin is how long the run keeps retrying a command sent before
// the load ended.
const decideWithin = time.Minute

// send sends a command as p until it has an outcome, retrying with the
// same command id on any error and on "pending", as a client should, and
// records the outcome; done ends the retries.
func (r *pointsRun) send(done context.Context, p *pointsPerson, call func(*apiclient.Client) (ration.PointsOutcome, error)) (ration.PointsOutcome, error) {
	start := time.Now()
	var o ration.PointsOutcome
	err := r.untilDecided(done, p, 1, func(c *apiclient.Client) (int, error) {
		var err error
		if o, err = call(c); err != nil || o.Outcome == ration.PointsPending {
			return 1, err
		}
		r.record(o, time.Since(start))
		return 0, nil
	})
	return o, err
}

// untilDecided calls try as p until it leaves no command undecided: again
// after an error (but a refusal) or with commands left, after a backoff,
// logging in again when the API no longer knows p's token; done ends the
// retries. try returns how many commands it left undecided.
func (r *pointsRun) untilDecided(done context.Context, p *pointsPerson, left int, try func(*apiclient.Client) (int, error)) error {
	start := time.Now()
	backoff := 20 * time.Millisecond
	for attempt := 0; left > 0; attempt++ {
		if attempt > 0 {
			r.retries.Add(int64(left))
			select {
			case <-time.After(backoff): // a client's backoff between retries
			case <-done.Done():
				return done.Err()
			}
			backoff = min(2*backoff, time.Second)
		}
		if time.Since(start) > decideWithin {
			return fmt.Errorf("%d undecided after %v", left, decideWithin)
		}
		n, err := try(p.session())
		var apiErr *apiclient.Error
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
			_ = p.login(done) // a restarted API; the next try tells
		case errors.As(err, &apiErr) && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests:
			return fmt.Errorf("refused: %w", err)
		case err == nil:
			left = n
		}
	}
	return nil
}

// record checks an outcome against what the run has seen and keeps it.
func (r *pointsRun) record(o ration.PointsOutcome, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := o.GroupID + "/" + o.CommandID
	if o.Balance < 0 {
		r.violations = append(r.violations, fmt.Sprintf("%s: balance %d", key, o.Balance))
	}
	if prev, ok := r.decided[key]; ok {
		if prev.Outcome != o.Outcome || prev.Seq != o.Seq || prev.Balance != o.Balance {
			r.violations = append(r.violations, fmt.Sprintf("%s: decided %s seq %d, then %s seq %d", key, prev.Outcome, prev.Seq, o.Outcome, o.Seq))
		}
		return
	}
	r.decided[key] = o
	r.latencies = append(r.latencies, took)
	if o.Outcome != ration.PointsApplied {
		return
	}
	if r.entries[o.GroupID] == nil {
		r.entries[o.GroupID] = map[int64]ration.PointsOutcome{}
	}
	if other, ok := r.entries[o.GroupID][o.Seq]; ok {
		r.violations = append(r.violations, fmt.Sprintf("group %s entry %d applied twice: %s and %s", o.GroupID, o.Seq, other.CommandID, o.CommandID))
	}
	r.entries[o.GroupID][o.Seq] = o
}

// chaos breaks the stack on a schedule through the load: kills at 20%,
// 40% and 75% of it, the broker restarted at 55%, connections cut every
// eighth. The schedule ends with load, but an event whose time came while
// an earlier one took long (a broker restart on a slow machine) still
// runs once that one is done, and what it started finishes under run, the
// whole run's context: bounding a restart by the load once left a slow
// machine's stack down, and skipping what was overdue, a kill the run
// promised. It returns what it did.
func (r *pointsRun) chaos(load, run context.Context, stack *pointsStack) []string {
	d := r.cfg.Duration
	type event struct {
		at   time.Duration
		what string
		do   func() (string, error)
	}
	var events []event
	for i, f := range []float64{0.2, 0.4, 0.75} {
		w := i % r.cfg.Workers
		events = append(events, event{time.Duration(f * float64(d)), "kill -9 ledger worker", func() (string, error) {
			return fmt.Sprintf("ledger worker %d killed and started again", w), stack.killWorker(w)
		}})
	}
	events = append(events, event{time.Duration(0.55 * float64(d)), "broker restart", func() (string, error) {
		start := time.Now()
		err := stack.restartBroker(run)
		return fmt.Sprintf("broker (ration dev) restarted on its data dir in %v", time.Since(start).Round(time.Millisecond)), err
	}})
	for f := 1; f < 8; f++ {
		events = append(events, event{time.Duration(f) * d / 8, "cut", func() (string, error) {
			return fmt.Sprintf("%d client connections cut", stack.proxy.Cut()), nil
		}})
	}
	sort.Slice(events, func(i, j int) bool { return events[i].at < events[j].at })
	start := time.Now()
	var did []string
	for _, e := range events {
		if wait := time.Until(start.Add(e.at)); wait > 0 {
			select {
			case <-time.After(wait): // the schedule
			case <-load.Done():
				return did
			}
		}
		if run.Err() != nil {
			return did
		}
		what, err := e.do()
		if err != nil {
			r.violation("chaos: %s: %v", e.what, err)
			continue
		}
		did = append(did, fmt.Sprintf("%6.1fs %s", time.Since(start).Seconds(), what))
		fmt.Fprintln(r.log, "chaos:", what)
	}
	return did
}

// check compares, for every group, the outcomes the run saw, the group's
// record in Kafka and its ledger in ClickHouse: the entries are 1..n with
// no gap, each balance the previous plus its points and never negative,
// Kafka's balance the last of them, and ClickHouse's ledger the same
// entries.
func (r *pointsRun) check(ctx context.Context) {
	r.mu.Lock()
	entries := r.entries
	r.mu.Unlock()
	kafka, err := r.stack.KafkaGroups(ctx)
	if err != nil {
		r.violation("groups in Kafka cannot be read: %v", err)
		return
	}
	admin := r.stack.Admin()
	for _, g := range r.groups {
		es := entries[g]
		var balance int64
		for seq := int64(1); seq <= int64(len(es)); seq++ {
			e, ok := es[seq]
			if !ok {
				r.violation("group %s: entry %d of %d never answered", g, seq, len(es))
				break
			}
			if e.Balance != balance+e.Points || e.Balance < 0 {
				r.violation("group %s entry %d: balance %d after %d points, was %d", g, seq, e.Balance, e.Points, balance)
			}
			balance = e.Balance
		}
		if k := kafka[g]; k.Seq != int64(len(es)) || k.Balance != balance {
			r.violation("group %s: Kafka has entry %d balance %d, the answers entry %d balance %d", g, k.Seq, k.Balance, len(es), balance)
		}
		r.checkClickHouse(ctx, admin, g, es, balance)
	}
}

// checkClickHouse waits for the sink to store group g's ledger and
// compares it with the answers. The group's row and its entries come from
// two topics, so the row can show the last entry a flush before the
// entries are all in: a ledger still short waits too.
func (r *pointsRun) checkClickHouse(ctx context.Context, admin *apiclient.Client, g string, es map[int64]ration.PointsOutcome, balance int64) {
	deadline := time.Now().Add(time.Minute)
	var last string
	for ; time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) { // polling the sink's progress: it announces nothing
		grp, err := admin.PointsGroup(ctx, g)
		if err != nil || grp.Seq != int64(len(es)) {
			last = fmt.Sprintf("group at entry %d, %v", grp.Seq, err)
			continue
		}
		if grp.Balance != balance {
			r.violation("group %s: ClickHouse has balance %d, the ledger %d", g, grp.Balance, balance)
			return
		}
		var seen, sum int64
		var wrong []string
		cursor := ""
		for {
			h, err := admin.PointsGroupHistory(ctx, g, cursor, 10_000)
			if err != nil {
				r.violation("group %s: history: %v", g, err)
				return
			}
			for _, e := range h.Entries {
				seen++
				sum += e.Points
				if want, ok := es[e.Seq]; !ok || want.CommandID != e.CommandID || want.Points != e.Points {
					wrong = append(wrong, fmt.Sprintf("group %s entry %d: ClickHouse has %s %+d, the answers %s %+d",
						g, e.Seq, e.CommandID, e.Points, want.CommandID, want.Points))
				}
			}
			if h.NextCursor == "" {
				break
			}
			cursor = h.NextCursor
		}
		for _, w := range wrong {
			r.violation("%s", w)
		}
		if len(wrong) > 0 || (seen == int64(len(es)) && sum == balance) {
			return
		}
		last = fmt.Sprintf("its ledger has %d entries summing to %d, want %d summing to %d", seen, sum, len(es), balance)
	}
	r.violation("group %s: ClickHouse not caught up within a minute (%s)", g, last)
}
