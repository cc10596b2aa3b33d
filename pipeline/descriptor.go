package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// Descriptor declares one pipeline.
type Descriptor struct {
	// Name is the pipeline's one name: in topic names, events, metrics,
	// commands (`ration worker <name>`) and HTTP paths.
	Name string
	// Stages are the item's path, in order, and the pipeline's views.
	Stages []Stage
	// Topics are the pipeline's own topics: what its stages read and
	// write and what its HTTP API produces. The runtime's topics of each
	// stage are derived, not listed.
	Topics []Topic
	// Sink says how the pipeline's topics become ClickHouse rows (its
	// events topic is stored in the shared events table without saying).
	Sink []sink.Mapping
	// Migrations holds the pipeline's ClickHouse DDL, NNNN_name.sql files
	// at its root (see package sink); nil for none.
	Migrations fs.FS
	// StateRecords are the record types the pipeline's handlers keep in
	// their state, registered under their record names so that every
	// changelog value decodes in Kafka UI.
	StateRecords []schemas.Record
	// Options are the pipeline's own settings (a checker's URL, say),
	// bound to the flags of every command that runs it.
	Options Options
	// Routes builds the pipeline's HTTP routes; nil for none.
	Routes func(api.Backends) ([]api.Route, error)
}

// Options are a pipeline's own settings.
type Options interface {
	Flags(fs *pflag.FlagSet)
	Validate() error
}

// Simulated are Options naming outside services (a tax office) that
// `ration dev` runs itself, simulated, unless a flag named real ones.
type Simulated interface {
	// Simulate starts a simulator of every service whose flag is not set
	// (set reports whether a flag was given; nil: none was), points the
	// options at it, and returns "name=URL" of each for dev's ready line
	// and how to stop them.
	Simulate(set func(flag string) bool, log *slog.Logger) (urls []string, stop func(), err error)
}

// Stage declares one stage (or view) of a pipeline.
type Stage struct {
	// Name is the stage's one name within its pipeline.
	Name string
	// Inputs are the topics it consumes, the high-priority one first
	// when Priority.
	Inputs []string
	// Priority makes the first input jump the queue: while it has a
	// backlog, the others get one record in --normal-share (DM-5, DM-8).
	// Without it every input is read as it comes.
	Priority bool
	// Outputs are the topics its handler writes, besides the runtime's.
	Outputs []string
	// Handler builds the stage's handler for one worker.
	Handler func(Env) (processor.Handler, error)
	// Retry are the delay tiers of transient failures (RP-2); nil: a
	// transient failure aborts the batch, which is tried again (a view).
	Retry []time.Duration
	// Hold keeps a key's later items waiting while its oldest is parked,
	// not just while it waits in a tier: a ledger's order.
	Hold bool
	// State gives the handler a state store.
	State bool
	// View folds records into state: no status events, one lane per
	// bucket (its state may span keys), no retries.
	View bool
	// Interactive: a caller waits on each of its records (the API answers
	// a points command with the ledger's outcome), so its batches go as
	// polled, never held back for more by --batch-linger: a client that
	// sends one command at a time would wait out the linger every time
	// (8 such clients made 558 commands/s with a 10 ms linger, 1 215
	// without).
	Interactive bool
}

// Env is what a handler is built with.
type Env struct {
	Codec *schemas.Codec
	Log   *slog.Logger
	// Registry takes the handler's metrics. Several workers of one
	// process share it: register with obs.Register, which reuses a
	// collector registered before.
	Registry   prometheus.Registerer
	InstanceID string
}

// Topic is one of a pipeline's own topics.
type Topic struct {
	Name string
	// Value is the record type of its values; nil for raw bytes.
	Value schemas.Record
	// Compact keeps the latest value of each key (a table, not a log).
	Compact bool
	// Retention, with Compact, also drops values older than it: a table
	// whose readers (the sink) only need its recent changes. 0: forever.
	Retention time.Duration
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// Validate reports a descriptor that cannot work.
func (d Descriptor) Validate() error {
	if !namePattern.MatchString(d.Name) {
		return fmt.Errorf("pipeline %q: a name is a lower-case letter, then letters, digits or -", d.Name)
	}
	own := make(map[string]Topic)
	for _, t := range d.Topics {
		if _, dup := own[t.Name]; dup {
			return fmt.Errorf("pipeline %s: topic %s declared twice", d.Name, t.Name)
		}
		own[t.Name] = t
	}
	var errs []error
	seen := make(map[string]bool)
	produced := make(map[string]bool) // outputs of earlier stages
	items := 0
	for _, s := range d.Stages {
		where := fmt.Sprintf("pipeline %s stage %q", d.Name, s.Name)
		switch {
		case !namePattern.MatchString(s.Name):
			errs = append(errs, fmt.Errorf("%s: a name is a lower-case letter, then letters, digits or -", where))
		case seen[s.Name]:
			errs = append(errs, fmt.Errorf("%s: declared twice", where))
		case len(s.Inputs) == 0 || s.Handler == nil:
			errs = append(errs, fmt.Errorf("%s: needs inputs and a handler", where))
		case s.View && (s.Retry != nil || s.Hold):
			errs = append(errs, fmt.Errorf("%s: a view has no retries", where))
		case s.View && s.Priority:
			errs = append(errs, fmt.Errorf("%s: a view folds every input; none has priority", where))
		case s.Priority && len(s.Inputs) < 2:
			errs = append(errs, fmt.Errorf("%s: priority needs a second input to hold back", where))
		case s.Hold && s.Retry == nil:
			errs = append(errs, fmt.Errorf("%s: holding a key needs retries", where))
		}
		seen[s.Name] = true
		for _, t := range append(slices.Clone(s.Inputs), s.Outputs...) {
			if _, ok := own[t]; !ok && t != d.EventsTopic() {
				errs = append(errs, fmt.Errorf("%s: topic %s is not one of the pipeline's", where, t))
			}
		}
		if !s.View {
			// A stage after the first reads what stages before it wrote.
			if items > 0 {
				for _, in := range s.Inputs {
					if !produced[in] {
						errs = append(errs, fmt.Errorf("%s: input %s is no earlier stage's output", where, in))
					}
				}
			}
			for _, out := range s.Outputs {
				produced[out] = true
			}
			items++
		}
		for t := range own {
			if strings.HasPrefix(t, d.stagePrefix(s.Name)) {
				errs = append(errs, fmt.Errorf("%s: topic %s has the stage's runtime prefix", where, t))
			}
		}
	}
	if items == 0 {
		errs = append(errs, fmt.Errorf("pipeline %s: no stage", d.Name))
	}
	if d.Options != nil {
		if err := d.Options.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("pipeline %s: %w", d.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Stage returns the stage called name.
func (d Descriptor) Stage(name string) (Stage, bool) {
	for _, s := range d.Stages {
		if s.Name == name {
			return s, true
		}
	}
	return Stage{}, false
}

// last is the name of the last stage of the items' path.
func (d Descriptor) last() string {
	name := ""
	for _, s := range d.Stages {
		if !s.View {
			name = s.Name
		}
	}
	return name
}
