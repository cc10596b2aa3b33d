package receipttype

import (
	"embed"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatable"
	"github.com/rationhq/ration/schemas"
)

//go:embed avro/*.avsc
var avsc embed.FS

var recordSchema = schemas.MustSchema(avsc, "avro/receipt_type.avsc")

// Record is a receipt type as it is kept in its compacted topic.
type Record struct {
	Name      string    `avro:"name"`
	Document  string    `avro:"document"`
	UpdatedAt time.Time `avro:"updated_at"`
	UpdatedBy string    `avro:"updated_by"`
}

// AvroSchema implements schemas.Record.
func (*Record) AvroSchema() *schemas.Schema { return recordSchema }

// Registry is the receipt types in force on one process: a copy of the
// types topic, kept current by a Follower. It is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	types   map[string]Entry
	changed chan struct{} // closed, and replaced, by every change
}

// Entry is a type in force, with who put it when.
type Entry struct {
	*Type
	UpdatedAt time.Time
	UpdatedBy string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{types: make(map[string]Entry), changed: make(chan struct{})}
}

// Changed returns a channel closed at the registry's next change: take it,
// look, and wait on it if what you look for is not there yet.
func (r *Registry) Changed() <-chan struct{} {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.changed
}

// signal wakes the waiters of Changed. The caller holds r.mu.
func (r *Registry) signal() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Get returns the type called name.
func (r *Registry) Get(name string) (Entry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.types[name]
	return e, ok
}

// List returns every type, by name.
func (r *Registry) List() []Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Entry, 0, len(r.types))
	for _, e := range r.types {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

func (r *Registry) set(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.types[e.Name] = e
	r.signal()
}

func (r *Registry) remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.types, name)
	r.signal()
}

// Follow returns a follower of topic that keeps r current: every record
// compiled into its type (a record that no longer compiles, say after a
// change of the rules' environment, is logged and leaves the type out),
// every tombstone removing one.
func (r *Registry) Follow(topic string, codec *schemas.Codec, log *slog.Logger, opts ...kgo.Opt) *kafkatable.Follower {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "receipt-types")
	return kafkatable.New(topic, func(rec *kgo.Record) {
		name := string(rec.Key)
		if rec.Value == nil {
			r.remove(name)
			return
		}
		var tr Record
		if err := codec.Decode(rec.Value, &tr); err != nil {
			log.Error("receipt type record skipped", "partition", rec.Partition, "offset", rec.Offset, "err", err)
			return
		}
		t, err := Compile(tr.Name, []byte(tr.Document))
		if err != nil || tr.Name != name {
			log.Error("receipt type does not compile or its key is not its name; left out", "type", name, "err", err)
			r.remove(name)
			return
		}
		r.set(Entry{Type: t, UpdatedAt: tr.UpdatedAt, UpdatedBy: tr.UpdatedBy})
	}, log, opts...)
}
