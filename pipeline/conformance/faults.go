package conformance

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/processor"
)

// errInjected is the transient failure the injector returns.
var errInjected = errors.New("conformance: injected transient failure")

// faultSpec says which tries fail; it travels to worker processes as
// JSON, so every process fails the same tries.
type faultSpec struct {
	// Seed varies the tries that fail between checks.
	Seed uint64 `json:"seed"`
	// Percent of the tries that may fail (those within a stage's tiers)
	// fail.
	Percent int `json:"percent"`
	// Poison maps a stage to a key whose every try fails there.
	Poison map[string]string `json:"poison,omitempty"`
}

// faults is a fault injector, shared by the workers of a process so
// that a check can count what it injected.
type faults struct {
	spec     faultSpec
	mu       sync.Mutex
	injected map[string]*atomic.Int64 // by stage
}

func newFaults(spec faultSpec) *faults {
	return &faults{spec: spec, injected: make(map[string]*atomic.Int64)}
}

// counter returns stage's count of injected failures.
func (f *faults) counter(stage string) *atomic.Int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.injected[stage]
	if n == nil {
		n = new(atomic.Int64)
		f.injected[stage] = n
	}
	return n
}

// fails decides whether the attempt-th try of a record of key and value
// fails in stage, which has tiers delay tiers: always for the stage's
// poison key, never past the tiers (so nothing else parks), else for
// Percent of tries by a hash.
func (f *faults) fails(stage string, tiers int, key, value []byte, attempt int) bool {
	if p, ok := f.spec.Poison[stage]; ok && p == string(key) {
		return true
	}
	if attempt > tiers || f.spec.Percent <= 0 {
		return false
	}
	h := fnv.New64a()
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], f.spec.Seed)
	h.Write(n[:])
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00", stage, attempt, len(key))
	h.Write(key)
	h.Write(value)
	return h.Sum64()%100 < uint64(f.spec.Percent)
}

// wrapConstructor wraps the handlers a stage's constructor builds.
func (f *faults) wrapConstructor(stage string, tiers int, build func(pipeline.Env) (processor.Handler, error)) func(pipeline.Env) (processor.Handler, error) {
	return func(env pipeline.Env) (processor.Handler, error) {
		h, err := build(env)
		if err != nil {
			return nil, err
		}
		fh := &faultyHandler{f: f, stage: stage, tiers: tiers, h: h, n: f.counter(stage)}
		if be, ok := h.(processor.BatchEnder); ok {
			return faultyEnder{fh, be}, nil
		}
		return fh, nil
	}
}

// faultyHandler runs its handler, then fails the try if the injector
// says so: the handler's outputs and state changes must vanish, and its
// side effects repeat on the next try.
type faultyHandler struct {
	f     *faults
	stage string
	tiers int
	h     processor.Handler
	n     *atomic.Int64
}

func (h *faultyHandler) Process(ctx context.Context, rec *kgo.Record, st processor.State) ([]*kgo.Record, error) {
	out, err := h.h.Process(ctx, rec, st)
	if err != nil {
		return out, err
	}
	if h.f.fails(h.stage, h.tiers, rec.Key, rec.Value, processor.Attempt(rec)) {
		h.n.Add(1)
		return nil, processor.Transient(errInjected)
	}
	return out, nil
}

// faultyEnder keeps a wrapped handler's batch ends.
type faultyEnder struct {
	*faultyHandler
	processor.BatchEnder
}
