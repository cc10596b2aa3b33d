package chaos

import (
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Kind is a kind of fault.
type Kind string

// The kinds of fault a run injects.
const (
	WorkerKill     Kind = "worker-kill"     // kill -9 a worker, start it again
	APIKill        Kind = "api-kill"        // kill -9 an API process, start it again
	SinkKill       Kind = "sink-kill"       // kill -9 the sink, start it again
	ReprocessKill  Kind = "reprocess-kill"  // kill -9 the reprocessor, start it again
	BrokerKill     Kind = "broker-kill"     // kill -9 the broker, start it again on its data dir
	ClickHouseKill Kind = "clickhouse-kill" // kill -9 ClickHouse, start it again on its data dir
	ConnCut        Kind = "conn-cut"        // cut every client connection to the APIs
	Zombie         Kind = "zombie"          // SIGSTOP a worker past its session timeout, then SIGCONT
	SimOutage      Kind = "sim-outage"      // a simulator answers 503 to everything for a while
	SimSlow        Kind = "sim-slow"        // a registrar answers slowly and loses some replies for a while
)

// Kinds are every kind of fault, in the order a run reports them.
var Kinds = []Kind{WorkerKill, APIKill, SinkKill, ReprocessKill, BrokerKill, ClickHouseKill, ConnCut, Zombie, SimOutage, SimSlow}

// ParseKinds reads a comma-separated list of kinds; "all" or "" is every
// kind, "none" no fault at all (a baseline run).
func ParseKinds(list string) ([]Kind, error) {
	switch list {
	case "", "all":
		return Kinds, nil
	case "none":
		return []Kind{}, nil
	}
	var out []Kind
	for _, f := range strings.Split(list, ",") {
		k := Kind(strings.TrimSpace(f))
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("unknown fault %q (known: %s)", k, joinKinds(Kinds))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// Fault is one planned fault: its kind, when it starts after the load
// does, and which of the stack's processes of that kind it hits (an index
// the stack maps to a process; the simulators are dm, tax, logistics).
type Fault struct {
	At     time.Duration
	Kind   Kind
	Target int
}

// targets is how many processes of each kind a fault can hit.
func targets(k Kind) int {
	switch k {
	case WorkerKill, Zombie:
		n := 0
		for _, wc := range workerCounts {
			n += wc.n
		}
		return n
	case APIKill:
		return 2
	case SimOutage:
		return len(simNames)
	case SimSlow:
		return len(registrarNames)
	}
	return 1
}

// count is how many faults of kind k a run of d has: three worker kills a
// minute, a connection cut every 10 s, and one of each other kind every
// three minutes; at least one of each.
func count(k Kind, d time.Duration) int {
	per := 3 * time.Minute
	n := 1
	switch k {
	case WorkerKill:
		per = 20 * time.Second
		n = 3
	case ConnCut:
		per = 10 * time.Second
	}
	return max(n, int((d+per-1)/per))
}

// Plan is the faults of a run of d with the given kinds, derived from seed
// alone so that a failing run can be replayed: each at a time drawn from
// the first 85% of the load (the rest lets the last one end before the
// load does) and sorted by it.
func Plan(seed uint64, d time.Duration, kinds []Kind) []Fault {
	rng := mrand.New(mrand.NewPCG(seed, 0x6368616f73)) // "chaos"
	var out []Fault
	for _, k := range kinds {
		for range count(k, d) {
			at := time.Duration(float64(d) * (0.05 + 0.8*rng.Float64())).Round(100 * time.Millisecond)
			out = append(out, Fault{At: at, Kind: k, Target: rng.IntN(targets(k))})
		}
	}
	slices.SortStableFunc(out, func(a, b Fault) int { return int(a.At - b.At) })
	return out
}
