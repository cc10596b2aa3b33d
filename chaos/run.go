package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rationhq/ration/bench"
)

// Config configures a chaos run.
type Config struct {
	// Bin is the ration binary every role runs as.
	Bin string
	// Dir holds every process's data and logs, and the violations file.
	// It must be empty or missing. Default: a new temporary directory,
	// removed after a run without violations.
	Dir string
	// Duration of the load and faults; the drain comes after. Default 10m.
	Duration time.Duration
	// Seed derives the fault schedule. Default 1.
	Seed uint64
	// Faults are the kinds injected. Default: every kind.
	Faults []Kind
	// Rate is the requests per second sent to each pipeline. Default 10,
	// which the whole stack holds on two cores with room (it holds 15,
	// not 20: docs/reliability.md).
	Rate float64
	// SyncWrites runs the broker with --sync-writes, so that a kill -9 of
	// the broker cannot lose acknowledged writes. Default false in the
	// zero value; `ration chaos` turns it on.
	SyncWrites bool
}

func (c *Config) setDefaults() {
	if c.Duration == 0 {
		c.Duration = 10 * time.Minute
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Faults == nil {
		c.Faults = Kinds
	}
	if c.Rate == 0 {
		c.Rate = 10
	}
}

// Validate reports a config a run cannot use.
func (c Config) Validate() error {
	var errs []error
	if c.Bin == "" {
		errs = append(errs, errors.New("chaos: no ration binary"))
	}
	if c.Duration < 10*time.Second {
		errs = append(errs, fmt.Errorf("chaos: duration %v < 10s", c.Duration))
	}
	if c.Rate <= 0 || c.Rate > 200 {
		errs = append(errs, fmt.Errorf("chaos: rate %g outside (0, 200]", c.Rate))
	}
	if c.Dir != "" {
		if entries, err := os.ReadDir(c.Dir); err == nil && len(entries) > 0 {
			errs = append(errs, fmt.Errorf("chaos: data dir %s is not empty: the checkers count from a fresh stack", c.Dir))
		}
	}
	return errors.Join(errs...)
}

// drainFor bounds how long, after the load and the faults stop, each
// checker waits for the stack to catch up.
const drainFor = 90 * time.Second

// violations collects what the checkers found, by checker.
type violations struct {
	mu   sync.Mutex
	list []string
}

func (v *violations) add(checker, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.list = append(v.list, checker+": "+fmt.Sprintf(format, args...))
}

func (v *violations) all() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.list...)
}

// Report is what a run did and found.
type Report struct {
	Seed       uint64
	Faults     []string   // what was injected, in order
	Counts     []string   // a line per checker
	Load       []LoadHeld // per pipeline, what its clients saw
	Violations []string
	Saved      string // the file the violations were saved to, if any
}

// Print writes the report; its last line is violations=<n> faults=<n>.
func (r Report) Print(w io.Writer) {
	for _, f := range r.Faults {
		fmt.Fprintln(w, f)
	}
	for _, c := range r.Counts {
		fmt.Fprintln(w, c)
	}
	for _, l := range r.Load {
		fmt.Fprintln(w, l)
	}
	for _, v := range r.Violations {
		fmt.Fprintln(w, "VIOLATION:", v)
	}
	if r.Saved != "" {
		fmt.Fprintf(w, "seed, faults and violations saved to %s (replay: --seed %d)\n", r.Saved, r.Seed)
	}
	fmt.Fprintf(w, "violations=%d faults=%d\n", len(r.Violations), len(r.Faults))
}

// Run starts the stack, drives load on every pipeline at cfg.Rate while
// injecting the planned faults, stops both, lets the stack drain, and
// runs the checkers. Progress and every fault go to log as they happen.
func Run(ctx context.Context, cfg Config, log io.Writer) (rep Report, err error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "ration-chaos-")
		if err != nil {
			return Report{}, err
		}
		cfg.Dir = dir
		defer func() {
			if rep.Saved == "" {
				os.RemoveAll(dir)
			}
		}()
	}
	rep, err = run(ctx, cfg, log)
	if err == nil && len(rep.Violations) > 0 {
		rep.Saved, err = save(cfg, rep)
	}
	return rep, err
}

func run(ctx context.Context, cfg Config, log io.Writer) (Report, error) {
	rep := Report{Seed: cfg.Seed}
	fmt.Fprintf(log, "chaos: seed %d, %v of load at %g requests/s per pipeline, data in %s\n", cfg.Seed, cfg.Duration, cfg.Rate, cfg.Dir)
	s, err := startStack(ctx, cfg.Bin, cfg.Dir, cfg.SyncWrites, log)
	if err != nil {
		return rep, fmt.Errorf("chaos: start the stack: %w", err)
	}
	defer s.close()

	v := &violations{}
	tag := fmt.Sprintf("c%d", cfg.Seed)
	dmL := &dmLoad{s: s, tag: tag}
	rcL := &receiptsLoad{s: s, tag: tag, acked: map[string]string{}}
	if err := rcL.setUp(ctx); err != nil {
		return rep, fmt.Errorf("chaos: receipts set up: %w", err)
	}
	ptL, err := bench.NewPointsLoad(ctx, s, 30, 10, log)
	if err != nil {
		return rep, fmt.Errorf("chaos: %w", err)
	}

	fmt.Fprintln(log, "chaos: load and faults start")
	loading, stopLoad := context.WithTimeout(ctx, cfg.Duration)
	defer stopLoad()
	// Requests sent before the load ends are seen through until the drain
	// ends: a client retries what was not answered.
	done, stopDone := context.WithTimeout(ctx, cfg.Duration+drainFor)
	defer stopDone()
	var wg sync.WaitGroup
	loads := []*load{{name: "dm"}, {name: "receipts"}, {name: "points"}}
	loads[0].pace(loading, &wg, cfg.Rate, func(n int) bool { return dmL.send(done, n) })
	loads[1].pace(loading, &wg, cfg.Rate, func(n int) bool { return rcL.send(done, n) })
	loads[2].pace(loading, &wg, cfg.Rate, func(n int) bool {
		return ptL.Command(done, mrand.New(mrand.NewPCG(cfg.Seed, uint64(n))))
	})
	rep.Faults = inject(loading, done, s, Plan(cfg.Seed, cfg.Duration, cfg.Faults), v, log)
	<-loading.Done()
	fmt.Fprintln(log, "chaos: load and faults stopped; draining")
	wg.Wait()

	for _, l := range loads {
		rep.Load = append(rep.Load, l.held(cfg.Duration))
	}
	fmt.Fprintln(log, "chaos: checking")
	rep.Counts = append(rep.Counts, dmL.check(ctx, v).String(), rcL.check(ctx, v).String())
	ptL.Check(ctx)
	t := ptL.Tally()
	for _, pv := range t.Violations {
		v.add("points", "%s", pv)
	}
	rep.Counts = append(rep.Counts, fmt.Sprintf("points: groups=%d commands=%d applied=%d", t.Groups, t.Commands, t.Applied))
	rep.Counts = append(rep.Counts, faultCounts(rep.Faults, cfg.Faults))
	rep.Violations = v.all()
	return rep, nil
}

// inject runs the plan: each fault at its time, in its own goroutine, so
// that faults overlap as they do in production (a zombie worker while the
// broker restarts, a connection cut while an API is down), but one at a
// time per process: a fault on a process still under the one before waits
// for it to end. Faults not started when loading ends are dropped; those
// started see their process running again before inject returns, within
// done. It returns the log of what it did, in the order the faults ended.
func inject(loading, done context.Context, s *stack, plan []Fault, v *violations, log io.Writer) []string {
	start := time.Now()
	var (
		mu    sync.Mutex
		did   []string
		wg    sync.WaitGroup
		locks = map[string]*sync.Mutex{}
	)
	for _, f := range plan {
		if locks[s.hits(f)] == nil {
			locks[s.hits(f)] = &sync.Mutex{}
		}
		lock := locks[s.hits(f)]
		wg.Go(func() {
			if !pause(loading, time.Until(start.Add(f.At))) {
				return
			}
			lock.Lock()
			defer lock.Unlock()
			if loading.Err() != nil {
				return
			}
			began := time.Since(start)
			what, err := s.inject(done, f)
			line := fmt.Sprintf("fault %6.1fs %s: %s", began.Seconds(), f.Kind, what)
			if err != nil {
				v.add("faults", "%s: %v", f.Kind, err)
				line += " FAILED: " + err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			did = append(did, line)
			fmt.Fprintln(log, line)
		})
	}
	wg.Wait()
	return did
}

// faultCounts is a line counting the faults injected by kind.
func faultCounts(did []string, kinds []Kind) string {
	var b strings.Builder
	b.WriteString("faults:")
	for _, k := range kinds {
		n := 0
		for _, d := range did {
			if strings.Contains(d, " "+string(k)+": ") {
				n++
			}
		}
		fmt.Fprintf(&b, " %s=%d", k, n)
	}
	return b.String()
}

// save writes the seed, the fault log and the violations (with the keys
// they name) into the data dir, and returns the file.
func save(cfg Config, rep Report) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "seed=%d duration=%v rate=%g faults=%s\n\n", cfg.Seed, cfg.Duration, cfg.Rate, joinKinds(cfg.Faults))
	for _, f := range rep.Faults {
		b.WriteString(f + "\n")
	}
	b.WriteString("\n")
	for _, v := range rep.Violations {
		b.WriteString(v + "\n")
	}
	path := filepath.Join(cfg.Dir, "chaos-violations.txt")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}
