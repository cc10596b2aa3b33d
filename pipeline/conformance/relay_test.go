package conformance

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// The relay: three stages, a -> b -> c, that pass raw "key/seq" values on;
// b applies each item's side effect through an HTTP service, with an
// idempotency key.
const (
	relayIn  = "ration.relay.in"
	relayAB  = "ration.relay.ab"
	relayBC  = "ration.relay.bc"
	relayOut = "ration.relay.out"
	// envEffects holds the effect service's URL, for worker processes.
	envEffects = "RATION_RELAY_EFFECTS_URL"
)

var relay = Subject{
	Name:     "relay",
	Pipeline: func() pipeline.Descriptor { return relayPipeline(os.Getenv(envEffects)) },
	Input: func(_ *schemas.Codec, key string, seq int) (*kgo.Record, error) {
		return &kgo.Record{Topic: relayIn, Key: []byte(key), Value: []byte(key + "/" + strconv.Itoa(seq))}, nil
	},
	Output: relayOut,
	Read:   readKeySeq,
}

// readKeySeq reads a "key/seq" value.
func readKeySeq(_ *schemas.Codec, r *kgo.Record) (string, int, error) {
	i := strings.LastIndexByte(string(r.Value), '/')
	if i < 0 {
		return "", 0, fmt.Errorf("value %q is no key/seq", r.Value)
	}
	seq, err := strconv.Atoi(string(r.Value[i+1:]))
	return string(r.Value[:i]), seq, err
}

func relayPipeline(effects string) pipeline.Descriptor {
	delays := []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}
	forward := func(to string) func(pipeline.Env) (processor.Handler, error) {
		return func(pipeline.Env) (processor.Handler, error) {
			return processor.HandlerFunc(func(_ context.Context, r *kgo.Record, _ processor.State) ([]*kgo.Record, error) {
				return []*kgo.Record{{Topic: to, Key: r.Key, Value: r.Value}}, nil
			}), nil
		}
	}
	return pipeline.Descriptor{
		Name:   "relay",
		Topics: []pipeline.Topic{{Name: relayIn}, {Name: relayAB}, {Name: relayBC}, {Name: relayOut}},
		Stages: []pipeline.Stage{
			{Name: "a", Inputs: []string{relayIn}, Outputs: []string{relayAB}, Retry: delays, Handler: forward(relayAB)},
			{Name: "b", Inputs: []string{relayAB}, Outputs: []string{relayBC}, Retry: delays,
				Handler: func(pipeline.Env) (processor.Handler, error) {
					return &applyEffect{url: effects, out: relayBC, client: &http.Client{Timeout: 2 * time.Second}}, nil
				}},
			{Name: "c", Inputs: []string{relayBC}, Outputs: []string{relayOut}, Retry: delays, Handler: forward(relayOut)},
		},
	}
}

// applyEffect is stage b: it asks the effect service to apply the
// item's effect, once per item and stage whatever the tries, and passes
// the item on.
type applyEffect struct {
	url    string
	out    string
	client *http.Client
}

func (h *applyEffect) Process(ctx context.Context, r *kgo.Record, _ processor.State) ([]*kgo.Record, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, strings.NewReader(string(r.Value)))
	if err != nil {
		return nil, processor.Permanent(err)
	}
	req.Header.Set("Idempotency-Key", "b:"+string(r.Value))
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, processor.Transient(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	switch {
	case resp.StatusCode == http.StatusConflict:
		return nil, processor.Permanent(errors.New("effect service: idempotency key reused for another item"))
	case resp.StatusCode != http.StatusOK:
		return nil, processor.Transient(fmt.Errorf("effect service: %s", resp.Status))
	}
	return []*kgo.Record{{Topic: h.out, Key: r.Key, Value: r.Value}}, nil
}

// effects is the test's effect service: it applies each idempotency
// key's effect once and answers a repeat as it answered the first, and
// loses the reply to some first calls (503 after applying), as a real
// service behind a flaky network does.
type effects struct {
	mu       sync.Mutex
	byKey    map[string]string // idempotency key to the item it applied
	applied  map[string]int    // item to times its effect was applied
	requests map[string]int    // item to calls
}

func newEffects() *effects {
	return &effects{byKey: make(map[string]string), applied: make(map[string]int), requests: make(map[string]int)}
}

func (e *effects) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	idem := r.Header.Get("Idempotency-Key")
	body, err := io.ReadAll(r.Body)
	if err != nil || idem == "" || r.Method != http.MethodPost {
		http.Error(w, "POST an item with an Idempotency-Key", http.StatusBadRequest)
		return
	}
	item := string(body)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests[item]++
	if prev, ok := e.byKey[idem]; ok {
		if prev != item {
			http.Error(w, "idempotency key reused", http.StatusConflict)
		}
		return // a repeat: applied before
	}
	e.byKey[idem] = item
	e.applied[item]++
	h := fnv.New32a()
	h.Write([]byte(idem))
	if h.Sum32()%8 == 0 {
		http.Error(w, "reply lost", http.StatusServiceUnavailable)
	}
}

// verify checks that every item that came out had its effect applied
// exactly once, that no item's effect was ever applied twice, and that
// calls were repeated (else idempotency went untested).
func (e *effects) verify(t *testing.T, done map[string]int) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	var problems []string
	items, repeated, calls := 0, 0, 0
	for _, key := range slices.Sorted(maps.Keys(done)) {
		for seq := range done[key] {
			item := key + "/" + strconv.Itoa(seq)
			items++
			calls += e.requests[item]
			if e.requests[item] > 1 {
				repeated++
			}
			if got := e.applied[item]; got != 1 {
				problems = append(problems, fmt.Sprintf("item %s: effect applied %d times, want once", item, got))
			}
		}
	}
	for _, item := range slices.Sorted(maps.Keys(e.applied)) {
		key, seq, _ := strings.Cut(item, "/")
		if n, _ := strconv.Atoi(seq); e.applied[item] > 1 && n >= done[key] {
			problems = append(problems, fmt.Sprintf("item %s (not come out): effect applied %d times", item, e.applied[item]))
		}
	}
	for i, p := range problems {
		if i == maxProblems {
			t.Errorf("... and %d more", len(problems)-maxProblems)
			break
		}
		t.Error(p)
	}
	if repeated == 0 {
		t.Errorf("no call of the %d items was repeated: idempotency went untested", items)
	}
	t.Logf("effects of the %d items that came out: %d calls, %d items called more than once", items, calls, repeated)
}

func TestConformanceRelay(t *testing.T) {
	svc := newEffects()
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	t.Setenv(envEffects, srv.URL)
	s := relay
	s.Verify = svc.verify
	Run(t, s)
}
